using Distil.Cli;
using Distil.Cluster;
using Distil.Deploy;
using Distil.Labels;
using Distil.Sweeps;
using Microsoft.Extensions.Logging.Abstractions;
using Orleans.Hosting;
using Orleans.TestingHost;
using TorchSharp;
using Xunit;

namespace Distil.Tests;

/// <summary>
/// `distil label --cluster` and `distil sweep --cluster` on an in-process Orleans test cluster of two silos, with two
/// worker loops: the label store equals a single-machine `distil label` of the same corpus file for file, byte for
/// byte; the sweep's trials equal the single-machine sweep's (weights byte for byte, the same summary).
/// </summary>
public sealed class ClusterJobTests : IAsyncLifetime
{
    TestCluster cluster = null!;
    readonly TempDir dir = new("cluster-jobs");

    sealed class Silo : ISiloConfigurator
    {
        public void Configure(ISiloBuilder silo) => silo.AddMemoryGrainStorage(ClusterHost.Storage);
    }

    public async Task InitializeAsync()
    {
        torch.set_num_threads(1);
        var builder = new TestClusterBuilder(2);
        builder.AddSiloBuilderConfigurator<Silo>();
        cluster = builder.Build();
        await cluster.DeployAsync();
    }

    public async Task DisposeAsync()
    {
        await cluster.DisposeAsync();
        dir.Dispose();
    }

    static readonly string Teacher = DeployFixtures.ClassifierFolder(TempDir.Scratch("cluster-label-teacher"), seed: 13);

    /// <summary>Two worker loops over the cluster until <paramref name="stop"/>; each committed item counted per worker.</summary>
    List<Task> Workers(IWorkHandler handler, CancellationToken stop, Dictionary<string, int> committed) =>
        [.. new[] { "A", "B" }.Select(name => new WorkerLoop(cluster.Client, new WorkHandlers([handler]), name, NullLogger.Instance)
        {
            IdlePoll = TimeSpan.FromMilliseconds(50),
            OnDone = (_, _, o) => { if (o == CommitOutcome.Committed) lock (committed) committed[name] = committed.GetValueOrDefault(name) + 1; },
        }.RunAsync(stop))];

    static Dictionary<string, byte[]> Files(string root) =>
        Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories).ToDictionary(f => Path.GetRelativePath(root, f), File.ReadAllBytes);

    [Fact]
    public async Task LabellingThroughTheClusterGivesTheSingleMachineStoreByteForByte()
    {
        var s = DeployFixtures.Sentences;
        // 11 rows, one repeated: 10 distinct, 4 shards of 3 (the last of 1), 2 windows of 2 shards = 2 cluster jobs.
        string corpus = dir.File("corpus.txt", string.Join("\n", Enumerable.Range(0, 11).Select(i => i == 7 ? s[0] + " 0" : $"{s[i % s.Length]} {i}")) + "\n");
        int[] layers = [1];
        using var teacher = LabelTeachers.Open(Teacher, "auto", 32, layers, 1);
        var job = new LabelJob(corpus, teacher.Spec, RowsPerShard: 3);

        var local = LabelStore.OpenOrCreate(Path.Combine(dir.Path, "local"), teacher.Spec);
        var localResult = LabelRun.Run(job, local, teacher, resume: false, batchSize: 2);

        using var work = new LabelWork();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var committed = new Dictionary<string, int>();
        var loops = Workers(work, stop.Token, committed);
        var store = LabelStore.OpenOrCreate(Path.Combine(dir.Path, "cluster"), teacher.Spec);
        var log = new List<string>();
        var result = await Task.Run(() => ClusterLabelRun.Run(cluster.Client, job, store, Teacher, "auto", layers, resume: false, batchSize: 2,
            leaseSeconds: 5, log.Add, null, stop.Token, window: 2));

        Assert.Equal((4, 10L, 1L), (localResult.Shards, localResult.RowsLabelled, localResult.Duplicates));
        Assert.Equal((localResult.Shards, localResult.RowsLabelled, localResult.Duplicates), (result.Shards, result.RowsLabelled, result.Duplicates));
        Assert.Equal(2, log.Count(l => l.StartsWith("job label-", StringComparison.Ordinal) && l.Contains(" shards (")));
        Assert.Equal(4, committed.Values.Sum()); // each shard labelled once, by the workers, not by the submitter
        var want = Files(local.Dir);
        var got = Files(store.Dir);
        Assert.Equal(want.Keys.Order(), got.Keys.Order()); // manifest.json, 4 shards, jobs/JOB.json
        Assert.Equal(6, want.Count);
        foreach (var (path, bytes) in want) Assert.True(bytes.AsSpan().SequenceEqual(got[path]), $"{path} differs");

        // Again: every shard is in the store, nothing goes to the cluster.
        var again = ClusterLabelRun.Run(cluster.Client, job, store, Teacher, "auto", layers, resume: false, batchSize: 2, leaseSeconds: 5, log.Add, null, stop.Token, window: 2);
        Assert.Equal((4, 4, 0L), (again.Shards, again.ShardsSkipped, again.RowsLabelled));
        Assert.Equal(4, committed.Values.Sum());
        stop.Cancel();
        await Task.WhenAll(loops);
    }

    [Fact]
    public async Task AWorkerWithAnotherTeacherAtThePathIsRefusedNotUsed()
    {
        using var teacher = LabelTeachers.Open(Teacher, "auto", 32, [], 1);
        var shard = new LabelShard("jtest", 0, [new LabelRow("the movie was good", null, "x:1")]);
        var payload = new LabelShardPayload
        {
            Teacher = Teacher, Engine = "auto", MaxSeqLen = 32, HiddenLayers = [], SpecKey = "0000000000000000", BatchSize = 2,
            JobId = shard.JobId, Index = shard.Index, Rows = [["the movie was good", null, "x:1"]],
        };
        using var work = new LabelWork();
        var e = Assert.Throws<DistilException>(() => work.Run(payload.ToBytes(), default));
        Assert.Contains("copy the submitter's teacher to every worker", e.Message);
        var missing = Assert.Throws<DistilException>(() => work.Run((payload with { Teacher = Path.Combine(dir.Path, "nowhere") }).ToBytes(), default));
        Assert.Contains("same path on every worker", missing.Message);
        // With the right key the worker's bytes are the single-machine shard's.
        Assert.Equal(ShardLabeller.Label(teacher, shard, 2), work.Run((payload with { SpecKey = teacher.Spec.Key }).ToBytes(), default));
        await Task.CompletedTask;
    }

    [Fact]
    public async Task ASweepThroughTheClusterEqualsTheSingleMachineSweep()
    {
        string encoder = TinyBert.TeacherFolder(layers: 1);
        var w = TinyBert.Words;
        void Data(string name, int n, int seed)
        {
            var rng = new Random(seed);
            File.WriteAllLines(Path.Combine(dir.Path, name), ["text\tlabel", .. Enumerable.Range(0, n).Select(i => $"the movie was {(i % 2 == 1 ? w[rng.Next(4)] : w[4 + rng.Next(4)])} .\t{i % 2}")]);
        }
        Data("train.tsv", 16, 1); Data("dev.tsv", 8, 2);
        SweepFile Sweep(string root) => new()
        {
            Command = "finetune",
            RunRoot = Path.Combine(dir.Path, root),
            Args = ["--model", encoder, "--train", Path.Combine(dir.Path, "train.tsv"), "--dev", Path.Combine(dir.Path, "dev.tsv"), "--test", Path.Combine(dir.Path, "dev.tsv"),
                "--epochs", "1", "--batch-size", "8", "--lr", "3e-3", "--max-seq-len", "16", "--pooling", "mean", "--threads", "1"],
            Seeds = [1, 2, 3],
            Metric = "steps",
        };
        static int InProcess(SweepTrial t) => CliApp.Run([t.Command, .. t.Args]);

        var localSweep = Sweep("local");
        var localTrials = SweepPlan.Expand(localSweep);
        Assert.All(SweepRunner.Run(localTrials, InProcess), r => Assert.Equal(TrialOutcome.Ran, r.Outcome));

        var clusterSweep = Sweep("cluster");
        var trials = SweepPlan.Expand(clusterSweep);
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(180));
        var committed = new Dictionary<string, int>();
        // A worker runs each trial as a child process of its own; here they run in this process, which has one torch
        // (one global random generator), so one at a time.
        var oneTorch = new object();
        var loops = Workers(new SweepWork((t, _, log) => { File.WriteAllText(log, t.CommandLine); lock (oneTorch) return InProcess(t); }), stop.Token, committed);
        var log = new List<string>();
        var runs = await Task.Run(() => ClusterSweep.Run(cluster.Client, clusterSweep.RunRoot, trials, 5, log.Add, stop.Token));

        Assert.All(runs, r => Assert.Equal(TrialOutcome.Ran, r.Outcome));
        Assert.Equal(3, committed.Values.Sum());
        Assert.Empty(Directory.EnumerateDirectories(Path.Combine(clusterSweep.RunRoot, SweepWork.AttemptsDir)));
        foreach (var (a, b) in localTrials.Zip(trials))
        {
            Assert.Equal(a.Name, b.Name);
            Assert.True(b.IsDone);
            Assert.True(File.Exists(Path.Combine(clusterSweep.RunRoot, b.Name + ".log")));
            var want = Directory.EnumerateFiles(a.RunDir, "*.safetensors", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(a.RunDir, f)).Order().ToList();
            Assert.NotEmpty(want);
            Assert.Equal(want, Directory.EnumerateFiles(b.RunDir, "*.safetensors", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(b.RunDir, f)).Order());
            foreach (var f in want) Assert.Equal(File.ReadAllBytes(Path.Combine(a.RunDir, f)), File.ReadAllBytes(Path.Combine(b.RunDir, f)));
            // The same dev and test metrics (loss, accuracy, ...) in result.json.
            static string Splits(SweepTrial t) => System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(t.RunDir, SweepTrial.ResultFile)))!["Splits"]!.ToJsonString();
            Assert.Equal(Splits(a), Splits(b));
        }
        var localSummary = SweepSummary.Summarise(localTrials, localSweep.Metric, null);
        var clusterSummary = SweepSummary.Summarise(trials, clusterSweep.Metric, null);
        Assert.NotNull(localSummary.Single().Mean);
        Assert.Equal(localSummary.Select(g => (g.Trials, g.Mean, g.Sd)), clusterSummary.Select(g => (g.Trials, g.Mean, g.Sd)));

        // Run again: every trial is done, nothing goes to the cluster.
        var again = ClusterSweep.Run(cluster.Client, clusterSweep.RunRoot, trials, 5, log.Add, stop.Token);
        Assert.All(again, r => Assert.Equal(TrialOutcome.Skipped, r.Outcome));
        Assert.Equal(3, committed.Values.Sum());
        stop.Cancel();
        await Task.WhenAll(loops);
    }

    [Fact]
    public void ATrialWhoseRunRootIsNotSharedIsRefused()
    {
        string root = Path.Combine(dir.Path, "root");
        Directory.CreateDirectory(root);
        var payload = new SweepTrialPayload
        {
            RunRoot = root, RootToken = "abc", WorkingDirectory = dir.Path, Name = "t", Command = "finetune", Args = ["--out", Path.Combine(root, "t")],
        };
        var work = new SweepWork((_, _, _) => throw new InvalidOperationException("must not run"));
        Assert.Contains("shared file system", Assert.Throws<DistilException>(() => work.Run(payload.ToBytes(), default)).Message);
        File.WriteAllText(Path.Combine(root, SweepWork.RootFile), "another\n");
        Assert.Contains("another sweep's", Assert.Throws<DistilException>(() => work.Run(payload.ToBytes(), default)).Message);
    }
}
