using System.Text.Json;

namespace Distil.Data;

/// <summary>One tagged sentence: words, one tag per word, and where it starts (file:line) for messages.</summary>
public sealed record TaggedSentence(IReadOnlyList<string> Words, IReadOnlyList<string> Tags, string Source);

/// <summary>The sentences of one file and the malformed ones skipped (with the first few reasons).</summary>
public sealed record TaggedFile(string Path, IReadOnlyList<TaggedSentence> Sentences, int Skipped, IReadOnlyList<string> SkipReasons);

/// <summary>Tagging schemes read from data: BIO (IOB2) and IOBES.</summary>
public enum TagScheme { Bio, Iobes }

/// <summary>
/// Token-tagging data: CoNLL files (one "token ... tag" per line, the tag in the last column, a blank line between
/// sentences, -DOCSTART- lines ignored) and JSONL (one object per line with "tokens" and "tags" arrays).
/// A malformed sentence (a line without a tag, a tag outside the scheme or the label set, a sequence that breaks the
/// scheme) is a DistilException naming file:line, or with skipBadRows is skipped and counted. docs/tasks.md §Tokens.
/// </summary>
public static class TaggedSentences
{
    public const int MaxReasons = 5;

    /// <param name="labels">The allowed tags; null accepts every tag the scheme allows.</param>
    public static TaggedFile Read(string path, TagScheme scheme, IReadOnlyCollection<string>? labels = null, bool skipBadRows = false)
    {
        var sink = new Sink(path, skipBadRows);
        bool jsonl = path.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase);
        var raw = jsonl ? ReadJsonl(path, sink) : ReadConll(path, sink);
        var allowed = labels == null ? null : new HashSet<string>(labels, StringComparer.Ordinal);
        foreach (var (s, lines) in raw)
        {
            var problem = Check(s.Tags, scheme, allowed);
            if (problem is { } p) sink.Bad(lines[p.Position], p.What);
            else sink.Add(s);
        }
        return sink.Finish();
    }

    /// <summary>IOBES when a tag of the file starts with E- or S-, else BIO (read without checking, so a broken file is reported by <see cref="Read"/>).</summary>
    public static TagScheme DetectScheme(string path)
    {
        var sink = new Sink(path, skipBadRows: true);
        var raw = path.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase) ? ReadJsonl(path, sink) : ReadConll(path, sink);
        return raw.Any(r => r.Item1.Tags.Any(t => t.StartsWith("E-", StringComparison.Ordinal) || t.StartsWith("S-", StringComparison.Ordinal))) ? TagScheme.Iobes : TagScheme.Bio;
    }

    /// <summary>The first tag (index) that breaks the scheme or the label set, and why; null when the sentence is fine.</summary>
    public static (int Position, string What)? Check(IReadOnlyList<string> tags, TagScheme scheme, IReadOnlySet<string>? labels = null)
    {
        char prev = 'O';
        string prevType = "";
        for (int i = 0; i < tags.Count; i++)
        {
            var parsed = Parse(tags[i]);
            if (parsed is not var (tag, type) || (scheme == TagScheme.Bio && tag is 'E' or 'S'))
                return (i, $"tag '{tags[i]}' is not a {(scheme == TagScheme.Bio ? "BIO tag (O, B-X, I-X)" : "IOBES tag (O, B-X, I-X, E-X, S-X)")}");
            if (labels != null && !labels.Contains(tags[i])) return (i, $"tag '{tags[i]}' is not one of the {labels.Count} labels");
            bool inside = prev is 'B' or 'I' && prevType == type;
            if (tag is 'I' or 'E' && !inside) return (i, $"tag '{tags[i]}' does not continue an entity of type {type} (previous tag {(prev == 'O' ? "O" : $"{prev}-{prevType}")})");
            if (scheme == TagScheme.Iobes && prev is 'B' or 'I' && !(tag is 'I' or 'E' && prevType == type))
                return (i, $"tag '{tags[i]}' follows {prev}-{prevType}, which IOBES must continue with I-{prevType} or E-{prevType}");
            (prev, prevType) = (tag, type);
        }
        if (scheme == TagScheme.Iobes && prev is 'B' or 'I')
            return (tags.Count - 1, $"the sentence ends inside an entity ({prev}-{prevType}); IOBES closes it with E- or S-");
        return null;
    }

    // The same split as Training.Metrics.EntityChunks.Parse (seqeval's), kept here because data sits below training.
    static (char Prefix, string Type)? Parse(string tag)
    {
        if (tag == "O") return ('O', "");
        if (tag.Length < 3 || tag[1] != '-' || tag[0] is not ('B' or 'I' or 'E' or 'S')) return null;
        return (tag[0], tag[2..]);
    }

    static IEnumerable<(TaggedSentence, int[] Lines)> ReadConll(string path, Sink sink)
    {
        var words = new List<string>();
        var tags = new List<string>();
        var lines = new List<int>();
        bool bad = false;
        foreach (var (line, text) in Utf8Lines.Read(path).Append((-1, "")))
        {
            var fields = text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length == 0 || fields[0] == "-DOCSTART-")
            {
                if (words.Count > 0 && !bad) yield return (new TaggedSentence(words.ToArray(), tags.ToArray(), $"{path}:{lines[0]}"), lines.ToArray());
                words.Clear(); tags.Clear(); lines.Clear(); bad = false;
                continue;
            }
            if (bad) continue; // the rest of a sentence already reported
            if (fields.Length < 2) { sink.Bad(line, $"'{fields[0]}' has no tag (a CoNLL line is a token, then its tag in the last column)"); bad = true; continue; }
            words.Add(fields[0]);
            tags.Add(fields[^1]);
            lines.Add(line);
        }
    }

    static IEnumerable<(TaggedSentence, int[] Lines)> ReadJsonl(string path, Sink sink)
    {
        foreach (var (line, text) in Utf8Lines.Read(path))
        {
            if (string.IsNullOrWhiteSpace(text)) continue;
            string[]? words = null, tags = null;
            string? problem = null;
            try
            {
                using var doc = JsonDocument.Parse(text);
                var o = doc.RootElement;
                if (o.ValueKind != JsonValueKind.Object) problem = "expected a JSON object with \"tokens\" and \"tags\"";
                else
                {
                    words = Strings(o, "tokens", ref problem);
                    tags = Strings(o, "tags", ref problem);
                    if (problem == null && words!.Length != tags!.Length) problem = $"{words.Length} tokens but {tags.Length} tags";
                    if (problem == null && words!.Length == 0) problem = "no tokens";
                }
            }
            catch (JsonException e) { problem = $"not valid JSON ({e.Message})"; }
            if (problem != null) { sink.Bad(line, problem); continue; }
            yield return (new TaggedSentence(words!, tags!, $"{path}:{line}"), Enumerable.Repeat(line, words!.Length).ToArray());
        }
    }

    static string[]? Strings(JsonElement o, string name, ref string? problem)
    {
        if (problem != null) return null;
        if (!o.TryGetProperty(name, out var v) || v.ValueKind != JsonValueKind.Array) { problem = $"field '{name}' is missing or not an array"; return null; }
        var list = new List<string>();
        foreach (var e in v.EnumerateArray())
        {
            if (e.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(e.GetString())) { problem = $"field '{name}' holds {e.ValueKind.ToString().ToLowerInvariant()} '{e.GetRawText()}', expected non-empty strings"; return null; }
            list.Add(e.GetString()!);
        }
        return list.ToArray();
    }

    sealed class Sink(string path, bool skipBadRows)
    {
        readonly List<TaggedSentence> sentences = new();
        readonly List<string> reasons = new();
        int skipped;

        public void Bad(int line, string what)
        {
            var where = $"{path}:{line}: {what}";
            if (!skipBadRows) throw DistilException.BadInput($"{where}; fix the sentence or pass --skip-bad-rows");
            skipped++;
            if (reasons.Count < MaxReasons) reasons.Add(where);
        }

        public void Add(TaggedSentence s) => sentences.Add(s);

        public TaggedFile Finish()
        {
            if (sentences.Count == 0)
                throw DistilException.BadInput(skipped > 0
                    ? $"{path}: no usable sentences: all {skipped} were skipped (first: {reasons[0]})"
                    : $"{path}: no sentences; a CoNLL file has a token and its tag per line, a blank line between sentences");
            return new TaggedFile(path, sentences, skipped, reasons);
        }
    }
}
