using TorchSharp;

namespace Distil.Training;

/// <summary>The batches of one epoch in a fixed order, so a resumed run sees exactly the same batches.</summary>
public interface IBatchSource<out TBatch> where TBatch : IDisposable
{
    int BatchCount(int epoch);
    TBatch GetBatch(int epoch, int index);
}

/// <summary>A loss to minimise: fine-tuning's cross-entropy now, every distillation objective later.</summary>
public interface IObjective<in TBatch>
{
    LossResult Compute(TBatch batch);
    /// <summary>Examples in the batch (for throughput).</summary>
    int BatchSize(TBatch batch);
}

/// <summary>The loss to back-propagate plus named, already-weighted terms for the logs.</summary>
public sealed record LossResult(torch.Tensor Loss, IReadOnlyDictionary<string, double>? Terms = null);

/// <summary>Runs on the model in eval mode and returns metrics (accuracy, macro_f1, ..., loss).</summary>
public interface IEvaluator
{
    IReadOnlyDictionary<string, double> Evaluate();
}
