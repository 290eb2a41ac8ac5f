using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Distil.Checkpoints;
using Distil.Data;
using Distil.Models;
using Distil.Reports;
using Distil.Training;
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
/// The AdaBERT search, run by the one <see cref="Trainer{TBatch}"/>. The method alternates two optimisers on each batch
/// (docs/adabert.md §Optimisation): first the supernet weights w (Adam with L2 decay, the loss of one Gumbel sample: the
/// Trainer's step with <see cref="OptimizerSetup"/>), then the architecture parameters alpha, alpha_depth (their own
/// Adam on a fresh sample, w frozen: <see cref="ISecondUpdate{TBatch}"/>); alpha stays frozen for a warm-up, and only
/// then is the argmax architecture evaluated (<see cref="IGatedEvaluator"/>). So the search gets the Trainer's seeding
/// per step (resume repeats the uninterrupted run), checkpoints (both optimisers), --skip-nonfinite and callbacks.
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

    string BestPath => Path.Combine(dir, "best.json");
    public string AlphaLogPath => Path.Combine(dir, "alpha.jsonl");
    public string BestSupernetPath => Path.Combine(dir, "best_supernet.dat");

    public SearchOutcome Run(bool resume)
    {
        var weights = net.WeightParameters.Select(p => p.Parameter).ToArray();
        using var archOptimizer = optim.Adam(net.ArchParameters.ToArray(), lr: o.ArchLearningRate, beta1: 0.5, beta2: 0.999, weight_decay: o.ArchWeightDecay);
        var objective = new ArchSearchObjective(net, o, targets, costs, weights, archOptimizer, device);
        var record = new SearchRecord(this);
        var evaluator = dev != null ? new ArgmaxArchEvaluator(net, dev, evalBatch, pad, device, objective, record) : null;
        var trainer = new Trainer<Batch>(dir, new Dictionary<string, nn.Module> { ["supernet"] = net }, objective, data, t, evaluator,
            saveBest: null, callbacks.Append(record),
            new OptimizerSetup(weights, ps => optim.Adam(ps, lr: t.LearningRate, weight_decay: t.WeightDecay))
            {
                Extra = new Dictionary<string, OptimizerHelper> { ["arch"] = archOptimizer },
            });
        var state = trainer.Train(resume);
        if (!File.Exists(BestPath)) WriteBest(state, null, record.Seconds);
        return ReadBest(BestPath) with { Seconds = record.Seconds };
    }

    /// <summary>The search's own files: alpha.jsonl (every 5 steps, for the heat-maps), best.json and best_supernet.dat
    /// (the selected step's alpha and weights), and the search time across resumes.</summary>
    sealed class SearchRecord(ArchSearch search) : TrainerCallback
    {
        readonly Stopwatch clock = new();
        double before;

        public double Seconds => before + clock.Elapsed.TotalSeconds;

        public override void OnTrainBegin(TrainerState state)
        {
            before = state.LogHistory.LastOrDefault()?.GetValueOrDefault("eval_search_seconds") ?? 0;
            search.TruncateAlphaLog(state.GlobalStep);
            clock.Restart();
        }

        public override void OnStepEnd(TrainerState state, StepReport step)
        {
            if (step.Step % 5 == 0 || step.Step == state.TotalSteps) search.LogAlpha(step.Step, step.Terms);
        }

        public override void OnEvaluate(TrainerState state, IReadOnlyDictionary<string, double> metrics, bool isBest)
        {
            if (isBest) search.WriteBest(state, metrics["accuracy"], metrics["search_seconds"]);
        }
    }

    /// <summary>Dev accuracy of the argmax architecture, once alpha may move (before, its argmax is noise).</summary>
    sealed class ArgmaxArchEvaluator(SuperNet net, EncodedExample[] dev, int batch, long pad, Device device, ArchSearchObjective objective, SearchRecord record)
        : IGatedEvaluator
    {
        public bool ReadyAt(TrainerState state) => state.GlobalStep >= objective.ArchStart(state.TotalSteps);

        public IReadOnlyDictionary<string, double> Evaluate()
        {
            double accuracy;
            using (var arch = net.ArgmaxArch())
            {
                var probs = Classifier.Predict(net, i => net.forward(i, arch)[arch.Depth], dev, batch, pad, device);
                accuracy = dev.Where((e, i) => Array.IndexOf(probs[i], probs[i].Max()) == e.Label).Count() / (double)dev.Length;
            }
            return new Dictionary<string, double> { ["accuracy"] = accuracy, ["search_seconds"] = record.Seconds };
        }
    }

    internal void WriteBest(TrainerState state, double? accuracy, double seconds)
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

    /// <summary>softmax(alpha) per edge and softmax(alpha_depth) with the step: the heat-maps of the report are drawn from this file.</summary>
    internal void LogAlpha(long step, IReadOnlyDictionary<string, double> terms)
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

    internal void TruncateAlphaLog(long step)
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
}
