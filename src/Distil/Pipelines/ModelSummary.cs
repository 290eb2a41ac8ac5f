using Distil.Data;
using Distil.Models;
using Distil.Training;
using static TorchSharp.torch;

namespace Distil.Pipelines;

/// <summary>One row of a comparison table: a model, its size, dev/test metrics and batch-1 latency (TorchSharp, median).</summary>
public sealed record ModelSummary(string Name, long Parameters, long NonEmbeddingParameters, IReadOnlyDictionary<string, double> Dev,
    IReadOnlyDictionary<string, double>? Test, double LatencyMs)
{
    /// <summary>Measures a row: metrics of <paramref name="logits"/> on the task's dev and test sets, then the median
    /// batch-1 latency at <paramref name="seq"/> tokens over <paramref name="latencyRuns"/> runs.</summary>
    public static ModelSummary Measure(string name, nn.Module model, Func<BertInputs, Tensor> logits, int vocab, long nonEmbedding,
        TaskData data, int evalBatch, long pad, Device device, int seq, int latencyRuns)
    {
        IReadOnlyDictionary<string, double> Metrics(EncodedExample[] set) =>
            TaskHeads.Metrics(data.Task, Classifier.Predict(model, logits, set, evalBatch, pad, device, task: data.Task), set, data.Labels, data.Domains, data.Threshold);
        var dev = data.DevSet != null ? Metrics(data.DevSet) : new Dictionary<string, double>();
        var test = data.TestSet != null ? Metrics(data.TestSet) : null;
        return new ModelSummary(name, model.parameters().Sum(p => p.numel()), nonEmbedding, dev, test,
            TorchLatency.Measure(model, logits, vocab, seq, runs: latencyRuns).MedianMs);
    }
}
