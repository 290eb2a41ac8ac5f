using Distil.Reports;
using Distil.Training;
using static TorchSharp.torch;

namespace Distil.Pipelines;

/// <summary>
/// What every command's pipeline gets from the caller (the CLI, a test, the demo): where it writes, whether it
/// continues an interrupted run, where it computes, and who listens. One record instead of the same five parameters
/// threaded through every stage.
/// </summary>
public sealed record RunContext(RunFolder Run, bool Resume, Device Device, TrainerCallback? Progress = null, Action<string>? Log = null)
{
    public void Say(string message) => Log?.Invoke(message);
}
