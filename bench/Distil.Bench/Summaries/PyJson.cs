using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Distil.Bench.Summaries;

/// <summary>
/// JSON written as Python's json.dump(obj, indent=N[, ensure_ascii=False]) writes it, so the summaries' .json files
/// stay byte-identical to the ones the Python scripts wrote: ", " / ": " separators, floats as repr (1e-05, 2.0),
/// ints as digits, NaN / Infinity literals, non-ASCII escaped as \uXXXX unless asked not to, no final newline.
/// A number copied from a run's file keeps Python's reading of its text: digits only = an int, anything else a float.
/// </summary>
public static class PyJson
{
    /// <summary>A float as Python holds it (written with repr).</summary>
    public static JsonNode Float(double x) => JsonValue.Create(x);

    /// <summary>An int as Python holds it.</summary>
    public static JsonNode Int(long x) => JsonValue.Create(x);

    /// <summary>A number from a file C# wrote: an int in Python when it has no fraction (see <see cref="Py.ReadsAsInt"/>).</summary>
    public static JsonNode Read(double x) => Py.ReadsAsInt(x) ? Int((long)x) : Float(x);

    /// <summary>A mean as statistics.mean returns it (an int only when every input is one and it divides).</summary>
    public static JsonNode Of((double Value, bool IsInt) mean) => mean.IsInt ? Int((long)mean.Value) : Float(mean.Value);

    public static JsonArray Array(IEnumerable<JsonNode?> items) => new(items.ToArray());

    public static string Write(JsonNode? node, int indent, bool ensureAscii = true)
    {
        var sb = new StringBuilder();
        Write(sb, node, indent, 0, ensureAscii);
        return sb.ToString();
    }

    static void Write(StringBuilder sb, JsonNode? node, int indent, int level, bool ascii)
    {
        switch (node)
        {
            case null: sb.Append("null"); break;
            case JsonObject o:
                if (o.Count == 0) { sb.Append("{}"); break; }
                sb.Append('{');
                bool first = true;
                foreach (var (k, v) in o)
                {
                    sb.Append(first ? "\n" : ",\n").Append(' ', indent * (level + 1));
                    first = false;
                    String(sb, k, ascii);
                    sb.Append(": ");
                    Write(sb, v, indent, level + 1, ascii);
                }
                sb.Append('\n').Append(' ', indent * level).Append('}');
                break;
            case JsonArray a:
                if (a.Count == 0) { sb.Append("[]"); break; }
                sb.Append('[');
                for (int i = 0; i < a.Count; i++)
                {
                    sb.Append(i == 0 ? "\n" : ",\n").Append(' ', indent * (level + 1));
                    Write(sb, a[i], indent, level + 1, ascii);
                }
                sb.Append('\n').Append(' ', indent * level).Append(']');
                break;
            case JsonValue v: Value(sb, v, ascii); break;
        }
    }

    static void Value(StringBuilder sb, JsonValue v, bool ascii)
    {
        if (v.TryGetValue(out JsonElement e))
        {
            switch (e.ValueKind)
            {
                case JsonValueKind.String: String(sb, e.GetString()!, ascii); return;
                case JsonValueKind.True: sb.Append("true"); return;
                case JsonValueKind.False: sb.Append("false"); return;
                case JsonValueKind.Null: sb.Append("null"); return;
                case JsonValueKind.Number:
                    string raw = e.GetRawText();
                    if (raw.All(c => char.IsAsciiDigit(c) || c == '-'))
                        sb.Append(System.Numerics.BigInteger.Parse(raw, CultureInfo.InvariantCulture).ToString(CultureInfo.InvariantCulture));
                    else Float(sb, double.Parse(raw, CultureInfo.InvariantCulture));
                    return;
                default: throw new InvalidOperationException($"unexpected JSON value {e.ValueKind}");
            }
        }
        if (v.TryGetValue(out double d)) { Float(sb, d); return; }
        if (v.TryGetValue(out long l)) { sb.Append(l.ToString(CultureInfo.InvariantCulture)); return; }
        if (v.TryGetValue(out int i)) { sb.Append(i.ToString(CultureInfo.InvariantCulture)); return; }
        if (v.TryGetValue(out bool b)) { sb.Append(b ? "true" : "false"); return; }
        if (v.TryGetValue(out string? s)) { String(sb, s, ascii); return; }
        throw new InvalidOperationException($"unexpected value {v}");
    }

    static void Float(StringBuilder sb, double d) => sb.Append(double.IsNaN(d) ? "NaN" : double.IsPositiveInfinity(d) ? "Infinity" : double.IsNegativeInfinity(d) ? "-Infinity" : Py.Repr(d));

    static void String(StringBuilder sb, string s, bool ascii)
    {
        sb.Append('"');
        foreach (char c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                default:
                    if (c < 0x20 || (ascii && c > 0x7e)) sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    else sb.Append(c);
                    break;
            }
        }
        sb.Append('"');
    }

    /// <summary>A file's JSON with its numbers' text kept (for verbatim copies into a summary).</summary>
    public static JsonNode Load(string path) => JsonNode.Parse(File.ReadAllText(path), documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip })!;
}
