using Distil.Models;
using Distil.Training;
using TorchSharp;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Distil.Tests;

public class TrainerTests
{
    readonly ITestOutputHelper output;
    public TrainerTests(ITestOutputHelper output) { this.output = output; torch.set_num_threads(1); }

    sealed record ToyBatch(Tensor Ids, Tensor Mask, Tensor Labels) : IDisposable
    {
        public void Dispose() { Ids.Dispose(); Mask.Dispose(); Labels.Dispose(); }
    }

    /// <summary>Label 1 when token 7 occurs in the sequence: learnable by a tiny BERT in a few dozen steps.</summary>
    sealed class ToyData : IBatchSource<ToyBatch>
    {
        readonly long[][] rows; readonly long[] labels; readonly int batchSize, seed;
        public ToyData(int count, int batchSize, int seed)
        {
            var rng = new Random(123);
            rows = new long[count][]; labels = new long[count];
            for (int i = 0; i < count; i++)
            {
                rows[i] = Enumerable.Range(0, 6).Select(_ => (long)rng.Next(8, 40)).ToArray();
                labels[i] = i % 2;
                if (labels[i] == 1) rows[i][rng.Next(6)] = 7;
            }
            this.batchSize = batchSize; this.seed = seed;
        }
        public int BatchCount(int epoch) => (rows.Length + batchSize - 1) / batchSize;
        public ToyBatch GetBatch(int epoch, int index)
        {
            var order = Enumerable.Range(0, rows.Length).OrderBy(i => new Random(seed * 31 + epoch).Next()).ToArray();
            var rng = new Random(seed * 31 + epoch);
            order = Enumerable.Range(0, rows.Length).Select(i => (i, k: rng.Next())).OrderBy(p => p.k).Select(p => p.i).ToArray();
            var take = order.Skip(index * batchSize).Take(batchSize).ToArray();
            var ids = tensor(take.SelectMany(i => rows[i]).ToArray()).view(take.Length, 6);
            return new ToyBatch(ids, ones_like(ids), tensor(take.Select(i => labels[i]).ToArray()));
        }
    }

    sealed class CrossEntropy(BertForSequenceClassification model) : IObjective<ToyBatch>
    {
        public LossResult Compute(ToyBatch b) =>
            new(nn.functional.cross_entropy(model.forward(new BertInputs(b.Ids, b.Mask)).Logits, b.Labels));
        public int BatchSize(ToyBatch b) => (int)b.Ids.shape[0];
    }

    sealed class Recorder : TrainerCallback
    {
        public readonly List<double> Losses = new();
        public override void OnStepEnd(TrainerState s, StepReport r) => Losses.Add(r.Loss);
    }

    sealed class KilledException : Exception;

    sealed class Killer(int atStep) : TrainerCallback
    {
        public override void OnStepEnd(TrainerState s, StepReport r) { if (r.Step == atStep) throw new KilledException(); }
    }

    static (BertForSequenceClassification, Trainer<ToyBatch>, Recorder) Make(string dir, TrainingOptions o, TrainerCallback? extra = null)
    {
        torch.manual_seed(5);
        var model = new BertForSequenceClassification(TinyBert.Config(layers: 1, hidden: 16, heads: 2));
        var rec = new Recorder();
        var trainer = new Trainer<ToyBatch>(dir, new Dictionary<string, nn.Module> { ["model"] = model },
            new CrossEntropy(model), new ToyData(64, 8, o.Seed), o, callbacks: extra is null ? new TrainerCallback[] { rec } : new[] { rec, extra });
        return (model, trainer, rec);
    }

    static string NewDir() => TempDir.Scratch("trainer");

    [Fact]
    public void LossDecreasesOnATinyTask()
    {
        var (_, trainer, rec) = Make(NewDir(), new TrainingOptions { Epochs = 12, LearningRate = 3e-3, WarmupRatio = 0.1 });
        trainer.Train();
        Assert.Equal(96, rec.Losses.Count);
        double first = rec.Losses.Take(8).Average(), last = rec.Losses.TakeLast(8).Average();
        Assert.True(last < 0.5 * first, $"loss {first:F3} -> {last:F3}");
    }

    [Fact]
    public void ResumeAfterStopGivesTheSameWeightsAsOneRun()
    {
        var o = new TrainingOptions { Epochs = 2, LearningRate = 1e-3, SaveEverySteps = 5 };
        var (straight, t1, _) = Make(NewDir(), o);
        t1.Train();

        string dir = NewDir();
        var (_, t2, _) = Make(dir, o, new Killer(atStep: 12)); // dies two steps after the checkpoint at step 10 (mid-epoch 2)
        Assert.Throws<KilledException>(() => t2.Train());
        var (resumed, t3, rec3) = Make(dir, o);
        var state = t3.Train(resume: true);
        Assert.Equal(16, state.GlobalStep);
        Assert.Equal(6, rec3.Losses.Count); // only the remaining steps ran

        var a = straight.state_dict(); var b = resumed.state_dict();
        foreach (var (k, v) in a)
            Assert.True(v.allclose(b[k], rtol: 0, atol: 1e-5), $"{k} differs after resume");
        // Retention: only the newest checkpoints are kept, no temporary folders are left.
        var left = Directory.GetDirectories(Path.Combine(dir, "checkpoints")).Select(Path.GetFileName).Order().ToArray();
        Assert.Equal(new[] { "step-0000015", "step-0000016" }, left);
    }

    /// <summary>Does something to the disk right after the checkpoint of one step was written.</summary>
    sealed class AtSave(long step, Action act) : TrainerCallback
    {
        public override void OnSave(TrainerState s, string dir) { if (s.GlobalStep == step) act(); }
    }

    static long FolderSize(string dir) => Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);

    static string[] Checkpoints(string dir) => Directory.GetDirectories(Path.Combine(dir, "checkpoints")).Select(p => Path.GetFileName(p)!).Order().ToArray();

    /// <summary>
    /// A real full disk (a tmpfs) while the second checkpoint is written: the error names the checkpoint, the place to
    /// free and the checkpoint that is kept; the half-written temp folder is gone; after freeing space the run resumes
    /// from the kept checkpoint and ends with the weights of an uninterrupted run.
    /// </summary>
    [TmpfsFact]
    public void ACheckpointOnAFullDiskFailsCleanlyAndTheRunResumesFromTheOneBefore()
    {
        var o = new TrainingOptions { Epochs = 2, LearningRate = 1e-3, SaveEverySteps = 5 };
        var (straight, t1, _) = Make(NewDir(), o);
        t1.Train();

        using var disk = new Tmpfs(4 << 20);
        string dir = Path.Combine(disk.Path, "run"), first = Path.Combine(dir, "checkpoints", "step-0000005");
        // Half a checkpoint of room: the next one starts writing and runs out of space part-way.
        var (_, t2, _) = Make(dir, o, new AtSave(5, () => disk.Fill(leave: FolderSize(first) / 2)));
        var e = Assert.Throws<DistilException>(() => t2.Train());
        output.WriteLine(e.Message);
        Assert.Equal(ExitCodes.DiskFull, e.ExitCode);
        Assert.StartsWith($"{Path.Combine(dir, "checkpoints", "step-0000010")}: not written, the disk is full", e.Message);
        Assert.Contains($"free space on the disk that holds {Path.Combine(dir, "checkpoints")} or choose another --out", e.Message);
        Assert.Contains($"the previous checkpoint {first} is intact", e.Message);
        Assert.Empty(disk.Leftovers());
        Assert.Equal(new[] { "step-0000005" }, Checkpoints(dir));

        disk.Free();
        var (resumed, t3, rec3) = Make(dir, o);
        Assert.Equal(16, t3.Train(resume: true).GlobalStep);
        Assert.Equal(11, rec3.Losses.Count); // steps 6..16: it went on from the kept checkpoint
        var a = straight.state_dict(); var b = resumed.state_dict();
        foreach (var (k, v) in a)
            Assert.True(v.allclose(b[k], rtol: 0, atol: 1e-5), $"{k} differs after resuming past the full disk");
    }

    /// <summary>The run folder's file system goes read-only between two checkpoints (a read-only remount stops root too).</summary>
    [TmpfsFact]
    public void ACheckpointOnAReadOnlyDiskFailsCleanlyAndTheRunResumesOnceWritable()
    {
        var o = new TrainingOptions { Epochs = 2, LearningRate = 1e-3, SaveEverySteps = 5 };
        var (straight, t1, _) = Make(NewDir(), o);
        t1.Train();

        using var disk = new Tmpfs(4 << 20);
        string dir = Path.Combine(disk.Path, "run");
        var (_, t2, _) = Make(dir, o, new AtSave(5, disk.ReadOnly));
        var e = Assert.Throws<DistilException>(() => t2.Train());
        output.WriteLine(e.Message);
        Assert.Equal(ExitCodes.OutputNotWritable, e.ExitCode);
        Assert.StartsWith($"{Path.Combine(dir, "checkpoints", "step-0000010")}: not written, {Path.Combine(dir, "checkpoints")} is read-only or not writable (read-only file system)", e.Message);
        Assert.Contains("make it writable or choose another --out", e.Message);
        Assert.Empty(disk.Leftovers());
        Assert.Equal(new[] { "step-0000005" }, Checkpoints(dir));

        disk.Writable();
        var (resumed, t3, _) = Make(dir, o);
        Assert.Equal(16, t3.Train(resume: true).GlobalStep);
        var a = straight.state_dict(); var b = resumed.state_dict();
        foreach (var (k, v) in a)
            Assert.True(v.allclose(b[k], rtol: 0, atol: 1e-5), $"{k} differs after resuming past the read-only disk");
    }

    sealed class Stopper(int atStep) : TrainerCallback
    {
        public override void OnStepEnd(TrainerState s, StepReport r) { if (r.Step == atStep) s.ShouldStop = true; }
    }

    [Fact]
    public void KeepCheckpointsKeepsTheNewestAndDropCheckpointsDeletesThemOnlyAfterACompleteRun()
    {
        string kept = NewDir();
        var (_, t0, _) = Make(kept, new TrainingOptions { Epochs = 1, LearningRate = 1e-3, SaveEverySteps = 2, KeepCheckpoints = 3 });
        t0.Train();
        Assert.Equal(new[] { "step-0000004", "step-0000006", "step-0000008" }, Checkpoints(kept));

        var o = new TrainingOptions { Epochs = 1, LearningRate = 1e-3, SaveEverySteps = 3, DropCheckpoints = true };
        string dir = NewDir();
        var (_, t1, _) = Make(dir, o, new Stopper(atStep: 4));
        Assert.Equal(4, t1.Train().GlobalStep);
        Assert.Equal(new[] { "step-0000003", "step-0000004" }, Checkpoints(dir)); // stopped early: kept for --resume
        var (_, t2, rec) = Make(dir, o);
        Assert.Equal(8, t2.Train(resume: true).GlobalStep);
        Assert.Equal(4, rec.Losses.Count); // resumed from step 4, then ran to its end
        Assert.False(Directory.Exists(Path.Combine(dir, "checkpoints")));
    }

    [Fact]
    public void NanLossStopsWithAClearError()
    {
        var (_, trainer, _) = Make(NewDir(), new TrainingOptions { Epochs = 1, LearningRate = 1e30, MaxGradNorm = 1e30 });
        var e = Assert.Throws<DistilException>(() => trainer.Train());
        Assert.Equal(ExitCodes.NumericalFault, e.ExitCode);
        Assert.Contains("training diverged", e.Message);
    }

    [Fact]
    public void LinearScheduleWarmsUpThenDecaysToZero()
    {
        var o = new TrainingOptions { LearningRate = 1.0, WarmupRatio = 0.2 };
        Assert.Equal(0.5, o.LearningRateAt(0, 10), 9);   // warm-up: 2 steps
        Assert.Equal(1.0, o.LearningRateAt(1, 10), 9);
        Assert.Equal(1.0, o.LearningRateAt(2, 10), 9);   // (10-2)/8
        Assert.Equal(0.125, o.LearningRateAt(9, 10), 9);
    }

    [Fact]
    public void MetricsMatchHandComputedValues()
    {
        // gold 0 0 1 1 1, predicted 0 1 1 1 0: accuracy 3/5; F1(0) = 2*1/(2+2) = 0.5, F1(1) = 2*2/(3+3) = 2/3.
        var m = ClassificationMetrics.Compute(new[] { 0, 1, 1, 1, 0 }, new[] { 0, 0, 1, 1, 1 }, 2,
            new[] { 0, 0, 1, 1, 1 }, new[] { "a", "b" });
        Assert.Equal(0.6, m["accuracy"], 9);
        Assert.Equal((0.5 + 2.0 / 3) / 2, m["macro_f1"], 9);
        // Binary MCC = (TP*TN - FP*FN)/sqrt(...) with TP=2, TN=1, FP=1, FN=1: (2-1)/sqrt(3*3*2*2) = 1/6.
        Assert.Equal(1.0 / 6, m["mcc"], 9);
        Assert.Equal(0.5, m["accuracy_a"], 9);
        Assert.Equal(2.0 / 3, m["accuracy_b"], 9);
    }
}
