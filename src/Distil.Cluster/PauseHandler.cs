using System.Globalization;
using System.Runtime.CompilerServices;

namespace Distil.Cluster;

/// <summary>
/// A fault-injection point for tests and drills (`DISTIL_WORKER_PAUSE=N:FILE` on `distil worker`): the N-th item this
/// worker runs is held inside its handler, with its lease renewed, until FILE exists; then it runs normally. With a
/// FILE that never appears the worker holds one uncommitted lease until it is killed, so a kill is known to land
/// mid-item (not after the item was committed), whatever the machine's load.
/// </summary>
public sealed class PauseHandler(IWorkHandler inner, int pauseAt, string releaseFile, StrongBox<int> calls, Action<string>? print) : IWorkHandler
{
    public const string Variable = "DISTIL_WORKER_PAUSE";

    public string Kind => inner.Kind;

    public byte[] Run(byte[] payload, CancellationToken cancel)
    {
        if (Interlocked.Increment(ref calls.Value) == pauseAt)
        {
            print?.Invoke($"paused in item {pauseAt} until {releaseFile} exists");
            while (!File.Exists(releaseFile)) { cancel.ThrowIfCancellationRequested(); Thread.Sleep(50); }
            print?.Invoke($"released from item {pauseAt}");
        }
        return inner.Run(payload, cancel);
    }

    /// <summary>The handlers wrapped as <see cref="Variable"/> asks ("N:FILE"), or unchanged when it is not set.</summary>
    public static WorkHandlers FromEnvironment(IReadOnlyList<IWorkHandler> handlers, Action<string>? print)
    {
        if (Environment.GetEnvironmentVariable(Variable) is not { Length: > 0 } v) return new WorkHandlers(handlers);
        var parts = v.Split(':', 2);
        if (parts.Length != 2 || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int n) || n < 1 || parts[1].Length == 0)
            throw DistilException.Usage($"{Variable}='{v}': expected N:FILE (hold the N-th item until FILE exists), e.g. 2:hold-release (a path relative to the worker's working directory, or absolute)");
        var calls = new StrongBox<int>(0); // one count over every kind: "the N-th item this worker runs"
        return new WorkHandlers(handlers.Select(h => (IWorkHandler)new PauseHandler(h, n, parts[1], calls, print)).ToList());
    }
}
