using System.Text.Json;

namespace Distil.Data;

/// <summary>JSON Lines: one object per line; fields by name (defaults taken from the first object's keys).</summary>
static class JsonlReader
{
    public static DatasetFile Read(string path, ColumnMapping m, bool skipBadRows)
    {
        var sink = new RowSink(path, skipBadRows);
        ResolvedNames? names = null;
        foreach (var (line, text) in Utf8Lines.Read(path))
        {
            if (string.IsNullOrWhiteSpace(text)) continue;
            JsonDocument doc;
            try { doc = JsonDocument.Parse(text); }
            catch (JsonException e) { sink.Bad(line, $"not valid JSON ({e.Message})"); continue; }
            using (doc)
            {
                var o = doc.RootElement;
                if (o.ValueKind != JsonValueKind.Object) { sink.Bad(line, $"expected a JSON object, found {o.ValueKind.ToString().ToLowerInvariant()}"); continue; }
                names ??= Resolve(path, m, o);
                string? bad = null;
                string? Get(string? name, bool list = false)
                {
                    if (name == null || bad != null || !o.TryGetProperty(name, out var v)) return null;
                    switch (v.ValueKind)
                    {
                        case JsonValueKind.String: return v.GetString();
                        case JsonValueKind.Number: return v.GetRawText();
                        case JsonValueKind.True: return "true";
                        case JsonValueKind.False: return "false";
                        case JsonValueKind.Null: return null;
                        // In the label field, a list of strings (a multi-label column) reads as its items joined by '|' (MultiLabelSeparator);
                        // an empty list as '|' alone, the written form of "no labels" (an empty cell is a missing label).
                        case JsonValueKind.Array when list && v.EnumerateArray().All(x => x.ValueKind == JsonValueKind.String):
                            return v.GetArrayLength() == 0 ? TaskDataKinds.MultiLabelSeparator : string.Join(TaskDataKinds.MultiLabelSeparator, v.EnumerateArray().Select(x => x.GetString()));
                        default: bad = $"field '{name}' is {v.ValueKind.ToString().ToLowerInvariant()}, expected a string or number{(list ? " (or a list of strings)" : "")}"; return null;
                    }
                }
                string? t = Get(names.Text), p = Get(names.TextPair), l = Get(names.Label, list: true), d = Get(names.Domain);
                if (bad != null) { sink.Bad(line, bad); continue; }
                sink.Add(line, t, p, l, d, Quoted(names));
            }
        }
        return sink.Finish(sawHeader: false);
    }

    static ResolvedNames Quoted(ResolvedNames n) =>
        new($"'{n.Text}'", n.TextPair == null ? null : $"'{n.TextPair}'", n.Label == null ? null : $"'{n.Label}'", n.Domain == null ? null : $"'{n.Domain}'");

    // Unquoted names here: they are the JSON keys.
    internal static ResolvedNames Resolve(string path, ColumnMapping m, JsonElement first)
    {
        var keys = first.EnumerateObject().Select(p => p.Name).ToArray();
        string? Find(Column? given, string[] defaults, string role, bool required)
        {
            if (given is { } c)
                return c.Name ?? throw DistilException.Usage($"{path}: JSONL fields are named, not numbered; give the {role} column by name (the first object has {string.Join(", ", keys)})");
            var hit = defaults.FirstOrDefault(d => keys.Contains(d));
            if (hit == null && required)
                throw DistilException.Usage($"{path}: cannot tell which field holds the {role} (looked for {string.Join(", ", defaults)}); the first object has {string.Join(", ", keys)}; name it with --{role.Replace(' ', '-')}-column");
            return hit;
        }
        return new ResolvedNames(
            Find(m.Text, ColumnMapping.TextNames, "text", true)!,
            Find(m.TextPair, ColumnMapping.TextPairNames, "text pair", false),
            Find(m.Label, ColumnMapping.LabelNames, "label", false),
            Find(m.Domain, ColumnMapping.DomainNames, "domain", false));
    }
}
