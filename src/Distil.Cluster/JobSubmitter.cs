using System.Security.Cryptography;
using System.Text;

namespace Distil.Cluster;

/// <summary>
/// The submitting side: stores the items' payloads, starts (or re-attaches to) the job, waits and reports progress,
/// then reads the committed results back in item order. Killing the submitter loses nothing: the same call again
/// finds the job by its id and waits for what is left.
/// </summary>
public static class JobSubmitter
{
    public static string Fingerprint(string kind, IReadOnlyList<(string Id, byte[] Payload)> items)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData(Encoding.UTF8.GetBytes(kind + "\n"));
        foreach (var (id, payload) in items)
        {
            sha.AppendData(Encoding.UTF8.GetBytes(id + "\n"));
            sha.AppendData(BitConverter.GetBytes((long)payload.Length));
            sha.AppendData(payload);
        }
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    /// <summary>The default job id: the kind and the fingerprint's start, so that the same job resubmitted is found again.</summary>
    public static string DefaultJobId(string kind, string fingerprint) => kind.Replace('/', '-') + "-" + fingerprint[..16];

    public static async Task<(byte[][] Results, JobProgress Final)> RunAsync(IGrainFactory grains, string jobId, string kind,
        IReadOnlyList<(string Id, byte[] Payload)> items, double leaseSeconds, Action<JobProgress>? progress, CancellationToken cancel,
        TimeSpan? poll = null)
    {
        if (items.Count == 0) throw DistilException.BadInput($"job '{jobId}' has no items");
        string fingerprint = Fingerprint(kind, items);
        var job = grains.GetGrain<IJobGrain>(jobId);
        var current = await job.Progress();
        if (!current.Submitted)
        {
            // Payloads first, so that no worker leases an item whose payload is not stored yet.
            await Parallel.ForEachAsync(items, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancel }, async (item, _) =>
            {
                if (!await grains.GetGrain<IWorkItemGrain>(JobGrain.ItemKey(jobId, item.Id)).Put(item.Payload))
                    throw DistilException.BadInput($"job '{jobId}' holds item '{item.Id}' with another payload: name the job differently (--job)");
            });
        }
        var spec = new JobSpec { Kind = kind, ItemIds = [.. items.Select(i => i.Id)], LeaseSeconds = leaseSeconds, Fingerprint = fingerprint };
        current = await Retry(() => job.Submit(spec), cancel);
        if (current.Refused != null) throw DistilException.BadInput(current.Refused);

        while (!current.Done)
        {
            if (current.Failure != null) throw DistilException.BadInput($"job '{jobId}' failed: {current.Failure}");
            progress?.Invoke(current);
            await Task.Delay(poll ?? TimeSpan.FromMilliseconds(500), cancel);
            current = await Retry(() => job.Progress(), cancel);
        }
        progress?.Invoke(current);

        var results = new byte[items.Count][];
        await Parallel.ForAsync(0, items.Count, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancel }, async (i, _) =>
            results[i] = await Retry(() => grains.GetGrain<IWorkItemGrain>(JobGrain.ItemKey(jobId, items[i].Id)).Result(), cancel)
                ?? throw new InvalidOperationException($"job '{jobId}': item '{items[i].Id}' is marked committed but has no result"));
        return (results, current);
    }

    /// <summary>One line on how a job went: commits, reassignments, dropped duplicates, and each worker's commits.</summary>
    public static string Summary(string jobId, JobProgress p) =>
        $"job {jobId}: committed {p.Committed} of {p.Total}, reassigned {p.Reassigned}, duplicates dropped {p.DuplicatesDropped}, by worker " +
        string.Join(" ", p.CommittedBy.OrderBy(k => k.Key, StringComparer.Ordinal).Select(k => $"{k.Key}={k.Value}"));

    /// <summary>Rides out a worker dying or Redis stopping for a while: the cluster call is tried again for up to two minutes.</summary>
    static async Task<T> Retry<T>(Func<Task<T>> call, CancellationToken cancel)
    {
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (true)
        {
            try { return await call(); }
            catch (Exception e) when (e is not DistilException && e is not OperationCanceledException && DateTime.UtcNow < deadline)
            {
                await Task.Delay(TimeSpan.FromSeconds(1), cancel);
            }
        }
    }
}
