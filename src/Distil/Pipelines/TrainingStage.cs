using Distil.Training;
using TorchSharp;

namespace Distil.Pipelines;

/// <summary>
/// One training of a stage, as data: what is trained (by checkpoint name), on what loss and batches, with which
/// options, how it is evaluated and how best/ is written. The runner turns it into the one <see cref="Trainer{TBatch}"/>
/// with the command's metrics log and progress, so every command trains, resumes, skips non-finite steps and keeps
/// checkpoints the same way.
/// </summary>
public sealed record TrainingStage<TBatch>(
    IReadOnlyDictionary<string, torch.nn.Module> Modules,
    IObjective<TBatch> Objective,
    IBatchSource<TBatch> Data,
    TrainingOptions Options,
    IEvaluator? Evaluator = null,
    Action<string>? SaveBest = null) where TBatch : IDisposable
{
    /// <summary>metrics.jsonl to append to (default: the run's).</summary>
    public string? MetricsPath { get; init; }
    /// <summary>Rows of a multi-stage training are tagged with their stage number in metrics.jsonl.</summary>
    public int? MetricsStage { get; init; }
    /// <summary>Listeners of this training only (e.g. the step this session started at).</summary>
    public IReadOnlyList<TrainerCallback> Callbacks { get; init; } = Array.Empty<TrainerCallback>();
    /// <summary>Null: AdamW over every trainable parameter (see <see cref="OptimizerSetup"/> for the others).</summary>
    public OptimizerSetup? Optimizer { get; init; }
    /// <summary>Disposed after the training (per-stage projections, caches).</summary>
    public IReadOnlyList<IDisposable> Owned { get; init; } = Array.Empty<IDisposable>();
}
