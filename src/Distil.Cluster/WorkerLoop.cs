using Microsoft.Extensions.Logging;

namespace Distil.Cluster;

/// <summary>
/// One worker thread: finds a job with work on the board, leases an item, fetches its payload, runs the handler while
/// renewing the lease, and hands the result back until the job grain answers (a commit or a dropped duplicate). Any
/// failure of the cluster (a silo gone, Redis stopped) is waited out and retried; a result is never thrown away
/// before the job grain has it.
/// </summary>
public sealed class WorkerLoop(IGrainFactory grains, WorkHandlers handlers, string workerId, ILogger log)
{
    public string WorkerId => workerId;

    /// <summary>Items this loop saw committed / dropped as duplicates.</summary>
    public int Committed { get; private set; }
    public int Duplicates { get; private set; }

    /// <summary>Called when an item is leased and when its result is handed back (tests and the CLI's log read these).</summary>
    public Action<string, Lease>? OnLeased { get; init; }
    public Action<string, Lease, CommitOutcome>? OnDone { get; init; }

    public TimeSpan IdlePoll { get; init; } = TimeSpan.FromMilliseconds(250);

    public async Task RunAsync(CancellationToken cancel)
    {
        var board = grains.GetGrain<IJobBoardGrain>(0);
        while (!cancel.IsCancellationRequested)
        {
            try
            {
                bool worked = false;
                foreach (var jobId in await board.Active())
                {
                    if (await TryOne(jobId, cancel)) { worked = true; break; }
                }
                if (!worked) await Task.Delay(IdlePoll, cancel);
            }
            catch (OperationCanceledException) when (cancel.IsCancellationRequested) { return; }
            catch (Exception e)
            {
                log.LogWarning("worker {Worker}: {Error}; retrying", workerId, e.Message);
                await Delay(TimeSpan.FromSeconds(1), cancel);
            }
        }
    }

    async Task<bool> TryOne(string jobId, CancellationToken cancel)
    {
        var job = grains.GetGrain<IJobGrain>(jobId);
        var lease = await job.Acquire(workerId, handlers.Kinds);
        if (lease == null) return false;
        OnLeased?.Invoke(jobId, lease);
        var payload = await grains.GetGrain<IWorkItemGrain>(JobGrain.ItemKey(jobId, lease.ItemId)).Payload();
        if (payload == null)
        {
            await job.Fail(lease.ItemId, lease.Token, workerId, "the item has no payload (the submission stopped before it was stored)");
            return true;
        }

        byte[] result;
        using (var renewing = CancellationTokenSource.CreateLinkedTokenSource(cancel))
        {
            var renew = RenewWhileRunning(job, lease, renewing.Token);
            try { result = await Task.Run(() => handlers[lease.Kind].Run(payload, cancel), cancel); }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                renewing.Cancel();
                await job.Fail(lease.ItemId, lease.Token, workerId, e.Message);
                return true;
            }
            finally { renewing.Cancel(); await renew; }
        }

        while (true)
        {
            try
            {
                var outcome = await job.Complete(lease.ItemId, lease.Token, workerId, result);
                if (outcome == CommitOutcome.Committed) Committed++; else Duplicates++;
                OnDone?.Invoke(jobId, lease, outcome);
                return true;
            }
            catch (Exception e) when (!cancel.IsCancellationRequested)
            {
                log.LogWarning("worker {Worker}: handing back {Job}/{Item} failed ({Error}); retrying", workerId, jobId, lease.ItemId, e.Message);
                await Delay(TimeSpan.FromSeconds(1), cancel);
            }
        }
    }

    async Task RenewWhileRunning(IJobGrain job, Lease lease, CancellationToken stop)
    {
        var every = TimeSpan.FromSeconds(Math.Max(0.05, lease.LeaseSeconds / 3));
        while (!stop.IsCancellationRequested)
        {
            await Delay(every, stop);
            if (stop.IsCancellationRequested) return;
            // A lost lease does not stop the work: the result is still taken if no other worker committed first.
            try { await job.Renew(lease.ItemId, lease.Token); }
            catch (Exception e) { log.LogDebug("worker {Worker}: renew failed: {Error}", workerId, e.Message); }
        }
    }

    static async Task Delay(TimeSpan t, CancellationToken cancel)
    {
        try { await Task.Delay(t, cancel); } catch (OperationCanceledException) { }
    }
}
