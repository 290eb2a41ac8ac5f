using System.Diagnostics;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Distil.Cluster;
using Xunit;

namespace Distil.Tests;

/// <summary>
/// The cluster with real processes on loopback: a Redis started here, two `distil worker` processes, a third that
/// joins mid-job, `distil digest --cluster` as the submitter, and one worker killed (SIGKILL) while it holds a lease.
/// The output must equal the single-machine digests byte for byte, every item committed once, the lost lease reassigned.
/// </summary>
public sealed class ClusterProcessTests(Xunit.Abstractions.ITestOutputHelper testOutput) : IDisposable
{
    readonly TempDir dir = new("cluster");
    readonly List<Process> started = [];

    public void Dispose()
    {
        foreach (var p in started)
        {
            try { if (!p.HasExited) p.Kill(entireProcessTree: true); p.WaitForExit(5000); } catch (InvalidOperationException) { }
            p.Dispose();
        }
        dir.Dispose();
    }

    static string RedisServer() =>
        new[] { "/usr/bin/redis-server", "/usr/local/bin/redis-server" }.FirstOrDefault(File.Exists)
        ?? throw new InvalidOperationException("redis-server is not installed: run bench/install-debian-deps.sh");

    Process Start(string file, IEnumerable<string> args, Action<string>? onLine = null, IReadOnlyDictionary<string, string>? env = null)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = dir.Path };
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (k, v) in env ?? new Dictionary<string, string>()) psi.Environment[k] = v;
        var p = new Process { StartInfo = psi };
        p.OutputDataReceived += (_, e) => { if (e.Data != null) onLine?.Invoke(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data != null) onLine?.Invoke(e.Data); };
        p.Start();
        started.Add(p);
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return p;
    }

    Process Distil(Action<string>? onLine, IReadOnlyDictionary<string, string>? env, params string[] args)
    {
        string dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } h ? h : "dotnet";
        return Start(dotnet, [Path.Combine(AppContext.BaseDirectory, "Distil.Cli.dll"), .. args], onLine, env);
    }

    /// <summary>
    /// Two workers ready (their silos active, the job board answering) before the job is submitted. The first (the
    /// victim) holds its second item, lease renewed, until it is killed, which happens as soon as it holds it; the
    /// second holds its third item until the third worker, started after the first commit (mid-job), has committed
    /// one. So the joiner must take work, and the kill lands while the victim provably holds an uncommitted lease,
    /// whatever the load.
    /// </summary>
    [Fact]
    public async Task AKilledWorkersItemGoesToAnotherAndTheResultEqualsASingleMachineRun()
    {
        var clock = Stopwatch.StartNew();
        int port = ClusterHost.FreePort();
        Start(RedisServer(), ["--port", $"{port}", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir.Path]);
        for (int i = 0; ; i++)
        {
            try { using var c = new TcpClient(); await c.ConnectAsync("127.0.0.1", port); break; }
            catch (SocketException) when (i < 100) { await Task.Delay(100); }
        }
        string url = $"redis://127.0.0.1:{port}";
        const int Items = 24, Rounds = 20000;
        var lines = Enumerable.Range(0, Items).Select(i => $"row {i}: the teacher's sentence").ToList();
        string data = dir.File("lines.txt", string.Join('\n', lines) + "\n");
        var local = WorkHandlers.RunLocally(new DigestWork(), [.. DigestWork.Items(lines, 1, Rounds).Select(i => i.Payload)]).SelectMany(b => b).ToArray();

        var log = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var timeline = new System.Collections.Concurrent.ConcurrentQueue<string>();
        TaskCompletionSource Signal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
        var ready = new[] { Signal(), Signal(), Signal() };
        var paused = new[] { Signal(), Signal() };
        var firstCommit = Signal();
        var joinerCommitted = Signal();
        var leasedBy = new[] { new List<string>(), new List<string>(), new List<string>() };
        string release = Path.Combine(dir.Path, "release-w2");
        Action<string> Worker(int w) => l =>
        {
            log.Enqueue($"w{w + 1} {l}");
            timeline.Enqueue($"{clock.Elapsed.TotalSeconds,6:F1} s  w{w + 1} {l}");
            if (l.StartsWith("worker ") && l.Contains(" ready")) ready[w].TrySetResult();
            if (l.StartsWith("leased ")) lock (leasedBy) leasedBy[w].Add(l.Split(' ')[1].Split('/')[1]);
            if (l.StartsWith("paused ")) paused[w].TrySetResult();
            if (w == 2 && l.StartsWith("committed ")) joinerCommitted.TrySetResult();
        };
        Dictionary<string, string> Pause(int n, string file) => new() { [PauseHandler.Variable] = $"{n}:{file}" };

        var victim = Distil(Worker(0), Pause(2, Path.Combine(dir.Path, "never")), "worker", "--cluster", url);
        Distil(Worker(1), Pause(3, release), "worker", "--cluster", url);
        string output = Path.Combine(dir.Path, "cluster.bin");
        Process? submitter = null;
        string? held = null;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        try
        {
            await Task.WhenAll(ready[0].Task, ready[1].Task).WaitAsync(timeout.Token);
            timeline.Enqueue($"{clock.Elapsed.TotalSeconds,6:F1} s  start the submitter");
            submitter = Distil(l => { log.Enqueue("submit " + l); timeline.Enqueue($"{clock.Elapsed.TotalSeconds,6:F1} s  submit {l}"); if (l.StartsWith("progress") && !l.StartsWith("progress 0/")) firstCommit.TrySetResult(); }, null,
                "digest", "--data", data, "--out", output, "--lines-per-item", "1", "--rounds", $"{Rounds}", "--cluster", url, "--lease-seconds", "3");
            await firstCommit.Task.WaitAsync(timeout.Token);
            timeline.Enqueue($"{clock.Elapsed.TotalSeconds,6:F1} s  start w3");
            Distil(Worker(2), null, "worker", "--cluster", url); // joins mid-job
            await paused[0].Task.WaitAsync(timeout.Token);
            lock (leasedBy) held = leasedBy[0][1];
            Assert.DoesNotContain(log, l => l.StartsWith("w1 committed ") && l.EndsWith("/" + held));
            timeline.Enqueue($"{clock.Elapsed.TotalSeconds,6:F1} s  kill -9 w1");
            victim.Kill(); // SIGKILL while it holds the lease of its second item, uncommitted
            // w2 stays held until the joiner has committed: until then only the joiner can take work.
            await Task.WhenAll(paused[1].Task, joinerCommitted.Task).WaitAsync(timeout.Token);
            File.WriteAllText(release, "go");
            await submitter.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"the cluster job did not finish in {clock.Elapsed.TotalSeconds:F0} s:\n" + string.Join("\n", log));
        }
        string all = string.Join("\n", log);
        testOutput.WriteLine(string.Join("\n", timeline.Where(l => !l.Contains(" leased ") && !l.Contains(" committed digest-") && !l.Contains("warn: Orleans") && !l.Contains("warn: Polly"))));
        Assert.True(submitter!.ExitCode == 0, all);
        Assert.Equal(local, File.ReadAllBytes(output));

        var summary = Regex.Match(all, @"committed (\d+) of (\d+), reassigned (\d+), duplicates dropped (\d+), by worker (.*)");
        Assert.True(summary.Success, all);
        Assert.Equal($"{Items}", summary.Groups[1].Value);
        var committedBy = log.Where(l => Regex.IsMatch(l, @"^w\d committed ")).Select(l => (Worker: l[..2], Item: l[(l.LastIndexOf('/') + 1)..])).ToList();
        // The victim committed at most its first item; the item it held went to another worker (by its lease expiring,
        // or, when the job grain lived on the killed silo, by the grain's new activation, which starts with no leases).
        Assert.DoesNotContain(committedBy, c => c.Worker == "w1" && c.Item != leasedBy[0][0]);
        Assert.Contains(committedBy, c => c.Worker != "w1" && c.Item == held);
        Assert.Contains(committedBy, c => c.Worker == "w3"); // the worker that joined mid-job took work
        // Every item committed exactly once: the commits the workers saw are the items, none twice, none lost,
        // and the job grain's own count by worker agrees.
        Assert.True(committedBy.Count == Items && committedBy.Select(c => c.Item).Distinct().Count() == Items, all);
        var byWorker = summary.Groups[5].Value.Split(' ').Select(kv => int.Parse(kv[(kv.LastIndexOf('=') + 1)..])).ToList();
        Assert.Equal(Items, byWorker.Sum());
        Assert.True(byWorker.Count >= 2, all);
    }
}
