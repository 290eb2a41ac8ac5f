namespace Distil.Data;

/// <summary>
/// TSV (GLUE style: split on tabs, no quoting, as HF's GLUE processors read them) and CSV (RFC 4180) files.
/// Every row must have as many columns as the header (or the first row, without a header).
/// </summary>
static class TabularReader
{
    public static DatasetFile Read(string path, DataFormat format, ColumnMapping columns, bool hasHeader, bool skipBadRows)
    {
        var lines = Utf8Lines.Read(path);
        var records = format == DataFormat.Csv
            ? CsvRecords.Parse(lines)
            : lines.Select(l => new RawRecord(l.Line, l.Text.Split('\t'), null));

        var sink = new RowSink(path, skipBadRows);
        int[]? idx = null; // text, pair, label, domain (-1 = unused)
        ResolvedNames? names = null;
        int width = 0;
        bool sawHeader = false;
        foreach (var r in records)
        {
            if (r.Fields is [var only] && string.IsNullOrWhiteSpace(only)) continue; // blank line
            if (idx == null)
            {
                if (r.Error != null) throw DistilException.BadInput($"{path}:{r.Line}: {(hasHeader ? "header" : "first row")}: {r.Error}; fix the file");
                width = r.Fields!.Length;
                string[]? header = hasHeader ? r.Fields.Select(f => f.Trim()).ToArray() : null;
                (idx, names) = Resolve(path, columns, header, width);
                if (hasHeader) { sawHeader = true; continue; }
            }
            if (r.Error != null) { sink.Bad(r.Line, r.Error); continue; }
            var f = r.Fields!;
            if (f.Length != width)
            {
                sink.Bad(r.Line, $"has {f.Length} columns, expected {width}" + (format == DataFormat.Tsv ? " (a tab inside a text, or a missing field?)" : ""));
                continue;
            }
            string? Get(int i) => i < 0 ? null : f[i];
            sink.Add(r.Line, Get(idx[0]), Get(idx[1]), Get(idx[2]), Get(idx[3]), names!);
        }
        return sink.Finish(sawHeader);
    }

    internal static (int[], ResolvedNames) Resolve(string path, ColumnMapping m, string[]? header, int width)
    {
        string Describe(int i) => header != null ? $"'{header[i]}'" : $"#{i}";
        int Find(Column? given, string[] defaults, int headerless, string role, bool required)
        {
            if (given is { } c)
            {
                if (c.Index is int i)
                    return i < width ? i : throw DistilException.Usage($"{path}: the {role} column #{i} does not exist; the file has {width} columns (0..{width - 1})");
                if (header == null) throw DistilException.Usage($"{path}: the {role} column {c} is given by name but the file has no header; give its 0-based index");
                int j = Array.FindIndex(header, h => string.Equals(h, c.Name, StringComparison.OrdinalIgnoreCase));
                return j >= 0 ? j : throw DistilException.Usage($"{path}: no {role} column {c}; the header has {string.Join(", ", header)}");
            }
            if (header == null) return headerless < width ? headerless : -1;
            foreach (var name in defaults)
            {
                int j = Array.FindIndex(header, h => string.Equals(h, name, StringComparison.OrdinalIgnoreCase));
                if (j >= 0) return j;
            }
            if (required)
                throw DistilException.Usage($"{path}: cannot tell which column holds the {role} (looked for {string.Join(", ", defaults)}); the header has {string.Join(", ", header)}; name it with --{role.Replace(' ', '-')}-column");
            return -1;
        }
        int text = Find(m.Text, ColumnMapping.TextNames, 0, "text", required: true);
        int pair = Find(m.TextPair, ColumnMapping.TextPairNames, -1, "text pair", required: false);
        int label = Find(m.Label, ColumnMapping.LabelNames, 1, "label", required: false);
        int domain = Find(m.Domain, ColumnMapping.DomainNames, -1, "domain", required: false);
        string? Name(int i) => i < 0 ? null : Describe(i);
        return (new[] { text, pair, label, domain }, new ResolvedNames(Describe(text), Name(pair), Name(label), Name(domain)));
    }
}
