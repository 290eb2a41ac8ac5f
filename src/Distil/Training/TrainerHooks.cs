using TorchSharp;
using TorchSharp.Modules;

namespace Distil.Training;

/// <summary>
/// The optimiser of a training that is not "AdamW over every trainable parameter, no decay on biases and LayerNorm":
/// which parameters the main optimiser updates and clips, how it is made, and further optimisers whose state must be
/// checkpointed with it (AdaBERT's architecture optimiser). Null in <see cref="Trainer{TBatch}"/> means the default.
/// </summary>
public sealed record OptimizerSetup(IReadOnlyList<Parameter> Parameters, Func<IReadOnlyList<Parameter>, OptimizerHelper> Create)
{
    /// <summary>Saved and restored with each checkpoint as optimizer-NAME.dat; owned (disposed) by their creator.</summary>
    public IReadOnlyDictionary<string, OptimizerHelper> Extra { get; init; } = new Dictionary<string, OptimizerHelper>();
}

/// <summary>An objective whose loss depends on where training stands (a temperature or a weight on a schedule):
/// told the state before each step's loss.</summary>
public interface IStepAware
{
    void BeginStep(TrainerState state);
}

/// <summary>
/// A second update on the same batch after the optimiser step (AdaBERT alternates the supernet weights and the
/// architecture parameters on each batch). Returns null, or the non-finite quantity that stopped it: the Trainer then
/// treats it as a non-finite step (stop, or skip under training.max_bad_steps).
/// </summary>
public interface ISecondUpdate<in TBatch>
{
    (string What, double Value)? AfterStep(TBatch batch, TrainerState state);
}

/// <summary>An evaluator that only means something from some step on (AdaBERT: before alpha moves, the argmax
/// architecture is noise); before that the Trainer does not evaluate.</summary>
public interface IGatedEvaluator : IEvaluator
{
    bool ReadyAt(TrainerState state);
}
