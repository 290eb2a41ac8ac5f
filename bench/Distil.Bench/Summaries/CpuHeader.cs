using Distil.Native;

namespace Distil.Bench.Summaries;

/// <summary>
/// The line every summary table starts with: the CPU and its vector extensions (<see cref="MachineInfo.Header"/>).
/// bench/*.sh run the pipelines and summarize on the same machine, so it names the CPU the runs were timed on.
/// </summary>
static class CpuHeader
{
    public static string Prepend(string markdown) => MachineInfo.Current.Header() + "\n\n" + markdown;
}
