using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using Distil.Reports;
using Distil.Sweeps;

namespace Distil.Cluster;

/// <summary>One trial of a sweep to run on a worker: the trial, the run root it lives under and that root's token.</summary>
public sealed record SweepTrialPayload
{
    [JsonPropertyName("run_root")] public required string RunRoot { get; init; }
    /// <summary>The token in RUN_ROOT/.distil-cluster-root: a worker that cannot read it does not see the submitter's run root.</summary>
    [JsonPropertyName("root_token")] public required string RootToken { get; init; }
    /// <summary>The submitter's working directory: relative paths in the trial's arguments are relative to it.</summary>
    [JsonPropertyName("cwd")] public required string WorkingDirectory { get; init; }
    [JsonPropertyName("name")] public required string Name { get; init; }
    [JsonPropertyName("command")] public required string Command { get; init; }
    [JsonPropertyName("args")] public required string[] Args { get; init; }

    public byte[] ToBytes() => JsonSerializer.SerializeToUtf8Bytes(this);
    public static SweepTrialPayload FromBytes(byte[] b) => JsonSerializer.Deserialize<SweepTrialPayload>(b) ?? throw DistilException.BadInput("an empty sweep trial payload");
}

/// <summary>What a worker reports for a trial: the folder it ran in (under RUN_ROOT/.attempts), its exit code and time.</summary>
public sealed record SweepTrialResult
{
    [JsonPropertyName("attempt")] public required string Attempt { get; init; }
    [JsonPropertyName("exit_code")] public required int ExitCode { get; init; }
    [JsonPropertyName("seconds")] public required double Seconds { get; init; }
    [JsonPropertyName("worker")] public required string Worker { get; init; }

    public byte[] ToBytes() => JsonSerializer.SerializeToUtf8Bytes(this);
    public static SweepTrialResult FromBytes(byte[] b) => JsonSerializer.Deserialize<SweepTrialResult>(b) ?? throw DistilException.BadInput("an empty sweep trial result");
}

/// <summary>
/// The worker side of `distil sweep --cluster`: runs one trial as the local sweep does, but into a folder of its own
/// (RUN_ROOT/.attempts/NAME-RANDOM), so a second run of the same trial (its first worker stalled past its lease)
/// never writes into the folder of another. The submitter moves the committed attempt to RUN_ROOT/NAME. Sweeps need
/// the run root on a shared file system at the same path on every machine: checked by the root's token.
/// </summary>
public sealed class SweepWork(Func<SweepTrial, string, string, int> execute) : IWorkHandler
{
    public const string Name = "sweep";
    public const string RootFile = ".distil-cluster-root", AttemptsDir = ".attempts";

    public string Kind => Name;

    public byte[] Run(byte[] payload, CancellationToken cancel)
    {
        var p = SweepTrialPayload.FromBytes(payload);
        string marker = Path.Combine(p.RunRoot, RootFile);
        string? token = File.Exists(marker) ? File.ReadAllText(marker).Trim() : null;
        if (token != p.RootToken)
            throw DistilException.BadInput($"the sweep's run root {p.RunRoot} is not shared with this worker ({Environment.MachineName}): " +
                (token == null ? $"no {RootFile} there" : $"its {RootFile} is another sweep's") +
                "; sweeps need the run root on a shared file system mounted at the same path on every worker (docs/cluster.md)");
        if (!Directory.Exists(p.WorkingDirectory))
            throw DistilException.NotFound($"the submitter's working directory {p.WorkingDirectory} is not on this worker ({Environment.MachineName}): run the sweep from a shared directory");
        string attempt = Path.Combine(p.RunRoot, AttemptsDir, $"{p.Name}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}");
        Directory.CreateDirectory(Path.GetDirectoryName(attempt)!);
        var trial = new SweepTrial(p.Name, p.Command, [.. p.Args[..^1], attempt], attempt, [], null);
        var clock = Stopwatch.StartNew();
        int rc;
        try { rc = execute(trial, p.WorkingDirectory, attempt + ".log"); }
        catch (Exception e) when (e is DistilException or IOException) { rc = -1; File.AppendAllText(attempt + ".log", $"failed: {e.Message}\n"); }
        return new SweepTrialResult { Attempt = Path.GetFileName(attempt), ExitCode = rc, Seconds = clock.Elapsed.TotalSeconds, Worker = Environment.MachineName }.ToBytes();
    }
}

/// <summary>
/// The submitting side of `distil sweep --cluster`: the trials not yet done become one cluster job; each committed
/// trial's attempt folder is moved to its run folder (by this process only, so once), other attempts are removed.
/// </summary>
public static class ClusterSweep
{
    public static IReadOnlyList<TrialRun> Run(IGrainFactory grains, string runRoot, IReadOnlyList<SweepTrial> trials, double leaseSeconds,
        Action<string>? log, CancellationToken cancel)
    {
        string root = Path.GetFullPath(runRoot);
        Directory.CreateDirectory(root);
        string marker = Path.Combine(root, SweepWork.RootFile);
        if (!File.Exists(marker)) RunFolder.WriteAtomic(marker, Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)) + "\n");
        string token = File.ReadAllText(marker).Trim();
        var runs = new List<TrialRun>();
        var todo = new List<SweepTrial>();
        foreach (var t in trials)
        {
            if (t.IsDone) { log?.Invoke($"{t.Name}: done already"); runs.Add(new TrialRun(t, TrialOutcome.Skipped, 0, 0)); }
            else todo.Add(t);
        }
        if (todo.Count == 0) return runs;
        string cwd = Directory.GetCurrentDirectory();
        var items = todo.Select(t => (t.Name, new SweepTrialPayload
        {
            RunRoot = root, RootToken = token, WorkingDirectory = cwd, Name = t.Name, Command = t.Command, Args = [.. t.Args],
        }.ToBytes())).ToList();
        string attempts = Path.Combine(root, SweepWork.AttemptsDir);
        Directory.CreateDirectory(attempts);
        // Trials are not pure like labelling: the same trials submitted again after their job was collected (a failed
        // trial rerun) are a new round, not the finished job's old results.
        string baseId = JobSubmitter.DefaultJobId(SweepWork.Name, JobSubmitter.Fingerprint(SweepWork.Name, items));
        int round = 0;
        while (File.Exists(Path.Combine(attempts, $"{baseId}-r{round}.collected"))) round++;
        string id = $"{baseId}-r{round}";
        log?.Invoke($"job {id}: {items.Count} trials on the cluster");
        int last = -1;
        var (results, final) = JobSubmitter.RunAsync(grains, id, SweepWork.Name, items, leaseSeconds, p =>
        {
            if (p.Committed != last) log?.Invoke($"progress {p.Committed}/{p.Total} trials done, {p.Leased} running, {p.Reassigned} reassigned");
            last = p.Committed;
        }, cancel).GetAwaiter().GetResult();
        log?.Invoke(JobSubmitter.Summary(id, final));
        for (int i = 0; i < todo.Count; i++)
        {
            var t = todo[i];
            var r = SweepTrialResult.FromBytes(results[i]);
            string from = Path.Combine(attempts, r.Attempt);
            if (!t.IsDone && Directory.Exists(from))
            {
                if (Directory.Exists(t.RunDir)) Directory.Delete(t.RunDir, recursive: true); // an unfinished folder of an earlier run
                Directory.Move(from, t.RunDir);
                if (File.Exists(from + ".log")) File.Move(from + ".log", Path.Combine(root, t.Name + ".log"), overwrite: true);
            }
            // Attempts of the same trial that lost (a stalled worker's, a failed one's) go.
            foreach (var other in Directory.EnumerateDirectories(attempts, t.Name + "-*").Where(d => IsAttemptOf(d, t.Name))) Directory.Delete(other, recursive: true);
            foreach (var other in Directory.EnumerateFiles(attempts, t.Name + "-*.log").Where(f => IsAttemptOf(f[..^4], t.Name))) File.Delete(other);
            var outcome = r.ExitCode == 0 && t.IsDone ? TrialOutcome.Ran : TrialOutcome.Failed;
            log?.Invoke($"{t.Name}: {(outcome == TrialOutcome.Ran ? "done" : r.ExitCode == 0 ? "exit 0 but no result.json" : $"failed (exit {r.ExitCode})")} on {r.Worker} in {r.Seconds:F0} s");
            runs.Add(new TrialRun(t, outcome, r.ExitCode, r.Seconds));
        }
        RunFolder.WriteAtomic(Path.Combine(attempts, $"{id}.collected"), JobSubmitter.Summary(id, final) + "\n");
        var byName = runs.ToDictionary(r => r.Trial.Name, StringComparer.Ordinal);
        return [.. trials.Select(t => byName[t.Name])];
    }

    /// <summary>NAME-XXXXXXXX, and not the attempt of a trial whose name only starts with NAME.</summary>
    static bool IsAttemptOf(string path, string name)
    {
        string f = Path.GetFileName(path);
        return f.Length == name.Length + 9 && f.StartsWith(name + "-", StringComparison.Ordinal);
    }
}
