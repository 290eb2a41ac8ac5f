using Distil.Data;
using Distil.Distillation;
using Distil.Models;
using Distil.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Distil.Search;

/// <summary>
/// Retraining the derived student through the shared Trainer: (1 - w) CE + w T² soft-CE against the teacher's logits
/// (cached with the probes, so the teacher does not run again).
/// </summary>
public sealed class RetrainObjective(AdaBertCnnForSequenceClassification model, Tensor teacherLogits, double kdWeight, double temperature, Device device) : IObjective<Batch>
{
    public LossResult Compute(Batch b)
    {
        var logits = model.forward(Classifier.Inputs(b, device));
        var labels = b.Labels.to(device);
        var ce = KdLosses.HardCrossEntropy(logits, labels);
        var teacher = teacherLogits.index_select(0, tensor(b.Indices.Select(i => (long)i).ToArray())).to(device);
        var kd = KdLosses.SoftCrossEntropy(logits, teacher, temperature) * (temperature * temperature);
        var loss = (1 - kdWeight) * ce + kdWeight * kd;
        return new LossResult(loss, new Dictionary<string, double> { ["ce"] = ce.item<float>(), ["kd"] = kd.item<float>() });
    }

    public int BatchSize(Batch b) => b.Size;
}

/// <summary>Dev metrics of any classifier given as a module and its logits function.</summary>
public sealed class ModuleEvaluator(nn.Module model, Func<Models.BertInputs, Tensor> logitsOf, IReadOnlyList<EncodedExample> dev, int numLabels,
    DomainSet domains, int batchSize, long padId, Device device) : IEvaluator
{
    public IReadOnlyDictionary<string, double> Evaluate() =>
        Classifier.Metrics(Classifier.Predict(model, logitsOf, dev, batchSize, padId, device), dev, numLabels, domains);
}
