namespace Distil.Cluster;

/// <summary>What a job is: a kind of work, its items (payloads live in the items' own grains) and the lease length.</summary>
[GenerateSerializer]
public sealed class JobSpec
{
    [Id(0)] public string Kind { get; set; } = "";
    [Id(1)] public List<string> ItemIds { get; set; } = [];
    [Id(2)] public double LeaseSeconds { get; set; } = 30;
    /// <summary>SHA-256 of kind, ids and payloads: a resubmission must name the same job, not a changed one.</summary>
    [Id(3)] public string Fingerprint { get; set; } = "";
}

/// <summary>One item leased to one worker until <see cref="LeaseSeconds"/> pass without a renewal.</summary>
[GenerateSerializer]
public sealed class Lease
{
    [Id(0)] public string ItemId { get; set; } = "";
    [Id(1)] public string Kind { get; set; } = "";
    [Id(2)] public long Token { get; set; }
    [Id(3)] public double LeaseSeconds { get; set; }
    /// <summary>How many leases of this item came before this one in the job grain's current activation.</summary>
    [Id(4)] public int Attempt { get; set; }
}

public enum CommitOutcome { Committed, Duplicate }

[GenerateSerializer]
public sealed class JobProgress
{
    [Id(0)] public int Total { get; set; }
    [Id(1)] public int Committed { get; set; }
    [Id(2)] public int Leased { get; set; }
    /// <summary>Leases that expired (the worker died or stalled) and whose item went to another worker.</summary>
    [Id(3)] public int Reassigned { get; set; }
    /// <summary>Results that arrived for an item already committed, and were dropped.</summary>
    [Id(4)] public int DuplicatesDropped { get; set; }
    /// <summary>Items committed by each worker.</summary>
    [Id(5)] public Dictionary<string, int> CommittedBy { get; set; } = [];
    [Id(6)] public string? Failure { get; set; }
    [Id(7)] public bool Submitted { get; set; }
    /// <summary>Why a submission was refused (another job under the same id, no items); null when it was taken.</summary>
    [Id(8)] public string? Refused { get; set; }

    public bool Done => Submitted && Committed == Total;
}
