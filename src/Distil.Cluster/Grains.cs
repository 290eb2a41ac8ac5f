namespace Distil.Cluster;

/// <summary>
/// A job (key: its id): leases its items to workers, takes each item's result exactly once. Its commits are persisted,
/// so the submitting process, or the silo the grain lived on, may die and the job goes on where it was.
/// </summary>
public interface IJobGrain : IGrainWithStringKey
{
    /// <summary>Starts the job, or attaches to it when it exists; refuses a different job under the same id.</summary>
    Task<JobProgress> Submit(JobSpec spec);

    /// <summary>The next item for <paramref name="worker"/>: a pending one, else one whose lease expired; null if none.</summary>
    Task<Lease?> Acquire(string worker, string[] kinds);

    /// <summary>Extends a lease; false when the lease is no longer this worker's (it expired and went to another).</summary>
    Task<bool> Renew(string itemId, long token);

    /// <summary>Commits the item's result unless it is committed already (then the result is dropped).</summary>
    Task<CommitOutcome> Complete(string itemId, long token, string worker, byte[] result);

    /// <summary>The handler threw: the item goes back; after three failures the job fails with the message.</summary>
    Task Fail(string itemId, long token, string worker, string message);

    Task<JobProgress> Progress();
}

/// <summary>One item of a job (key: "job/item"): its payload, and its result once committed.</summary>
public interface IWorkItemGrain : IGrainWithStringKey
{
    /// <summary>Stores the payload; a second call with the same bytes does nothing; with other bytes it is refused (false).</summary>
    Task<bool> Put(byte[] payload);
    Task<byte[]?> Payload();
    /// <summary>First: true for the first result, false (and the result dropped) for any later one; By: whose result stands.</summary>
    Task<(bool First, string By)> Commit(byte[] result, string worker);
    Task<byte[]?> Result();
}

/// <summary>The jobs that have work left (key: 0): where a worker, also one that joins mid-job, finds work.</summary>
public interface IJobBoardGrain : IGrainWithIntegerKey
{
    Task Add(string jobId);
    Task Remove(string jobId);
    Task<string[]> Active();
}
