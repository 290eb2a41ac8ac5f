using System.Diagnostics;
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
    public sealed record Result(int Steps, IReadOnlyDictionary<long, long> RssKbAtStep, double Ratio, double MedianStepMs, double TotalSeconds);

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

    sealed class RssRecorder(IReadOnlyCollection<long> at) : TrainerCallback
    {
        public Dictionary<long, long> RssKb { get; } = new();
        public List<double> StepMs { get; } = new();
        public override void OnStepEnd(TrainerState state, StepReport step)
        {
            StepMs.Add(1000.0 * step.Examples / step.ExamplesPerSecond);
            if (at.Contains(step.Step)) RssKb[step.Step] = ReadRssKb();
        }
    }

    public static long ReadRssKb()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                return long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0]);
        throw new InvalidOperationException("no VmRSS in /proc/self/status");
    }

    public static Result Run(int steps, IReadOnlyList<long> recordAt)
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
        var recorder = new RssRecorder(recordAt.ToHashSet());
        var clock = Stopwatch.StartNew();
        try
        {
            var trainer = new Trainer<Batch>(runDir, new Dictionary<string, nn.Module> { ["model"] = model }, new CrossEntropy(model),
                new RandomBatches(steps, options.BatchSize, 32, config.VocabSize), options, callbacks: new[] { recorder });
            trainer.Train();
        }
        finally { Directory.Delete(runDir, recursive: true); }
        clock.Stop();
        long first = recorder.RssKb[recordAt[0]], last = recorder.RssKb[recordAt[^1]];
        return new Result(steps, recorder.RssKb, (double)last / first, Timing.Of(recorder.StepMs).MedianMs, clock.Elapsed.TotalSeconds);
    }
}
