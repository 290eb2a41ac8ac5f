namespace Distil.Data;

/// <summary>Collects the examples of one file and handles malformed rows: throw, or skip and remember the first few reasons.</summary>
sealed class RowSink(string path, bool skipBadRows)
{
    public const int MaxReasons = 5;
    readonly List<Example> _examples = new();
    readonly List<string> _reasons = new();
    int _skipped, _rows;

    public string Path => path;

    public void Bad(int line, string what)
    {
        _rows++;
        var where = $"{path}:{line}: {what}";
        if (!skipBadRows) throw DistilException.BadInput($"{where}; fix the row or pass --skip-bad-rows");
        _skipped++;
        if (_reasons.Count < MaxReasons) _reasons.Add(where);
    }

    /// <summary>Checks the values of one row and adds it; <paramref name="columns"/> names the columns for messages.</summary>
    public void Add(int line, string? text, string? pair, string? label, string? domain, ResolvedNames columns)
    {
        if (string.IsNullOrWhiteSpace(text)) { Bad(line, $"{(text == null ? "missing" : "empty")} text (column {columns.Text})"); return; }
        if (columns.TextPair != null && string.IsNullOrWhiteSpace(pair)) { Bad(line, $"{(pair == null ? "missing" : "empty")} text pair (column {columns.TextPair})"); return; }
        if (columns.Label != null && string.IsNullOrWhiteSpace(label)) { Bad(line, $"{(label == null ? "missing" : "empty")} label (column {columns.Label})"); return; }
        if (columns.Domain != null && string.IsNullOrWhiteSpace(domain)) { Bad(line, $"{(domain == null ? "missing" : "empty")} domain (column {columns.Domain})"); return; }
        _rows++;
        _examples.Add(new Example(text, columns.TextPair == null ? null : pair, label?.Trim(), domain?.Trim(), $"{path}:{line}"));
    }

    public DatasetFile Finish(bool sawHeader)
    {
        if (_rows == 0)
            throw DistilException.BadInput(sawHeader
                ? $"{path}: only a header, no data rows; add rows or pick another file"
                : $"{path}: the file is empty; a data file needs {(path.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase) ? "one JSON object per line" : "a header line and data rows")}");
        if (_examples.Count == 0)
            throw DistilException.BadInput($"{path}: no usable rows: all {_skipped} rows were skipped (first: {_reasons[0]})");
        return new DatasetFile(path, _examples, _skipped, _reasons);
    }
}

/// <summary>Column names for messages ("'label'" or "#1"); null = the column is not used.</summary>
sealed record ResolvedNames(string Text, string? TextPair, string? Label, string? Domain);
