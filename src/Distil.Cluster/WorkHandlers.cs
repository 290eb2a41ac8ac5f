namespace Distil.Cluster;

/// <summary>
/// One kind of work a worker can do: a pure function from an item's payload to its result. Pure, so that a second
/// run of an item (after its worker died, or a late duplicate) gives the same bytes and the first commit can stand.
/// </summary>
public interface IWorkHandler
{
    /// <summary>The name a job is submitted under (e.g. "digest", "label").</summary>
    string Kind { get; }

    byte[] Run(byte[] payload, CancellationToken cancel);
}

/// <summary>The handlers a worker process knows, by kind. A worker only takes items of a kind it has.</summary>
public sealed class WorkHandlers
{
    readonly Dictionary<string, IWorkHandler> byKind = new(StringComparer.Ordinal);

    public WorkHandlers(IEnumerable<IWorkHandler> handlers)
    {
        foreach (var h in handlers) byKind[h.Kind] = h;
    }

    public string[] Kinds => [.. byKind.Keys.Order(StringComparer.Ordinal)];

    public IWorkHandler this[string kind] => byKind.TryGetValue(kind, out var h) ? h
        : throw DistilException.BadInput($"this worker has no handler for work of kind '{kind}' (it knows: {string.Join(", ", Kinds)})");

    /// <summary>The single-machine run of a job: the truth a cluster run must equal byte for byte.</summary>
    public static byte[][] RunLocally(IWorkHandler handler, IReadOnlyList<byte[]> payloads, CancellationToken cancel = default) =>
        [.. payloads.Select(p => handler.Run(p, cancel))];
}
