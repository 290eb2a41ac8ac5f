using System.Globalization;

namespace Distil.Data;

/// <summary>A column of a data file, by header name or by 0-based index (files without a header need indices).</summary>
public readonly record struct Column
{
    public string? Name { get; }
    public int? Index { get; }

    Column(string? name, int? index) { Name = name; Index = index; }

    public static Column Named(string name) => new(name, null);
    public static Column At(int index) =>
        index >= 0 ? new(null, index) : throw new ArgumentOutOfRangeException(nameof(index), "column indices start at 0");

    /// <summary>From a command-line value: a non-negative integer is an index, anything else a name.</summary>
    public static Column Parse(string value) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var i) ? At(i) : Named(value);

    public override string ToString() => Name != null ? $"'{Name}'" : $"#{Index}";
}
