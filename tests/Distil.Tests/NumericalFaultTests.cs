using System.Text.Json.Nodes;
using Distil.Reports;
using Distil.Training;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace Distil.Tests;

/// <summary>
/// NaN/Inf during training: by default the Trainer stops with ExitCodes.NumericalFault and keeps the last good
/// checkpoint; with training.max_bad_steps = N it skips up to N such steps (no update, logged, counted) and stops on the next.
/// </summary>
public class NumericalFaultTests
{
    public NumericalFaultTests() => torch.set_num_threads(1);

    sealed record Xy(Tensor X, Tensor Y) : IDisposable
    {
        public void Dispose() { X.Dispose(); Y.Dispose(); }
    }

    /// <summary>8 fixed batches of 4 rows of 3 features; label = (x0 > 0).</summary>
    sealed class Batches : IBatchSource<Xy>
    {
        public int BatchCount(int epoch) => 8;
        public Xy GetBatch(int epoch, int index)
        {
            var g = new Random(100 * epoch + index);
            var x = Enumerable.Range(0, 12).Select(_ => (float)(g.NextDouble() * 2 - 1)).ToArray();
            return new Xy(tensor(x).view(4, 3), tensor(Enumerable.Range(0, 4).Select(r => x[3 * r] > 0 ? 1L : 0L).ToArray()));
        }
    }

    /// <summary>Cross-entropy of a linear model; at the listed (1-based) steps the loss is NaN, or finite with an infinite gradient.</summary>
    sealed class Faulty(nn.Module<Tensor, Tensor> model, Parameter weight, int[] nanLossAt, int[] infGradAt) : IObjective<Xy>
    {
        int calls;
        public LossResult Compute(Xy b)
        {
            calls++;
            var loss = nn.functional.cross_entropy(model.forward(b.X), b.Y);
            if (nanLossAt.Contains(calls)) loss = loss * float.NaN;
            // sqrt(w - w) is 0 with derivative 1 / (2 sqrt(0)) = +Inf: a finite loss whose gradient is not.
            if (infGradAt.Contains(calls)) loss = loss + (weight - weight.detach()).sqrt().sum();
            return new LossResult(loss);
        }
        public int BatchSize(Xy b) => (int)b.X.shape[0];
    }

    /// <summary>A copy of the weights after every step (index = step), taken whether the step was trained or skipped.</summary>
    sealed class Snapshots(nn.Module model) : TrainerCallback
    {
        public readonly Dictionary<long, float[]> After = new();
        public readonly List<SkippedStep> Skipped = new();
        float[] Weights() => model.parameters().SelectMany(p => p.data<float>().ToArray()).ToArray();
        public override void OnTrainBegin(TrainerState s) => After[s.GlobalStep] = Weights();
        public override void OnStepEnd(TrainerState s, StepReport r) => After[r.Step] = Weights();
        public override void OnStepSkipped(TrainerState s, SkippedStep k) { After[k.Step] = Weights(); Skipped.Add(k); }
    }

    static (Trainer<Xy> Trainer, nn.Module Model, Snapshots Shots) Make(string dir, TrainingOptions o, int[] nanAt, int[]? infAt = null)
    {
        torch.manual_seed(3);
        var model = nn.Linear(3, 2);
        var shots = new Snapshots(model);
        var trainer = new Trainer<Xy>(dir, new Dictionary<string, nn.Module> { ["model"] = model },
            new Faulty(model, model.weight!, nanAt, infAt ?? Array.Empty<int>()), new Batches(), o,
            callbacks: new TrainerCallback[] { new MetricsLog(Path.Combine(dir, "metrics.jsonl"), logEverySteps: 1), shots });
        return (trainer, model, shots);
    }

    static readonly TrainingOptions Base = new() { Epochs = 2, LearningRate = 0.1, WarmupRatio = 0, SaveEverySteps = 2, KeepCheckpoints = 1 };

    [Fact]
    public void ANanLossStopsTheRunAndKeepsTheLastGoodCheckpoint()
    {
        using var tmp = new TempDir();
        var (trainer, model, shots) = Make(tmp.Path, Base, nanAt: new[] { 7 });
        var e = Assert.Throws<DistilException>(() => trainer.Train());
        Assert.Equal(ExitCodes.NumericalFault, e.ExitCode);
        string kept = Path.Combine(tmp.Path, "checkpoints", "step-0000006");
        Assert.Contains("loss is NaN at step 7", e.Message);
        Assert.Contains(kept, e.Message);
        Assert.Contains("--skip-nonfinite", e.Message);
        // The checkpoint named is complete and resumable, and holds the weights of step 6 (nothing NaN reached it).
        Assert.Equal(6, TrainerState.FromJson(File.ReadAllText(Path.Combine(kept, "trainer_state.json")), kept).GlobalStep);
        var (resumed, again, _) = Make(tmp.Path, Base with { MaxSteps = 6 }, nanAt: Array.Empty<int>());
        resumed.Train(resume: true);
        Assert.Equal(shots.After[6], again.parameters().SelectMany(p => p.data<float>().ToArray()).ToArray());
        Assert.All(model.parameters().SelectMany(p => p.data<float>().ToArray()), v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    public void AnInfiniteGradientStopsTheRunToo()
    {
        using var tmp = new TempDir();
        var (trainer, _, _) = Make(tmp.Path, Base, nanAt: Array.Empty<int>(), infAt: new[] { 3 });
        var e = Assert.Throws<DistilException>(() => trainer.Train());
        Assert.Equal(ExitCodes.NumericalFault, e.ExitCode);
        Assert.Contains("gradient norm is", e.Message);
        Assert.Contains("at step 3", e.Message);
    }

    [Fact]
    public void SkippedStepsChangeNoWeightAreLoggedAndCounted()
    {
        using var tmp = new TempDir();
        var (trainer, _, shots) = Make(tmp.Path, Base with { MaxBadSteps = 2 }, nanAt: new[] { 3 }, infAt: new[] { 11 });
        var state = trainer.Train();
        Assert.Equal(16, state.GlobalStep); // every batch consumed: the data order and schedule of the rest are unchanged
        Assert.Equal(2, state.SkippedSteps);
        Assert.Equal(new long[] { 3, 11 }, shots.Skipped.Select(s => s.Step));
        // A skipped step changes no weight; the steps around it do.
        Assert.Equal(shots.After[2], shots.After[3]);
        Assert.Equal(shots.After[10], shots.After[11]);
        Assert.NotEqual(shots.After[3], shots.After[4]);
        Assert.NotEqual(shots.After[1], shots.After[2]);

        var rows = File.ReadAllLines(Path.Combine(tmp.Path, "metrics.jsonl")).Select(l => JsonNode.Parse(l)!).ToList();
        var skipped = rows.Where(r => r["type"]!.GetValue<string>() == "skipped").ToList();
        Assert.Equal(new[] { 3.0, 11.0 }, skipped.Select(r => r["step"]!.GetValue<double>()));
        Assert.Equal("loss is NaN", skipped[0]["reason"]!.GetValue<string>());
        Assert.StartsWith("gradient norm is", skipped[1]["reason"]!.GetValue<string>());
        Assert.Equal(2, skipped[1]["skipped_steps"]!.GetValue<double>());
        Assert.Equal(14, rows.Count(r => r["type"]!.GetValue<string>() == "train")); // 16 steps - 2 skipped
        Assert.Equal(14, MetricsLog.Read(Path.Combine(tmp.Path, "metrics.jsonl")).Train.Count); // the plot never sees a skipped row
        // The count survives in the checkpoint, so a resumed run keeps counting from it.
        string last = Directory.GetDirectories(Path.Combine(tmp.Path, "checkpoints")).Single();
        Assert.Equal(2, TrainerState.FromJson(File.ReadAllText(Path.Combine(last, "trainer_state.json")), last).SkippedSteps);
    }

    [Fact]
    public void OneBadStepMoreThanAllowedStops()
    {
        using var tmp = new TempDir();
        var (trainer, _, shots) = Make(tmp.Path, Base with { MaxBadSteps = 1 }, nanAt: new[] { 3, 5 });
        var e = Assert.Throws<DistilException>(() => trainer.Train());
        Assert.Equal(ExitCodes.NumericalFault, e.ExitCode);
        Assert.Contains("loss is NaN at step 5", e.Message);
        Assert.Contains("after 1 skipped steps (max_bad_steps 1)", e.Message);
        Assert.Single(shots.Skipped);
    }

    [Fact]
    public void NegativeMaxBadStepsIsAUsageError()
    {
        var e = Assert.Throws<DistilException>(() => (Base with { MaxBadSteps = -1 }).Validate());
        Assert.Equal(ExitCodes.InvalidUsage, e.ExitCode);
        Assert.Contains("max_bad_steps", e.Message);
    }

    [Fact]
    public void NonFiniteCheckOfTheLoopsOutsideTheTrainer()
    {
        Assert.Equal(1.5, NonFinite.Check(1.5, "loss", "x", "y"));
        var e = Assert.Throws<DistilException>(() => NonFinite.Check(double.PositiveInfinity, "policy loss", "L2A selector", "lower selector_lr"));
        Assert.Equal(ExitCodes.NumericalFault, e.ExitCode);
        Assert.StartsWith("L2A selector diverged: policy loss is ", e.Message);
        Assert.EndsWith("; lower selector_lr", e.Message);
    }
}
