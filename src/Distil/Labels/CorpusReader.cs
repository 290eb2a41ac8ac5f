using System.Text.Json;
using Distil.Data;

namespace Distil.Labels;

/// <summary>Rows read and rows skipped so far; the first few reasons, as file:line.</summary>
public sealed class CorpusCounts
{
    public long Rows { get; internal set; }
    public long Bad { get; internal set; }
    /// <summary>Rows skipped because the store already holds them or the corpus had them earlier.</summary>
    public long Duplicates { get; internal set; }
    public List<string> BadReasons { get; } = [];
}

/// <summary>
/// Streams a corpus one row at a time (never the whole file in memory): a .txt file is a sentence per line; TSV, CSV
/// and JSONL files have a header (or first object) naming a text column and optionally a text-pair column, found as
/// the training readers find them (<see cref="ColumnMapping"/>). Labels in the file are never read. A bad row is a
/// file:line error, or with skip-bad-rows counted in <see cref="CorpusCounts"/>; a corpus without one usable row is
/// an error at its end.
/// </summary>
public static class CorpusReader
{
    public static IEnumerable<LabelRow> Read(string path, ColumnMapping? columns, DataFormat? format, bool skipBadRows, CorpusCounts counts)
    {
        if (!File.Exists(path)) throw DistilException.NotFound($"{path}: corpus not found; check --data");
        columns ??= ColumnMapping.Default;
        var rows = Path.GetExtension(path).Equals(".txt", StringComparison.OrdinalIgnoreCase) && format == null
            ? Lines(path)
            : (format ?? DataFormats.FromPath(path)) is DataFormat.Jsonl ? Jsonl(path, columns) : Tabular(path, format ?? DataFormats.FromPath(path), columns);
        foreach (var (line, text, pair, error) in rows)
        {
            if (error == null && string.IsNullOrWhiteSpace(text)) continue; // blank lines are not rows
            if (error != null)
            {
                string where = $"{path}:{line}: {error}";
                if (!skipBadRows) throw DistilException.BadInput($"{where}; fix the row or pass --skip-bad-rows");
                counts.Bad++;
                if (counts.BadReasons.Count < 5) counts.BadReasons.Add(where);
                continue;
            }
            counts.Rows++;
            yield return new LabelRow(text!.Trim(), pair?.Trim(), $"{path}:{line}");
        }
        if (counts.Rows == 0)
            throw DistilException.BadInput(counts.Bad > 0
                ? $"{path}: no usable rows: all {counts.Bad} rows are bad (first: {counts.BadReasons[0]})"
                : $"{path}: the corpus is empty; give a file with a sentence per line (.txt) or a text column (TSV/CSV/JSONL)");
    }

    static IEnumerable<(int, string?, string?, string?)> Lines(string path)
    {
        foreach (var (line, text) in Utf8Lines.Read(path)) yield return (line, text, null, null);
    }

    static IEnumerable<(int, string?, string?, string?)> Tabular(string path, DataFormat format, ColumnMapping columns)
    {
        var lines = Utf8Lines.Read(path);
        var records = format == DataFormat.Csv ? CsvRecords.Parse(lines) : lines.Select(l => new RawRecord(l.Line, l.Text.Split('\t'), null));
        int[]? idx = null;
        ResolvedNames? names = null;
        int width = 0;
        foreach (var r in records)
        {
            if (r.Fields is [var only] && string.IsNullOrWhiteSpace(only)) continue;
            if (idx == null)
            {
                if (r.Error != null) throw DistilException.BadInput($"{path}:{r.Line}: header: {r.Error}; fix the file");
                width = r.Fields!.Length;
                (idx, names) = TabularReader.Resolve(path, columns, r.Fields.Select(f => f.Trim()).ToArray(), width);
                continue;
            }
            if (r.Error != null) { yield return (r.Line, null, null, r.Error); continue; }
            var f = r.Fields!;
            if (f.Length != width) { yield return (r.Line, null, null, $"has {f.Length} columns, expected {width}" + (format == DataFormat.Tsv ? " (a tab inside a text, or a missing field?)" : "")); continue; }
            yield return Check(r.Line, f[idx[0]], idx[1] < 0 ? null : f[idx[1]], names!);
        }
    }

    static IEnumerable<(int, string?, string?, string?)> Jsonl(string path, ColumnMapping columns)
    {
        ResolvedNames? names = null;
        foreach (var (line, text) in Utf8Lines.Read(path))
        {
            if (string.IsNullOrWhiteSpace(text)) continue;
            JsonDocument? doc = null;
            string? parseError = null;
            try { doc = JsonDocument.Parse(text); }
            catch (JsonException e) { parseError = $"not valid JSON ({e.Message})"; }
            if (doc == null) { yield return (line, null, null, parseError); continue; }
            using (doc)
            {
                var o = doc.RootElement;
                if (o.ValueKind != JsonValueKind.Object) { yield return (line, null, null, $"expected a JSON object, found {o.ValueKind.ToString().ToLowerInvariant()}"); continue; }
                names ??= JsonlReader.Resolve(path, columns, o);
                string? Get(string? name) => name != null && o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
                yield return Check(line, Get(names.Text), Get(names.TextPair), names);
            }
        }
    }

    static (int, string?, string?, string?) Check(int line, string? text, string? pair, ResolvedNames names)
    {
        if (string.IsNullOrWhiteSpace(text)) return (line, null, null, $"{(text == null ? "missing" : "empty")} text (column {names.Text})");
        if (names.TextPair != null && string.IsNullOrWhiteSpace(pair)) return (line, null, null, $"{(pair == null ? "missing" : "empty")} text pair (column {names.TextPair})");
        return (line, text, names.TextPair == null ? null : pair, null);
    }
}
