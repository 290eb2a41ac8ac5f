using System.Diagnostics;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Distil.Training;

/// <summary>
/// The one training loop (fine-tuning and every distillation method): AdamW with decoupled weight decay
/// (none on biases and LayerNorm), linear warm-up and decay, gradient clipping, evaluation, best model,
/// atomic checkpoints and exact resume. Determinism: batches come from the source in a fixed order per
/// (seed, epoch), and the torch RNG (dropout) is re-seeded from (seed, step) before every step, so a resumed run
/// repeats the uninterrupted one without saving RNG state.
/// </summary>
public sealed class Trainer<TBatch> where TBatch : IDisposable
{
    readonly IReadOnlyDictionary<string, nn.Module> modules;
    readonly IObjective<TBatch> objective;
    readonly IBatchSource<TBatch> data;
    readonly IEvaluator? evaluator;
    readonly TrainingOptions options;
    readonly IReadOnlyList<TrainerCallback> callbacks;
    readonly CheckpointStore checkpoints;
    readonly Action<string>? saveBest;
    readonly string runDir;
    readonly OptimizerSetup? optimizerSetup;

    /// <param name="modules">Everything trained, by name (e.g. "model", and "projections" for KD); saved in checkpoints.</param>
    /// <param name="saveBest">Writes a loadable model folder (called with run/best when the selection metric improves).</param>
    /// <param name="optimizer">Null: AdamW over every trainable parameter of the modules (the usual case).</param>
    public Trainer(string runDir, IReadOnlyDictionary<string, nn.Module> modules, IObjective<TBatch> objective, IBatchSource<TBatch> data,
        TrainingOptions options, IEvaluator? evaluator = null, Action<string>? saveBest = null, IEnumerable<TrainerCallback>? callbacks = null,
        OptimizerSetup? optimizer = null)
    {
        optimizerSetup = optimizer;
        options.Validate();
        this.runDir = runDir;
        this.modules = modules;
        this.objective = objective;
        this.data = data;
        this.options = options;
        this.evaluator = evaluator;
        this.saveBest = saveBest;
        this.callbacks = callbacks?.ToArray() ?? Array.Empty<TrainerCallback>();
        checkpoints = new CheckpointStore(runDir);
    }

    public string BestDir => Path.Combine(runDir, "best");

    const int TrimEverySteps = 100;

    public TrainerState Train(bool resume = false, CancellationToken cancel = default)
    {
        var (all, created) = CreateOptimizer();
        using var optimizer = created;
        var extra = optimizerSetup?.Extra ?? new Dictionary<string, OptimizerHelper>();

        var state = new TrainerState { TotalSteps = TotalSteps() };
        if (resume)
        {
            string? latest = checkpoints.Latest();
            if (latest != null) state = checkpoints.Load(latest, modules, optimizer, extra);
            state.TotalSteps = TotalSteps(); // the schedule follows the current options
        }
        foreach (var c in callbacks) c.OnTrainBegin(state);
        foreach (var m in modules.Values) m.train();

        var clock = Stopwatch.StartNew();
        while (state.Epoch < options.Epochs && !Done(state))
        {
            int batches = data.BatchCount(state.Epoch);
            bool epochEnd = false;
            while (!epochEnd && !Done(state))
            {
                cancel.ThrowIfCancellationRequested();
                var (report, skipped) = Step(state, optimizer, all, clock);
                if (state.GlobalStep % TrimEverySteps == 0) Native.GlibcHeap.Trim(); // keeps RSS flat over long runs
                state.BatchInEpoch++;
                epochEnd = state.BatchInEpoch >= batches;
                if (epochEnd) { state.Epoch++; state.BatchInEpoch = 0; }
                foreach (var c in callbacks)
                    if (report != null) c.OnStepEnd(state, report);
                    else c.OnStepSkipped(state, skipped!);

                bool last = Done(state) || (epochEnd && state.Epoch == options.Epochs);
                if (Due(options.EvalEverySteps, state, epochEnd) || last) Evaluate(state);
                if (Due(options.SaveEverySteps, state, epochEnd) || last)
                {
                    string dir = checkpoints.Save(state, modules, optimizer, options.KeepCheckpoints, extra);
                    foreach (var c in callbacks) c.OnSave(state, dir);
                }
            }
        }
        foreach (var c in callbacks) c.OnTrainEnd(state);
        // Only a run that ran to its end: one stopped by a callback keeps its checkpoints for --resume.
        if (options.DropCheckpoints && !state.ShouldStop) checkpoints.DropAll();
        return state;
    }

    (Parameter[] Trained, OptimizerHelper Optimizer) CreateOptimizer()
    {
        if (optimizerSetup != null)
        {
            var chosen = optimizerSetup.Parameters.ToArray();
            return (chosen, optimizerSetup.Create(chosen));
        }
        var parameters = modules.Values.SelectMany(m => m.named_parameters()).Where(p => p.parameter.requires_grad).ToArray();
        // HF convention: no weight decay on biases and LayerNorm weights.
        bool NoDecay(string name) => name.EndsWith(".bias") || name.Contains("LayerNorm") || name == "bias";
        var groups = new[]
        {
            new AdamW.ParamGroup(parameters.Where(p => !NoDecay(p.name)).Select(p => p.parameter), lr: options.LearningRate, weight_decay: options.WeightDecay),
            new AdamW.ParamGroup(parameters.Where(p => NoDecay(p.name)).Select(p => p.parameter), lr: options.LearningRate, weight_decay: 0.0),
        };
        return (parameters.Select(p => p.parameter).ToArray(), optim.AdamW(groups, lr: options.LearningRate));
    }

    bool Done(TrainerState s) => s.ShouldStop || (options.MaxSteps > 0 && s.GlobalStep >= options.MaxSteps);

    static bool Due(int every, TrainerState s, bool epochEnd) => every > 0 ? s.GlobalStep % every == 0 : epochEnd;

    long TotalSteps()
    {
        long total = 0;
        for (int e = 0; e < options.Epochs; e++) total += data.BatchCount(e);
        return options.MaxSteps > 0 ? Math.Min(total, options.MaxSteps) : total;
    }

    /// <summary>One optimizer step; or, for a NaN/Inf loss or gradient norm, a numerical fault, or (while fewer than
    /// max_bad_steps were skipped) a skipped step: no update, gradients zeroed, the batch and schedule position consumed
    /// so that the data order and learning rates of the rest of the run stay those of an uninterrupted run.</summary>
    (StepReport? Report, SkippedStep? Skipped) Step(TrainerState state, OptimizerHelper optimizer, Parameter[] parameters, Stopwatch clock)
    {
        using var scope = NewDisposeScope();
        double start = clock.Elapsed.TotalSeconds;
        manual_seed(options.Seed * 1_000_003L + state.GlobalStep);
        double lr = options.LearningRateAt(state.GlobalStep, state.TotalSteps);
        foreach (var g in optimizer.ParamGroups) g.LearningRate = lr;

        using var batch = data.GetBatch(state.Epoch, state.BatchInEpoch);
        (objective as IStepAware)?.BeginStep(state);
        var result = objective.Compute(batch);
        double loss = result.Loss.item<float>();
        double gradNorm = double.NaN;
        string? fault = null;
        if (!double.IsFinite(loss)) fault = "loss";
        else
        {
            optimizer.zero_grad();
            result.Loss.backward();
            gradNorm = nn.utils.clip_grad_norm_(parameters, options.MaxGradNorm);
            if (!double.IsFinite(gradNorm)) fault = "gradient norm";
        }
        if (fault != null)
        {
            double value = fault == "loss" ? loss : gradNorm;
            if (state.SkippedSteps >= options.MaxBadSteps) throw NumericalFault(fault, value, state);
            optimizer.zero_grad(); // the non-finite gradients must not leak into the next step
            var skipped = new SkippedStep(state.GlobalStep + 1, state.Epoch, state.BatchInEpoch, fault, value, ++state.SkippedSteps);
            state.GlobalStep++;
            return (null, skipped);
        }
        optimizer.step();
        var terms = result.Terms ?? new Dictionary<string, double>();
        if (objective is ISecondUpdate<TBatch> second && second.AfterStep(batch, state) is { } secondFault)
        {
            // The first update stands; the second is dropped (its gradients are the objective's to clear).
            if (state.SkippedSteps >= options.MaxBadSteps) throw NumericalFault(secondFault.What, secondFault.Value, state);
            state.SkippedSteps++;
            terms = new Dictionary<string, double>(terms) { ["second_update_skipped"] = 1 };
        }
        state.GlobalStep++;

        int n = objective.BatchSize(batch);
        double seconds = Math.Max(1e-9, clock.Elapsed.TotalSeconds - start);
        return (new StepReport(state.GlobalStep, state.TotalSteps, state.Epoch, loss, terms, lr, gradNorm, n, n / seconds), null);
    }

    DistilException NumericalFault(string what, double value, TrainerState s)
    {
        string? kept = checkpoints.Latest();
        string skipped = options.MaxBadSteps > 0 ? $" after {s.SkippedSteps} skipped steps (max_bad_steps {options.MaxBadSteps})" : "";
        return new DistilException(ExitCodes.NumericalFault,
            $"training diverged: {what} is {value} at step {s.GlobalStep + 1} (epoch {s.Epoch + 1}, batch {s.BatchInEpoch + 1}){skipped}; " +
            (kept != null ? $"the last good checkpoint is {kept} (resume from it with a lower learning rate)" : "no checkpoint was written yet") +
            "; try a lower --lr or a smaller training.max_grad_norm" + (options.MaxBadSteps == 0 ? ", or --skip-nonfinite N to skip up to N such steps" : ""));
    }

    void Evaluate(TrainerState state)
    {
        if (evaluator == null || (evaluator is IGatedEvaluator gated && !gated.ReadyAt(state))) return;
        foreach (var m in modules.Values) m.eval();
        IReadOnlyDictionary<string, double> metrics;
        using (no_grad()) metrics = evaluator.Evaluate();
        foreach (var m in modules.Values) m.train();

        if (!metrics.TryGetValue(options.SelectBestBy, out double value))
            throw DistilException.Usage($"select_best_by '{options.SelectBestBy}' is not a metric the evaluator reports ({string.Join(", ", metrics.Keys)})");
        bool lowerIsBetter = options.SelectBestBy == "loss";
        bool isBest = state.BestMetric is not double best || (lowerIsBetter ? value < best : value > best);
        if (isBest)
        {
            state.BestMetric = value;
            state.BestStep = state.GlobalStep;
            saveBest?.Invoke(BestDir);
        }
        var entry = new Dictionary<string, double> { ["step"] = state.GlobalStep };
        foreach (var (k, v) in metrics) entry["eval_" + k] = v;
        state.LogHistory.Add(entry);
        foreach (var c in callbacks) c.OnEvaluate(state, metrics, isBest);
    }
}
