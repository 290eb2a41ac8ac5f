using Distil.Data;
using Distil.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Distil.Training;

/// <summary>The fine-tuning objective: the supervised loss of the model's task on a batch (cross-entropy for a sequence classifier; <see cref="TaskHeads.Loss"/>).</summary>
public sealed class CrossEntropyObjective(EncoderClassifier model, Device device) : IObjective<Batch>
{
    public LossResult Compute(Batch b)
    {
        var logits = model.forward(Classifier.Inputs(b, device)).Logits;
        return new LossResult(TaskHeads.Loss(model.Task, logits, b.Labels.to(device)));
    }

    public int BatchSize(Batch b) => (int)b.Labels.shape[0];
}

/// <summary>Batches of encoded examples in the seeded order of each epoch (resumable at any batch).</summary>
public sealed class EncodedBatchSource(IReadOnlyList<EncodedExample> examples, int batchSize, int seed, long padId) : IBatchSource<Batch>
{
    readonly BatchPlan plan = new(examples.Count, batchSize, seed);
    int cachedEpoch = -1;
    IReadOnlyList<int[]> cached = Array.Empty<int[]>();

    public int BatchCount(int epoch) => plan.BatchesPerEpoch;

    public Batch GetBatch(int epoch, int index)
    {
        if (epoch != cachedEpoch) { cached = plan.Batches(epoch); cachedEpoch = epoch; }
        return Collator.CollateAt(examples, cached[index], padId);
    }
}

/// <summary>Predictions of a classifier on encoded examples, and the metrics they give.</summary>
public static class Classifier
{
    public static BertInputs Inputs(Batch b, Device device) =>
        new(b.InputIds.to(device), b.AttentionMask.to(device), b.TokenTypeIds.to(device));

    /// <summary>Class probabilities (N, C) in the examples' order; batches are formed by length to waste little padding.</summary>
    public static float[][] PredictProbabilities(EncoderClassifier model, IReadOnlyList<EncodedExample> examples, int batchSize, long padId, Device device) =>
        Predict(model, examples, batchSize, padId, device, softmax: true);

    /// <summary>Raw logits (N, C) in the examples' order.</summary>
    public static float[][] PredictLogits(EncoderClassifier model, IReadOnlyList<EncodedExample> examples, int batchSize, long padId, Device device) =>
        Predict(model, examples, batchSize, padId, device, softmax: false);

    static float[][] Predict(EncoderClassifier model, IReadOnlyList<EncodedExample> examples, int batchSize, long padId, Device device, bool softmax) =>
        Predict(model, i => model.forward(i).Logits, examples, batchSize, padId, device, softmax);

    /// <summary>Probabilities (or logits) of any classifier given as its module and logits function (e.g. an AdaBERT CNN).
    /// With <paramref name="softmax"/> the outputs are <see cref="TaskHeads.Outputs"/> of <paramref name="task"/>; a token
    /// head's row is its positions × labels, flattened, for the example's own length.</summary>
    public static float[][] Predict(nn.Module model, Func<BertInputs, Tensor> logitsOf, IReadOnlyList<EncodedExample> examples, int batchSize, long padId, Device device, bool softmax = true,
        TaskKind task = TaskKind.Sequence)
    {
        bool wasTraining = model.training;
        model.eval();
        var result = new float[examples.Count][];
        var order = Enumerable.Range(0, examples.Count).OrderBy(i => examples[i].InputIds.Length).ToArray();
        using (no_grad())
            foreach (var chunk in order.Chunk(batchSize))
            {
                using var scope = NewDisposeScope();
                using var batch = Collator.CollateAt(examples, chunk, padId);
                var logits = logitsOf(Inputs(batch, device));
                var probs = (softmax ? TaskHeads.Outputs(task, logits) : logits).cpu();
                float[] flat = probs.data<float>().ToArray();
                if (probs.dim() == 3) // (B, T, C): each example's own positions
                {
                    int t = (int)probs.shape[1], c = (int)probs.shape[2];
                    for (int k = 0; k < chunk.Length; k++) result[chunk[k]] = flat.AsSpan(k * t * c, examples[chunk[k]].InputIds.Length * c).ToArray();
                    continue;
                }
                int classes = (int)probs.shape[1];
                for (int k = 0; k < chunk.Length; k++) result[chunk[k]] = flat.AsSpan(k * classes, classes).ToArray();
            }
        if (wasTraining) model.train();
        return result;
    }

    /// <summary>accuracy, macro_f1, mcc, loss (mean cross-entropy), accuracy_&lt;domain&gt; and the example count.</summary>
    public static Dictionary<string, double> Metrics(float[][] probabilities, IReadOnlyList<EncodedExample> examples, int numLabels, DomainSet domains)
    {
        var predicted = probabilities.Select(p => Array.IndexOf(p, p.Max())).ToArray();
        var gold = examples.Select(e => (int)e.Label).ToArray();
        var m = ClassificationMetrics.Compute(predicted, gold, numLabels,
            domains.Count > 0 ? examples.Select(e => e.Domain).ToArray() : null, domains.Names);
        m["loss"] = examples.Count == 0 ? 0 : -probabilities.Select((p, i) => Math.Log(Math.Max(p[gold[i]], 1e-12))).Average();
        m["examples"] = examples.Count;
        return m;
    }
}

/// <summary>Evaluates the model on a dev set for the Trainer.</summary>
public sealed class ClassificationEvaluator(EncoderClassifier model, IReadOnlyList<EncodedExample> dev, int numLabels,
    DomainSet domains, int batchSize, long padId, Device device) : IEvaluator
{
    public IReadOnlyDictionary<string, double> Evaluate() =>
        Classifier.Metrics(Classifier.PredictProbabilities(model, dev, batchSize, padId, device), dev, numLabels, domains);
}
