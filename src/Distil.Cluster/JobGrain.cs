using Microsoft.Extensions.Logging;

namespace Distil.Cluster;

[GenerateSerializer]
public sealed class JobState
{
    [Id(0)] public JobSpec? Spec { get; set; }
    /// <summary>Per item (in spec order): the worker whose result was committed, or null while pending.</summary>
    [Id(1)] public List<string?> CommittedBy { get; set; } = [];
    [Id(2)] public int Reassigned { get; set; }
    [Id(3)] public int DuplicatesDropped { get; set; }
    [Id(4)] public string? Failure { get; set; }
}

/// <summary>
/// Leases live in memory only: after the grain is reactivated elsewhere (its silo died) every uncommitted item is
/// pending again, and a result from a lease of the old activation is still taken if its item is not committed, since
/// work is pure. Only commits are persisted, one write each, and only after the item's result itself is stored.
/// </summary>
public sealed class JobGrain(
    [PersistentState("job", ClusterHost.Storage)] IPersistentState<JobState> state,
    ILogger<JobGrain> log) : Grain, IJobGrain
{
    sealed record Held(string Worker, long Token, DateTime Deadline, int Attempt);

    readonly Dictionary<int, Held> leases = [];
    readonly Dictionary<string, int> index = new(StringComparer.Ordinal);
    readonly Queue<int> pending = new();
    readonly Dictionary<int, int> failures = [];
    readonly Dictionary<int, int> attempts = [];
    long nextToken = Random.Shared.NextInt64(1, long.MaxValue / 2);

    public override Task OnActivateAsync(CancellationToken cancel)
    {
        if (state.State.Spec != null) Index();
        return Task.CompletedTask;
    }

    void Index()
    {
        var ids = state.State.Spec!.ItemIds;
        for (int i = 0; i < ids.Count; i++)
        {
            index[ids[i]] = i;
            if (state.State.CommittedBy[i] == null) pending.Enqueue(i);
        }
    }

    public async Task<JobProgress> Submit(JobSpec spec)
    {
        if (state.State.Spec is { } existing)
        {
            // Refused in the reply, not thrown: the submitter turns it into a message naming what to do.
            if (existing.Fingerprint != spec.Fingerprint)
                return new JobProgress
                {
                    Refused = $"job '{this.GetPrimaryKeyString()}' exists with other items (fingerprint {existing.Fingerprint[..12]}, " +
                    $"this submission {spec.Fingerprint[..12]}): name the job differently (--job) or resubmit the same items"
                };
            if (state.State.Failure != null)
            {
                // The same job again after it failed (a worker lacked the teacher, a run root was not shared): try again.
                log.LogInformation("job {Job}: resubmitted after it failed ({Failure}); its uncommitted items are tried again", this.GetPrimaryKeyString(), state.State.Failure);
                state.State.Failure = null;
                failures.Clear();
                pending.Clear();
                for (int i = 0; i < state.State.CommittedBy.Count; i++)
                    if (state.State.CommittedBy[i] == null && !leases.ContainsKey(i)) pending.Enqueue(i);
                await Persist();
            }
        }
        else
        {
            if (spec.ItemIds.Count == 0) return new JobProgress { Refused = $"job '{this.GetPrimaryKeyString()}' has no items" };
            if (spec.ItemIds.Distinct(StringComparer.Ordinal).Count() != spec.ItemIds.Count)
                return new JobProgress { Refused = $"job '{this.GetPrimaryKeyString()}': item ids are not unique" };
            state.State.Spec = spec;
            state.State.CommittedBy = [.. spec.ItemIds.Select(_ => (string?)null)];
            await Persist();
            Index();
        }
        if (!Done) await GrainFactory.GetGrain<IJobBoardGrain>(0).Add(this.GetPrimaryKeyString());
        return Progress_();
    }

    bool Done => state.State.Spec != null && state.State.CommittedBy.All(w => w != null);

    public Task<Lease?> Acquire(string worker, string[] kinds)
    {
        var spec = state.State.Spec;
        if (spec == null || state.State.Failure != null || !kinds.Contains(spec.Kind)) return Task.FromResult<Lease?>(null);
        int item = -1;
        // An item in the queue may have been committed meanwhile by a late result of an earlier activation's lease.
        while (pending.Count > 0 && item < 0) { int next = pending.Dequeue(); if (state.State.CommittedBy[next] == null) item = next; }
        if (item < 0)
        {
            var now = DateTime.UtcNow;
            var expired = leases.Where(l => l.Value.Deadline < now).Select(l => l.Key).Order().Take(1).ToList();
            if (expired.Count == 0) return Task.FromResult<Lease?>(null);
            item = expired[0];
            log.LogInformation("job {Job}: lease of item {Item} held by {Worker} expired; it goes to {Other}",
                this.GetPrimaryKeyString(), spec.ItemIds[item], leases[item].Worker, worker);
            state.State.Reassigned++;
        }
        int attempt = attempts.GetValueOrDefault(item);
        attempts[item] = attempt + 1;
        var held = new Held(worker, nextToken++, DateTime.UtcNow.AddSeconds(spec.LeaseSeconds), attempt);
        leases[item] = held;
        return Task.FromResult<Lease?>(new Lease { ItemId = spec.ItemIds[item], Kind = spec.Kind, Token = held.Token, LeaseSeconds = spec.LeaseSeconds, Attempt = attempt });
    }

    public Task<bool> Renew(string itemId, long token)
    {
        if (!index.TryGetValue(itemId, out int item) || !leases.TryGetValue(item, out var held) || held.Token != token) return Task.FromResult(false);
        leases[item] = held with { Deadline = DateTime.UtcNow.AddSeconds(state.State.Spec!.LeaseSeconds) };
        return Task.FromResult(true);
    }

    public async Task<CommitOutcome> Complete(string itemId, long token, string worker, byte[] result)
    {
        int item = Item(itemId);
        if (state.State.CommittedBy[item] != null)
        {
            state.State.DuplicatesDropped++;
            return CommitOutcome.Duplicate;
        }
        // The item grain is the one place the result lives; its first commit wins (a commit that reached it before
        // this grain's previous activation could persist is found there, and this one is then the duplicate).
        var (first, by) = await GrainFactory.GetGrain<IWorkItemGrain>(ItemKey(this.GetPrimaryKeyString(), itemId)).Commit(result, worker);
        state.State.CommittedBy[item] = by;
        if (!first) state.State.DuplicatesDropped++;
        leases.Remove(item);
        await Persist();
        if (Done) await GrainFactory.GetGrain<IJobBoardGrain>(0).Remove(this.GetPrimaryKeyString());
        return first ? CommitOutcome.Committed : CommitOutcome.Duplicate;
    }

    public async Task Fail(string itemId, long token, string worker, string message)
    {
        int item = Item(itemId);
        if (state.State.CommittedBy[item] != null || !leases.TryGetValue(item, out var held) || held.Token != token) return;
        leases.Remove(item);
        int n = failures[item] = failures.GetValueOrDefault(item) + 1;
        log.LogWarning("job {Job}: item {Item} failed on {Worker} ({N} of 3): {Message}", this.GetPrimaryKeyString(), itemId, worker, n, message);
        if (n < 3) { pending.Enqueue(item); return; }
        state.State.Failure = $"item {itemId} failed 3 times; last on {worker}: {message}";
        await Persist();
        await GrainFactory.GetGrain<IJobBoardGrain>(0).Remove(this.GetPrimaryKeyString());
    }

    public Task<JobProgress> Progress() => Task.FromResult(Progress_());

    JobProgress Progress_() => new()
    {
        Submitted = state.State.Spec != null,
        Total = state.State.CommittedBy.Count,
        Committed = state.State.CommittedBy.Count(w => w != null),
        Leased = leases.Count,
        Reassigned = state.State.Reassigned,
        DuplicatesDropped = state.State.DuplicatesDropped,
        CommittedBy = state.State.CommittedBy.Where(w => w != null).GroupBy(w => w!).ToDictionary(g => g.Key, g => g.Count()),
        Failure = state.State.Failure,
    };

    int Item(string itemId) => index.TryGetValue(itemId, out int i) ? i
        : throw new ArgumentException($"job '{this.GetPrimaryKeyString()}' has no item '{itemId}'", nameof(itemId));

    async Task Persist()
    {
        try { await state.WriteStateAsync(); }
        catch
        {
            // Storage down (Redis stopped) or a stale etag: start again from what storage holds; the caller retries.
            DeactivateOnIdle();
            throw;
        }
    }

    public static string ItemKey(string jobId, string itemId) => jobId + "/" + itemId;
}
