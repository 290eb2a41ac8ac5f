using System.Text.Json;

namespace Distil.Data;

/// <summary>One gold (or, for an impossible SQuAD 2.0 question, plausible) answer: its text at character <see cref="Start"/> of the context.</summary>
public sealed record SquadAnswer(string Text, int Start)
{
    public int End => Start + Text.Length;
}

/// <summary>
/// One SQuAD question with its context. <see cref="Answers"/> is empty for a SQuAD 2.0 question marked
/// <c>is_impossible</c>; its <see cref="PlausibleAnswers"/> (a span that looks right but is not) are kept for inspection.
/// </summary>
public sealed record SquadQuestion(string Id, string Question, string Context, IReadOnlyList<SquadAnswer> Answers,
    bool IsImpossible, IReadOnlyList<SquadAnswer> PlausibleAnswers, string Title);

/// <summary>The questions of one file, whether any is impossible (SQuAD 2.0 style), and the malformed ones skipped.</summary>
public sealed record SquadFile(string Path, string Version, IReadOnlyList<SquadQuestion> Questions, int Skipped, IReadOnlyList<string> SkipReasons)
{
    /// <summary>True when a question has no answer: the file needs the SQuAD 2.0 scores and the null answer.</summary>
    public bool HasImpossible => Questions.Any(q => q.IsImpossible);
}

/// <summary>
/// Reads SQuAD v1.1 / v2.0 JSON (<c>{"version", "data": [{"title", "paragraphs": [{"context", "qas": [{"id",
/// "question", "answers": [{"text", "answer_start"}], "is_impossible", "plausible_answers"}]}]}]}</c>). A malformed
/// question — a missing field, an answer whose text is not at its offset, a span past the context, an answerable
/// question with no answer, a repeated id — is a DistilException naming the file and the question id (or its
/// position when the id itself is missing); with skipBadRows it is skipped and counted. docs/tasks.md §Extractive QA.
/// </summary>
public static class SquadReader
{
    const int KeptReasons = 5;

    public static SquadFile Read(string path, bool skipBadRows = false)
    {
        if (!File.Exists(path)) throw DistilException.NotFound($"{path}: no such SQuAD file");
        JsonDocument doc;
        try { doc = JsonDocument.Parse(File.ReadAllBytes(path), new JsonDocumentOptions { AllowTrailingCommas = true }); }
        catch (JsonException e) { throw DistilException.BadInput($"{path}: not JSON ({e.Message}); a SQuAD file is one JSON object with a \"data\" array"); }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.Array)
                throw DistilException.BadInput($"{path}: no \"data\" array at the top; a SQuAD file is {{\"version\": ..., \"data\": [{{\"title\", \"paragraphs\": [...]}}]}}");
            string version = root.TryGetProperty("version", out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : "";

            var questions = new List<SquadQuestion>();
            var reasons = new List<string>();
            var ids = new HashSet<string>(StringComparer.Ordinal);
            int skipped = 0;
            int a = 0;
            foreach (var article in data.EnumerateArray())
            {
                string title = article.ValueKind == JsonValueKind.Object && article.TryGetProperty("title", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString()! : "";
                if (article.ValueKind != JsonValueKind.Object || !article.TryGetProperty("paragraphs", out var paragraphs) || paragraphs.ValueKind != JsonValueKind.Array)
                    throw DistilException.BadInput($"{path}: data[{a}] has no \"paragraphs\" array");
                int p = 0;
                foreach (var paragraph in paragraphs.EnumerateArray())
                {
                    string where = $"data[{a}].paragraphs[{p}]";
                    if (paragraph.ValueKind != JsonValueKind.Object || !paragraph.TryGetProperty("context", out var ctx) || ctx.ValueKind != JsonValueKind.String
                        || !paragraph.TryGetProperty("qas", out var qas) || qas.ValueKind != JsonValueKind.Array)
                        throw DistilException.BadInput($"{path}: {where} needs a \"context\" string and a \"qas\" array");
                    string context = ctx.GetString()!;
                    int q = 0;
                    foreach (var qa in qas.EnumerateArray())
                    {
                        try { questions.Add(Question(qa, context, title, $"{where}.qas[{q}]", ids)); }
                        catch (BadRow bad)
                        {
                            string reason = $"{path}: {bad.Message}";
                            if (!skipBadRows) throw DistilException.BadInput($"{reason}; fix the question or pass --skip-bad-rows");
                            skipped++;
                            if (reasons.Count < KeptReasons) reasons.Add(reason);
                        }
                        q++;
                    }
                    p++;
                }
                a++;
            }
            if (questions.Count == 0)
                throw DistilException.BadInput(skipped > 0 ? $"{path}: no usable questions: all {skipped} were skipped (first: {reasons[0]})" : $"{path}: no questions");
            return new SquadFile(path, version, questions, skipped, reasons);
        }
    }

    sealed class BadRow(string message) : Exception(message);

    static SquadQuestion Question(JsonElement qa, string context, string title, string position, HashSet<string> ids)
    {
        if (qa.ValueKind != JsonValueKind.Object) throw new BadRow($"{position} is not an object");
        if (!qa.TryGetProperty("id", out var idEl) || idEl.ValueKind is not (JsonValueKind.String or JsonValueKind.Number))
            throw new BadRow($"{position} has no \"id\"");
        string id = idEl.ValueKind == JsonValueKind.String ? idEl.GetString()! : idEl.GetRawText();
        string name = $"question '{id}'";
        if (!ids.Add(id)) throw new BadRow($"{name}: the id is used twice");
        if (!qa.TryGetProperty("question", out var qEl) || qEl.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(qEl.GetString()))
            throw new BadRow($"{name}: no \"question\" text");
        bool impossible = qa.TryGetProperty("is_impossible", out var imp) && imp.ValueKind == JsonValueKind.True;
        var answers = Answers(qa, "answers", context, name, required: true);
        var plausible = Answers(qa, "plausible_answers", context, name, required: false);
        if (impossible && answers.Count > 0) throw new BadRow($"{name}: is_impossible is true but it has {answers.Count} answer(s)");
        if (!impossible && answers.Count == 0) throw new BadRow($"{name}: no answer and not marked is_impossible");
        return new SquadQuestion(id, qEl.GetString()!, context, answers, impossible, plausible, title);
    }

    static List<SquadAnswer> Answers(JsonElement qa, string field, string context, string name, bool required)
    {
        var list = new List<SquadAnswer>();
        if (!qa.TryGetProperty(field, out var arr))
        {
            if (required) throw new BadRow($"{name}: no \"{field}\" array");
            return list;
        }
        if (arr.ValueKind != JsonValueKind.Array) throw new BadRow($"{name}: \"{field}\" is not an array");
        int i = 0;
        foreach (var ans in arr.EnumerateArray())
        {
            string at = $"{name}: {field}[{i++}]";
            if (ans.ValueKind != JsonValueKind.Object || !ans.TryGetProperty("text", out var tx) || tx.ValueKind != JsonValueKind.String)
                throw new BadRow($"{at} has no \"text\"");
            if (!ans.TryGetProperty("answer_start", out var st) || st.ValueKind != JsonValueKind.Number || !st.TryGetInt32(out int start))
                throw new BadRow($"{at} has no integer \"answer_start\"");
            string text = tx.GetString()!;
            if (text.Length == 0) throw new BadRow($"{at} has an empty text");
            if (start < 0 || start + text.Length > context.Length)
                throw new BadRow($"{at}: the span [{start}, {start + text.Length}) of '{text}' runs past the context ({context.Length} characters)");
            if (string.CompareOrdinal(context, start, text, 0, text.Length) != 0)
                throw new BadRow($"{at}: '{text}' is not at answer_start {start}: the context has '{context.Substring(start, text.Length)}' there");
            list.Add(new SquadAnswer(text, start));
        }
        return list;
    }
}
