using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Distil.Checkpoints;
using Distil.Data;
using Distil.Models;
using Distil.Reports;
using Distil.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Distil.Search;

/// <summary>What the search leaves: the architecture parameters of the selected step, and where it was taken.</summary>
public sealed record SearchOutcome(float[][] Alpha, float[] AlphaDepth, long Step, double? DevAccuracy, double Seconds)
{
    public Genotype Genotype()
    {
        using var a = tensor(Alpha.SelectMany(r => r).ToArray()).view(Alpha.Length, -1);
        using var d = tensor(AlphaDepth);
        return Derive.FromAlpha(a, d);
    }
}

/// <summary>
/// The AdaBERT search loop. It is not the shared <see cref="Trainer{TBatch}"/> because the method alternates two
/// optimisers on each batch (papers.md §1.8): first the supernet weights w (Adam, with the loss of one Gumbel sample),
/// then the architecture parameters alpha, alpha_depth (their own Adam, a fresh sample, w frozen), and alpha stays
/// frozen for a warm-up. The Trainer has one optimiser and one loss per step. Everything else follows the Trainer:
/// seeded per step (resume repeats the uninterrupted run), callbacks (metrics.jsonl, progress), atomic checkpoints,
/// dev evaluation picks the architecture (the argmax one) to keep.
/// </summary>
public sealed class ArchSearch
{
    readonly SuperNet net;
    readonly SearchOptions o;
    readonly TrainingOptions t;
    readonly ProbeTargets targets;
    readonly OpCosts costs;
    readonly IBatchSource<Batch> data;
    readonly EncodedExample[]? dev;
    readonly long pad;
    readonly Device device;
    readonly string dir;
    readonly IReadOnlyList<TrainerCallback> callbacks;
    readonly int evalBatch;

    public ArchSearch(SuperNet net, SearchOptions options, TrainingOptions training, ProbeTargets targets, OpCosts costs,
        IBatchSource<Batch> data, EncodedExample[]? dev, long pad, Device device, string dir, IEnumerable<TrainerCallback> callbacks, int evalBatch = 64)
    {
        this.net = net; o = options; t = training; this.targets = targets; this.costs = costs; this.data = data; this.dev = dev;
        this.pad = pad; this.device = device; this.dir = dir; this.callbacks = callbacks.ToArray(); this.evalBatch = evalBatch;
    }

    string CheckpointDir => Path.Combine(dir, "checkpoint");
    string BestPath => Path.Combine(dir, "best.json");
    public string AlphaLogPath => Path.Combine(dir, "alpha.jsonl");

    long TotalSteps()
    {
        long total = 0;
        for (int e = 0; e < t.Epochs; e++) total += data.BatchCount(e);
        return t.MaxSteps > 0 ? Math.Min(total, t.MaxSteps) : total;
    }

    public SearchOutcome Run(bool resume)
    {
        var weights = net.WeightParameters.Select(p => p.Parameter).ToArray();
        var arch = net.ArchParameters.ToArray();
        using var wOpt = optim.Adam(weights, lr: t.LearningRate, weight_decay: t.WeightDecay);
        using var aOpt = optim.Adam(arch, lr: o.ArchLearningRate, beta1: 0.5, beta2: 0.999, weight_decay: o.ArchWeightDecay);
        var state = new TrainerState { TotalSteps = TotalSteps() };
        double seconds = 0;
        if (resume && Directory.Exists(CheckpointDir))
        {
            net.load(Path.Combine(CheckpointDir, "supernet.dat"));
            wOpt.load_state_dict(Path.Combine(CheckpointDir, "weights_optimizer.dat"));
            aOpt.load_state_dict(Path.Combine(CheckpointDir, "arch_optimizer.dat"));
            state = TrainerState.FromJson(File.ReadAllText(Path.Combine(CheckpointDir, "trainer_state.json")), CheckpointDir);
            state.TotalSteps = TotalSteps();
            seconds = state.LogHistory.LastOrDefault()?.GetValueOrDefault("search_seconds") ?? 0;
        }
        TruncateAlphaLog(state.GlobalStep);
        long archStart = (long)Math.Ceiling(o.ArchWarmupRatio * state.TotalSteps);
        long betaRamp = (long)Math.Ceiling(o.BetaWarmupRatio * state.TotalSteps);
        var tau = new TemperatureSchedule(o.TauStart, o.TauEnd);
        foreach (var c in callbacks) c.OnTrainBegin(state);
        net.train();
        var clock = Stopwatch.StartNew();
        double startSeconds = seconds;

        while (state.Epoch < t.Epochs && !(t.MaxSteps > 0 && state.GlobalStep >= t.MaxSteps))
        {
            int batches = data.BatchCount(state.Epoch);
            while (state.BatchInEpoch < batches && !(t.MaxSteps > 0 && state.GlobalStep >= t.MaxSteps))
            {
                var report = Step(state, wOpt, aOpt, weights, arch, tau.At(state.GlobalStep, state.TotalSteps),
                    SearchLosses.BetaAt(o.Beta, state.GlobalStep, archStart, betaRamp), state.GlobalStep >= archStart, clock);
                if (state.GlobalStep % 100 == 0) Native.GlibcHeap.Trim();
                state.BatchInEpoch++;
                bool epochEnd = state.BatchInEpoch >= batches;
                if (epochEnd) { state.Epoch++; state.BatchInEpoch = 0; }
                foreach (var c in callbacks) c.OnStepEnd(state, report);
                if (report.Step % 5 == 0 || report.Step == state.TotalSteps) LogAlpha(report.Step, report.Terms);
                bool last = state.Epoch >= t.Epochs || (t.MaxSteps > 0 && state.GlobalStep >= t.MaxSteps);
                bool evalDue = t.EvalEverySteps > 0 ? state.GlobalStep % t.EvalEverySteps == 0 : epochEnd;
                // Only architectures that alpha chose are candidates: before alpha moves, the argmax is noise.
                if ((evalDue || last) && state.GlobalStep >= archStart) Evaluate(state, startSeconds + clock.Elapsed.TotalSeconds);
                bool saveDue = t.SaveEverySteps > 0 ? state.GlobalStep % t.SaveEverySteps == 0 : epochEnd;
                if (saveDue || last) Save(state, wOpt, aOpt);
                if (epochEnd) break;
            }
        }
        foreach (var c in callbacks) c.OnTrainEnd(state);
        if (!File.Exists(BestPath)) WriteBest(state, null, startSeconds + clock.Elapsed.TotalSeconds);
        var best = ReadBest(BestPath);
        return best with { Seconds = startSeconds + clock.Elapsed.TotalSeconds };
    }

    StepReport Step(TrainerState state, OptimizerHelper wOpt, OptimizerHelper aOpt, Parameter[] weights, Parameter[] arch,
        double tau, double beta, bool archActive, Stopwatch clock)
    {
        using var scope = NewDisposeScope();
        double start = clock.Elapsed.TotalSeconds;
        manual_seed(t.Seed * 1_000_003L + state.GlobalStep);
        double lr = t.LearningRateAt(state.GlobalStep, state.TotalSteps);
        foreach (var g in wOpt.ParamGroups) g.LearningRate = lr;
        using var batch = data.GetBatch(state.Epoch, state.BatchInEpoch);
        var inputs = Classifier.Inputs(batch, device);
        var labels = batch.Labels.to(device);
        var probes = targets.ProbeLogits.index_select(0, tensor(batch.Indices.Select(i => (long)i).ToArray())).to(device);

        // 1. weights w on one Gumbel sample.
        using var sample = net.Sample(tau);
        var (loss, terms) = Loss(inputs, labels, probes, sample, beta);
        double lossValue = loss.item<float>();
        if (!double.IsFinite(lossValue)) throw Diverged("loss", lossValue, state);
        wOpt.zero_grad(); aOpt.zero_grad();
        loss.backward();
        double gradNorm = nn.utils.clip_grad_norm_(weights, t.MaxGradNorm);
        if (!double.IsFinite(gradNorm)) throw Diverged("gradient norm", gradNorm, state);
        wOpt.step();

        // 2. alpha on a fresh sample of the same batch, w frozen (no weight gradients computed).
        if (archActive)
        {
            foreach (var p in weights) p.requires_grad = false;
            try
            {
                using var archSample = net.Sample(tau);
                var (archLoss, _) = Loss(inputs, labels, probes, archSample, beta);
                double archValue = archLoss.item<float>();
                if (!double.IsFinite(archValue)) throw Diverged("architecture loss", archValue, state);
                aOpt.zero_grad();
                archLoss.backward();
                double archNorm = nn.utils.clip_grad_norm_(arch, 5.0);
                if (!double.IsFinite(archNorm)) throw Diverged("architecture gradient norm", archNorm, state);
                aOpt.step();
            }
            finally { foreach (var p in weights) p.requires_grad = true; }
        }
        state.GlobalStep++;
        terms["tau"] = tau;
        terms["beta"] = beta;
        terms["depth"] = sample.Depth;
        int n = batch.Size;
        return new StepReport(state.GlobalStep, state.TotalSteps, state.Epoch, lossValue, terms, lr, gradNorm, n,
            n / Math.Max(1e-9, clock.Elapsed.TotalSeconds - start));
    }

    /// <summary>L = z_K [(1 - gamma) CE_K + gamma L_KD] + beta L_E for a sampled depth K (z_K carries alpha_depth's gradient).</summary>
    (Tensor Loss, Dictionary<string, double> Terms) Loss(BertInputs inputs, Tensor labels, Tensor probes, SampledArch arch, double beta)
    {
        var levels = net.forward(inputs, arch, runEveryOp: o.Estimator == "all");
        var z = arch.DepthWeights[arch.Depth - 1];
        var ce = F.cross_entropy(levels[arch.Depth], labels);
        var (kd, _) = SearchLosses.ProbeKd(levels, probes, labels);
        var efficiency = o.LatencyBudgetMs is double budget
            ? SearchLosses.LatencyBudget(net.alpha, net.alpha_depth, costs.Milliseconds, budget)
            : SearchLosses.Efficiency(net.alpha, net.alpha_depth, costs.Normalised(o.CostNormalisation));
        var loss = z * ((1 - o.Gamma) * ce + o.Gamma * kd) + beta * efficiency;
        return (loss, new Dictionary<string, double>
        {
            ["ce"] = ce.item<float>(), ["kd"] = kd.item<float>(), ["efficiency"] = efficiency.item<float>(),
        });
    }

    void Evaluate(TrainerState state, double seconds)
    {
        if (dev == null) return;
        net.eval();
        double accuracy;
        using (no_grad())
        using (var arch = net.ArgmaxArch())
        {
            var probs = Classifier.Predict(net, i => net.forward(i, arch)[arch.Depth], dev, evalBatch, pad, device);
            accuracy = dev.Where((e, i) => Array.IndexOf(probs[i], probs[i].Max()) == e.Label).Count() / (double)dev.Length;
        }
        net.train();
        bool isBest = state.BestMetric is not double b || accuracy > b;
        var metrics = new Dictionary<string, double> { ["accuracy"] = accuracy, ["search_seconds"] = seconds };
        if (isBest)
        {
            state.BestMetric = accuracy;
            state.BestStep = state.GlobalStep;
            WriteBest(state, accuracy, seconds);
        }
        state.LogHistory.Add(new Dictionary<string, double>(metrics) { ["step"] = state.GlobalStep });
        foreach (var c in callbacks) c.OnEvaluate(state, metrics, isBest);
    }

    void WriteBest(TrainerState state, double? accuracy, double seconds)
    {
        // The supernet weights of the selected step go with its alpha: the derived student starts from them.
        string tmp = Path.Combine(dir, $".best-{Environment.ProcessId}.dat");
        WriteFault.Guard(BestSupernetPath, tmp, () =>
        {
            net.save(tmp);
            File.Move(tmp, BestSupernetPath, overwrite: true);
        });
        var o = new JsonObject
        {
            ["step"] = state.GlobalStep, ["dev_accuracy"] = accuracy, ["search_seconds"] = seconds,
            ["alpha"] = Rows(net.alpha), ["alpha_depth"] = new JsonArray(Values(net.alpha_depth).Select(v => (JsonNode)v).ToArray()),
        };
        RunFolder.WriteAtomic(BestPath, o.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    public static SearchOutcome ReadBest(string path)
    {
        if (!File.Exists(path)) throw DistilException.NotFound($"{path}: no search result; run the search first (distil search ... --out RUN)");
        var o = JsonNode.Parse(File.ReadAllText(path))!;
        var alpha = o["alpha"]!.AsArray().Select(r => r!.AsArray().Select(v => v!.GetValue<float>()).ToArray()).ToArray();
        var depth = o["alpha_depth"]!.AsArray().Select(v => v!.GetValue<float>()).ToArray();
        return new SearchOutcome(alpha, depth, o["step"]!.GetValue<long>(), o["dev_accuracy"]?.GetValue<double>(), o["search_seconds"]?.GetValue<double>() ?? 0);
    }

    public string BestSupernetPath => Path.Combine(dir, "best_supernet.dat");

    void Save(TrainerState state, OptimizerHelper wOpt, OptimizerHelper aOpt) =>
        AtomicFolder.Replace(CheckpointDir, tmp =>
        {
            net.save(Path.Combine(tmp, "supernet.dat"));
            wOpt.save_state_dict(Path.Combine(tmp, "weights_optimizer.dat"));
            aOpt.save_state_dict(Path.Combine(tmp, "arch_optimizer.dat"));
            File.WriteAllText(Path.Combine(tmp, "trainer_state.json"), state.ToJson());
        });

    /// <summary>softmax(alpha) per edge and softmax(alpha_depth) with the step: the heat-maps of the report are drawn from this file.</summary>
    void LogAlpha(long step, IReadOnlyDictionary<string, double> terms)
    {
        using var scope = NewDisposeScope();
        var o = new JsonObject
        {
            ["step"] = step, ["tau"] = terms["tau"], ["beta"] = terms["beta"],
            ["ops"] = Rows(F.softmax(net.alpha, -1)),
            ["depth"] = new JsonArray(Values(F.softmax(net.alpha_depth, 0)).Select(v => (JsonNode)Math.Round(v, 5)).ToArray()),
        };
        WriteFault.Guard(AlphaLogPath, null, () => File.AppendAllText(AlphaLogPath, o.ToJsonString() + "\n"),
            kept: "the lines before are intact, and so are the checkpoints");
    }

    void TruncateAlphaLog(long step)
    {
        if (!File.Exists(AlphaLogPath)) return;
        var kept = File.ReadAllLines(AlphaLogPath).Where(l =>
        {
            try { return (JsonNode.Parse(l)?["step"]?.GetValue<long>() ?? long.MaxValue) <= step; }
            catch (JsonException) { return false; }
        });
        RunFolder.WriteAtomic(AlphaLogPath, string.Concat(kept.Select(l => l + "\n")));
    }

    static float[] Values(Tensor x) => x.detach().cpu().to(float32).data<float>().ToArray();

    static JsonArray Rows(Tensor x)
    {
        var v = Values(x);
        int cols = (int)x.shape[^1];
        return new JsonArray(Enumerable.Range(0, v.Length / cols)
            .Select(r => (JsonNode)new JsonArray(v.Skip(r * cols).Take(cols).Select(f => (JsonNode)Math.Round(f, 5)).ToArray())).ToArray());
    }

    DistilException Diverged(string what, double value, TrainerState s) =>
        new(ExitCodes.NumericalFault, $"search diverged: {what} is {value} at step {s.GlobalStep + 1}; resume from {CheckpointDir} with a lower search learning rate (search_training.learning_rate)");
}
