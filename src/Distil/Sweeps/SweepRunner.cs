namespace Distil.Sweeps;

public enum TrialOutcome { Ran, Skipped, Failed }

/// <summary>What became of one trial: ran (and its exit code), skipped because it was done, or failed.</summary>
public sealed record TrialRun(SweepTrial Trial, TrialOutcome Outcome, int ExitCode, double Seconds);

/// <summary>
/// Runs the trials not yet done, one after another, through <paramref name="execute"/> (the CLI runs the command in
/// process; a cluster worker runs the same trial by name). A trial folder left without result.json by an
/// interrupted run is removed first, so every trial starts clean; a failed trial does not stop the sweep.
/// </summary>
public static class SweepRunner
{
    public static IReadOnlyList<TrialRun> Run(IReadOnlyList<SweepTrial> trials, Func<SweepTrial, int> execute, Action<string>? log = null)
    {
        var runs = new List<TrialRun>();
        int k = 0;
        foreach (var t in trials)
        {
            k++;
            if (t.IsDone) { log?.Invoke($"[{k}/{trials.Count}] {t.Name}: done already"); runs.Add(new TrialRun(t, TrialOutcome.Skipped, 0, 0)); continue; }
            runs.Add(RunOne(t, execute, m => log?.Invoke($"[{k}/{trials.Count}] {m}")));
        }
        return runs;
    }

    /// <summary>One trial, whatever runs the sweep: clean an unfinished folder, run, check that result.json appeared.</summary>
    public static TrialRun RunOne(SweepTrial t, Func<SweepTrial, int> execute, Action<string>? log = null)
    {
        if (t.IsDone) return new TrialRun(t, TrialOutcome.Skipped, 0, 0);
        if (Directory.Exists(t.RunDir)) Directory.Delete(t.RunDir, recursive: true);
        log?.Invoke($"{t.Name}: {t.CommandLine}");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        int rc;
        try { rc = execute(t); }
        catch (Exception e) when (e is DistilException or IOException)
        {
            log?.Invoke($"{t.Name}: failed: {e.Message}");
            return new TrialRun(t, TrialOutcome.Failed, -1, clock.Elapsed.TotalSeconds);
        }
        var outcome = rc == 0 && t.IsDone ? TrialOutcome.Ran : TrialOutcome.Failed;
        log?.Invoke($"{t.Name}: {(outcome == TrialOutcome.Ran ? "done" : rc == 0 ? "exit 0 but no result.json" : $"failed (exit {rc})")} in {clock.Elapsed.TotalSeconds:F0} s");
        return new TrialRun(t, outcome, rc, clock.Elapsed.TotalSeconds);
    }
}
