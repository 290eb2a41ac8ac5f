using System.Text;
using Distil.Cluster;
using Microsoft.Extensions.Logging.Abstractions;
using Orleans.Hosting;
using Orleans.TestingHost;
using Xunit;

namespace Distil.Tests;

/// <summary>
/// The job grain's leases on an in-process Orleans test cluster of two silos: an expired lease goes to another worker,
/// a renewed one does not, a late result is dropped, worker loops give what a single-machine run gives (also with a
/// worker that joins mid-job), and a resubmission attaches to the job instead of running it again.
/// </summary>
public sealed class ClusterLeaseTests : IAsyncLifetime
{
    TestCluster cluster = null!;

    sealed class Silo : ISiloConfigurator
    {
        public void Configure(ISiloBuilder silo) => silo.AddMemoryGrainStorage(ClusterHost.Storage);
    }

    public async Task InitializeAsync()
    {
        var builder = new TestClusterBuilder(2);
        builder.AddSiloBuilderConfigurator<Silo>();
        cluster = builder.Build();
        await cluster.DeployAsync();
    }

    public async Task DisposeAsync() => await cluster.DisposeAsync();

    IGrainFactory Grains => cluster.Client;

    async Task<IJobGrain> Submit(string jobId, double leaseSeconds, params string[] ids)
    {
        var items = ids.Select(id => (id, Encoding.UTF8.GetBytes("payload " + id))).ToList();
        foreach (var (id, payload) in items) Assert.True(await Grains.GetGrain<IWorkItemGrain>(JobGrain.ItemKey(jobId, id)).Put(payload));
        var job = Grains.GetGrain<IJobGrain>(jobId);
        var p = await job.Submit(new JobSpec { Kind = "k", ItemIds = [.. ids], LeaseSeconds = leaseSeconds, Fingerprint = JobSubmitter.Fingerprint("k", items) });
        Assert.Null(p.Refused);
        return job;
    }

    [Fact]
    public async Task AnExpiredLeaseGoesToAnotherWorkerAndTheLateResultIsDropped()
    {
        var job = await Submit("expiry", 0.5, "a", "b");
        var leaseA = (await job.Acquire("A", ["k"]))!;
        var leaseB = (await job.Acquire("B", ["k"]))!;
        Assert.Equal(("a", "b"), (leaseA.ItemId, leaseB.ItemId));
        Assert.Null(await job.Acquire("B", ["k"])); // a's lease still runs
        Assert.Null(await job.Acquire("C", ["other kind"]));
        Assert.Equal(CommitOutcome.Committed, await job.Complete("b", leaseB.Token, "B", [2]));

        await Task.Delay(800);
        var again = (await job.Acquire("B", ["k"]))!;
        Assert.Equal(("a", 1), (again.ItemId, again.Attempt));
        Assert.False(await job.Renew("a", leaseA.Token)); // A's lease is gone
        Assert.True(await job.Renew("a", again.Token));

        Assert.Equal(CommitOutcome.Committed, await job.Complete("a", again.Token, "B", [1, 1]));
        Assert.Equal(CommitOutcome.Duplicate, await job.Complete("a", leaseA.Token, "A", [9, 9])); // late: dropped
        var p = await job.Progress();
        Assert.True(p.Done);
        Assert.Equal((2, 1, 1, 0), (p.Committed, p.Reassigned, p.DuplicatesDropped, p.Leased));
        Assert.Equal(new Dictionary<string, int> { ["B"] = 2 }, p.CommittedBy);
        Assert.Equal([1, 1], await Grains.GetGrain<IWorkItemGrain>(JobGrain.ItemKey("expiry", "a")).Result());
        Assert.Empty(await Grains.GetGrain<IJobBoardGrain>(0).Active());
    }

    [Fact]
    public async Task ARenewedLeaseIsKeptPastItsTimeout()
    {
        var job = await Submit("renew", 0.4, "x");
        var lease = (await job.Acquire("A", ["k"]))!;
        for (int i = 0; i < 8; i++)
        {
            await Task.Delay(150);
            Assert.True(await job.Renew("x", lease.Token));
            Assert.Null(await job.Acquire("B", ["k"]));
        }
        Assert.Equal(0, (await job.Progress()).Reassigned);
    }

    [Fact]
    public async Task ASubmissionWithOtherItemsUnderTheSameIdIsRefused()
    {
        await Submit("same-id", 5, "a");
        var other = new List<(string, byte[])> { ("a", [7]) };
        var e = await Assert.ThrowsAsync<DistilException>(() => JobSubmitter.RunAsync(Grains, "same-id", "k", other, 5, null, default));
        Assert.Contains("exists with other items", e.Message);
        var p = await Grains.GetGrain<IJobGrain>("same-id").Submit(new JobSpec { Kind = "k", ItemIds = ["a", "b"], Fingerprint = new string('0', 64) });
        Assert.Contains("exists with other items", p.Refused);
    }

    [Fact]
    public async Task WorkerLoopsGiveTheSingleMachineResultAndAJoinerTakesWork()
    {
        var lines = Enumerable.Range(0, 16).Select(i => $"sentence {i}").ToList();
        var items = DigestWork.Items(lines, 1, 40000);
        var handlers = new WorkHandlers([new DigestWork()]);
        var local = WorkHandlers.RunLocally(new DigestWork(), [.. items.Select(i => i.Payload)]);

        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var firstCommit = new TaskCompletionSource();
        var early = new WorkerLoop(Grains, handlers, "early", NullLogger.Instance) { OnDone = (_, _, _) => firstCommit.TrySetResult() };
        var joiner = new WorkerLoop(Grains, handlers, "joiner", NullLogger.Instance);
        var loops = new List<Task> { early.RunAsync(stop.Token) };
        var submit = JobSubmitter.RunAsync(Grains, "digest-job", DigestWork.Name, items, 5, null, stop.Token, TimeSpan.FromMilliseconds(50));
        await firstCommit.Task.WaitAsync(stop.Token);
        loops.Add(joiner.RunAsync(stop.Token));
        var (results, final) = await submit;

        Assert.Equal(local, results);
        Assert.Equal(16, final.Committed);
        Assert.Equal(16, final.CommittedBy.Values.Sum());
        Assert.Equal(16, early.Committed + joiner.Committed);
        Assert.True(joiner.Committed > 0, "the worker that joined mid-job took no item");

        // The submitter died and came back: the same job is found, nothing runs again, the results are the same.
        var (again, after) = await JobSubmitter.RunAsync(Grains, "digest-job", DigestWork.Name, items, 5, null, stop.Token);
        Assert.Equal(local, again);
        Assert.Equal(16, early.Committed + joiner.Committed);
        Assert.Equal(0, after.DuplicatesDropped);
        stop.Cancel();
        await Task.WhenAll(loops);
    }
}
