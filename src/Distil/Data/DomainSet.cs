namespace Distil.Data;

/// <summary>
/// The domains of a data set (e.g. amazon/imdb/yelp, or MNLI genres) for per-domain metrics; sorted by name.
/// An empty set means "no domain column": every row gets domain id -1.
/// </summary>
public sealed class DomainSet : NameSet
{
    public const int None = -1;

    DomainSet(IEnumerable<string> names) : base(names, "domain") { }

    public static readonly DomainSet Empty = new(Array.Empty<string>());

    /// <summary>Domains of all given rows (pass train and dev together when dev has extra domains); empty if no row has one.</summary>
    public static DomainSet FromExamples(IEnumerable<Example> examples) =>
        new(Sorted(examples.Where(e => e.Domain != null).Select(e => e.Domain!)));

    public static DomainSet FromNames(IEnumerable<string> names) => new(names);

    public int IdOf(string? domain, string source)
    {
        if (Count == 0) return None;
        if (domain == null) throw DistilException.BadInput($"{source}: the row has no domain, but the data set has domains ({Known}); give every file the domain column");
        if (TryId(domain, out var id)) return id;
        throw DistilException.BadInput($"{source}: unknown domain '{domain}'; known domains are {Known}; build the domain set from all files that are used together");
    }
}
