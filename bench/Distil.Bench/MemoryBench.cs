using System.Diagnostics;
using System.Runtime.InteropServices;
using Distil.Models;
using Distil.Training;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Distil.Bench;

/// <summary>
/// Trains a small BERT through the real Trainer for many steps and reads the process RSS (/proc/self/status VmRSS)
/// after given steps: a leak of tensors or native memory per step shows as RSS growing between step 100 and the end.
/// </summary>
public static class MemoryBench
{
    public sealed record Result(int Steps, IReadOnlyDictionary<long, long> RssKbAtStep, double Ratio, double MedianStepMs, double TotalSeconds)
    {
        /// <summary>Every 100 steps: where the memory is (tells a leak from allocator retention).</summary>
        public IReadOnlyList<Snapshot> Snapshots { get; init; } = Array.Empty<Snapshot>();
        /// <summary>Same readings as <see cref="Snapshots"/> (name used by Program.cs).</summary>
        public IReadOnlyList<Snapshot> Samples => Snapshots;
        /// <summary>VmRSS after the run once glibc has been asked to give free memory back (malloc_trim(0)).</summary>
        public long RssKbAfterTrim { get; init; }
        /// <summary>0, or the malloc_trim(0) period in steps (--malloc-trim-every) and the median time of one call.</summary>
        public int TrimEvery { get; init; }
        public double MedianTrimMs { get; init; }
    }

    /// <summary>
    /// One reading. MallocInUseKb = glibc mallinfo2 uordblks + hblkhd (bytes handed out by malloc and not freed:
    /// libtorch tensors and everything else native); MallocFreeKb = fordblks (freed, kept by malloc in its arenas);
    /// ManagedKb = .NET GC heap (GC.GetTotalMemory(false)).
    /// </summary>
    public sealed record Snapshot(long Step, long RssKb, long RssAnonKb, long RssFileKb, long MallocInUseKb, long MallocFreeKb, long MallocMmappedKb,
        long ManagedKb, long LiveTensors)
    {
        public long ManagedBytes => ManagedKb * 1024;
    }

    [StructLayout(LayoutKind.Sequential)]
    struct MallInfo2
    {
        public nuint arena, ordblks, smblks, hblks, hblkhd, usmblks, fsmblks, uordblks, fordblks, keepcost;
    }

    [DllImport("libc", EntryPoint = "mallinfo2")] static extern MallInfo2 mallinfo2();
    [DllImport("libc", EntryPoint = "malloc_trim")] static extern int malloc_trim(nuint pad);

    public static Snapshot Read(long step)
    {
        long rss = ReadStatusKb("VmRSS:"), anon = ReadStatusKb("RssAnon:"), file = ReadStatusKb("RssFile:");
        long managed = GC.GetTotalMemory(false) / 1024;
        long live = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        try
        {
            var m = mallinfo2();
            return new Snapshot(step, rss, anon, file, (long)(m.uordblks + m.hblkhd) / 1024, (long)m.fordblks / 1024, (long)m.hblkhd / 1024, managed, live);
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            return new Snapshot(step, rss, anon, file, -1, -1, -1, managed, live); // not glibc >= 2.33
        }
    }

    sealed class Batch(Tensor ids, Tensor mask, Tensor labels) : IDisposable
    {
        public Tensor Ids { get; } = ids;
        public Tensor Mask { get; } = mask;
        public Tensor Labels { get; } = labels;
        public void Dispose() { Ids.Dispose(); Mask.Dispose(); Labels.Dispose(); }
    }

    /// <summary>Random ids and labels, a fixed generator per (epoch, index) so the data is the same each run.</summary>
    sealed class RandomBatches(int count, int batch, int seq, int vocab) : IBatchSource<Batch>
    {
        public int BatchCount(int epoch) => count;
        public Batch GetBatch(int epoch, int index)
        {
            using var g = new Generator((ulong)(epoch * 1_000_003 + index + 1));
            var ids = randint(0, vocab, new long[] { batch, seq }, dtype: int64, generator: g);
            var mask = ones(batch, seq, dtype: int64);
            var labels = randint(0, 2, new long[] { batch }, dtype: int64, generator: g);
            return new Batch(ids, mask, labels);
        }
    }

    sealed class CrossEntropy(BertForSequenceClassification model) : IObjective<Batch>
    {
        public LossResult Compute(Batch b) => new(F.cross_entropy(model.forward(new BertInputs(b.Ids, b.Mask)).Logits, b.Labels));
        public int BatchSize(Batch b) => (int)b.Ids.shape[0];
    }

    /// <param name="trimEvery">0, or call glibc malloc_trim(0) after every N steps (after that step's reading): a possible remedy.</param>
    sealed class RssRecorder(IReadOnlyCollection<long> at, int trimEvery) : TrainerCallback
    {
        public Dictionary<long, long> RssKb { get; } = new();
        public List<double> StepMs { get; } = new();
        public List<Snapshot> Snapshots { get; } = new();
        public List<double> TrimMs { get; } = new();
        public override void OnStepEnd(TrainerState state, StepReport step)
        {
            StepMs.Add(1000.0 * step.Examples / step.ExamplesPerSecond);
            if (at.Contains(step.Step)) RssKb[step.Step] = ReadRssKb();
            if (step.Step % 100 == 0 || at.Contains(step.Step))
            {
                var snap = Read(step.Step);
                Snapshots.Add(snap);
                Console.Error.WriteLine($"memory: step {snap.Step,5}: VmRSS {snap.RssKb / 1024.0,7:F1} MiB, malloc in use {snap.MallocInUseKb / 1024.0,7:F1} MiB " +
                    $"(mmapped {snap.MallocMmappedKb / 1024.0:F1}), malloc free-but-kept {snap.MallocFreeKb / 1024.0,7:F1} MiB, .NET heap {snap.ManagedKb / 1024.0,6:F1} MiB, live tensors {snap.LiveTensors}");
            }
            if (trimEvery > 0 && step.Step % trimEvery == 0)
            {
                var sw = Stopwatch.StartNew();
                malloc_trim(0);
                TrimMs.Add(sw.Elapsed.TotalMilliseconds);
            }
        }
    }

    public static long ReadRssKb() => ReadStatusKb("VmRSS:");

    static long ReadStatusKb(string key)
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith(key, StringComparison.Ordinal))
                return long.Parse(line[key.Length..].Trim().Split(' ')[0]);
        throw new InvalidOperationException($"no {key} in /proc/self/status");
    }

    public static Result Run(int steps, IReadOnlyList<long> recordAt, int trimEvery = 0)
    {
        var config = new BertConfig
        {
            VocabSize = 1000, HiddenSize = 128, NumHiddenLayers = 2, NumAttentionHeads = 2, IntermediateSize = 512, MaxPositionEmbeddings = 512,
        };
        manual_seed(0);
        using var model = new BertForSequenceClassification(config);
        var options = new TrainingOptions
        {
            Epochs = 1, BatchSize = 16, LearningRate = 1e-4, MaxSteps = steps, SaveEverySteps = steps * 10, EvalEverySteps = 0,
        };
        string runDir = Path.Combine(Path.GetTempPath(), "distil-bench-memory-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(runDir);
        var recorder = new RssRecorder(recordAt.ToHashSet(), trimEvery);
        var clock = Stopwatch.StartNew();
        try
        {
            var trainer = new Trainer<Batch>(runDir, new Dictionary<string, nn.Module> { ["model"] = model }, new CrossEntropy(model),
                new RandomBatches(steps, options.BatchSize, 32, config.VocabSize), options, callbacks: new[] { recorder });
            trainer.Train();
        }
        finally { Directory.Delete(runDir, recursive: true); }
        clock.Stop();
        // The foundation issue's criterion: RSS after the last step within 10% of RSS after step 100.
        long first = recorder.RssKb.TryGetValue(100, out long at100) ? at100 : recorder.RssKb[recordAt[0]], last = recorder.RssKb[recordAt.Max()];
        long trimmed;
        try { malloc_trim(0); trimmed = ReadRssKb(); }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException) { trimmed = -1; }
        Console.Error.WriteLine($"memory: after the run and malloc_trim(0): VmRSS {trimmed / 1024.0:F1} MiB");
        if (recorder.TrimMs.Count > 0)
            Console.Error.WriteLine($"memory: malloc_trim(0) every {trimEvery} steps took a median {Timing.Of(recorder.TrimMs).MedianMs:F2} ms ({recorder.TrimMs.Count} calls)");
        return new Result(steps, recorder.RssKb, (double)last / first, Timing.Of(recorder.StepMs).MedianMs, clock.Elapsed.TotalSeconds)
        {
            Snapshots = recorder.Snapshots, RssKbAfterTrim = trimmed, TrimEvery = trimEvery,
            MedianTrimMs = recorder.TrimMs.Count > 0 ? Timing.Of(recorder.TrimMs).MedianMs : 0,
        };
    }
}
