using System.Diagnostics;
using Distil.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Distil.Training;

/// <summary>Batch-1 forward latency of a classifier in TorchSharp: median and p95 over timed runs after warm-up.</summary>
public static class TorchLatency
{
    public sealed record Result(double MedianMs, double P95Ms, int SeqLen, int Runs);

    public static Result Measure(EncoderClassifier model, int seqLen, int runs = 30, int warmup = 5) =>
        Measure(model, i => model.forward(i).Logits, model.Shape.VocabSize, seqLen, runs, warmup);

    /// <summary>Any classifier given as its module and logits function (e.g. an AdaBERT CNN).</summary>
    public static Result Measure(nn.Module model, Func<BertInputs, Tensor> logitsOf, int vocabSize, int seqLen, int runs = 30, int warmup = 5)
    {
        bool wasTraining = model.training;
        model.eval();
        var device = model.parameters().First().device;
        using var ids = randint(0, vocabSize, new long[] { 1, seqLen }, dtype: int64, device: device);
        using var mask = ones_like(ids);
        var times = new List<double>();
        using (no_grad())
            for (int i = 0; i < warmup + runs; i++)
            {
                using var scope = NewDisposeScope();
                var clock = Stopwatch.StartNew();
                _ = logitsOf(new BertInputs(ids, mask)).cpu();
                if (i >= warmup) times.Add(clock.Elapsed.TotalMilliseconds);
            }
        if (wasTraining) model.train();
        times.Sort();
        return new Result(times[times.Count / 2], times[(int)Math.Min(times.Count - 1, Math.Ceiling(0.95 * times.Count) - 1)], seqLen, runs);
    }
}
