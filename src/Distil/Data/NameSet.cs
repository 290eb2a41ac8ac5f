using System.Globalization;

namespace Distil.Data;

/// <summary>An ordered list of distinct names with their ids: the shared part of <see cref="LabelSet"/> and <see cref="DomainSet"/>.</summary>
public abstract class NameSet
{
    readonly string[] _names;
    readonly Dictionary<string, int> _ids;

    protected NameSet(IEnumerable<string> names, string what)
    {
        _names = names.ToArray();
        _ids = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < _names.Length; i++)
            if (!_ids.TryAdd(_names[i], i)) throw DistilException.BadInput($"the {what} '{_names[i]}' is listed twice; {what}s must be distinct");
    }

    public IReadOnlyList<string> Names => _names;
    public int Count => _names.Length;
    public string NameOf(int id) => _names[id];
    public bool Contains(string name) => _ids.ContainsKey(name);
    public bool TryId(string name, out int id) => _ids.TryGetValue(name, out id);

    /// <summary>
    /// Sorted distinct values: numerically if all are numbers ("2" before "10", so "0","1" get ids 0,1), else ordinal.
    /// </summary>
    protected static IEnumerable<string> Sorted(IEnumerable<string> values)
    {
        var distinct = values.Distinct(StringComparer.Ordinal).ToList();
        bool numeric = distinct.All(v => double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out _));
        return numeric
            ? distinct.OrderBy(v => double.Parse(v, NumberStyles.Float, CultureInfo.InvariantCulture)).ThenBy(v => v, StringComparer.Ordinal)
            : distinct.OrderBy(v => v, StringComparer.Ordinal);
    }

    protected string Known => string.Join(", ", _names);
}
