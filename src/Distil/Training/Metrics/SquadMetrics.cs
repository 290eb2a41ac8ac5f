using System.Text;
using System.Text.RegularExpressions;

namespace Distil.Training.Metrics;

/// <summary>One question: its gold answer texts (empty for a SQuAD 2.0 question without an answer) and the prediction.</summary>
public sealed record SquadExample(IReadOnlyList<string> GoldAnswers, string Prediction);

/// <summary>Exact match and F1 in percent (0 to 100, as the official scripts print them) over Total questions.</summary>
public readonly record struct SquadScore(double Exact, double F1, int Total);

/// <summary>SQuAD 2.0 scores: all questions, and the HasAns_ / NoAns_ splits (null when the split has no question).</summary>
public sealed record SquadV2Report(SquadScore All, SquadScore? HasAns, SquadScore? NoAns);

/// <summary>
/// SQuAD exact match and token F1 as the official evaluation scripts (evaluate-v1.1.py, evaluate-v2.0.py) compute
/// them: both texts normalised (lower-case, ASCII punctuation removed, the words a/an/the removed, whitespace
/// collapsed), the best score over the gold answers, averaged over questions. docs/tasks.md §SQuAD.
/// </summary>
public static class SquadMetrics
{
    // Python's string.punctuation: ASCII only, as the scripts remove it.
    const string Punctuation = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
    static readonly Regex Articles = new(@"\b(a|an|the)\b", RegexOptions.Compiled | RegexOptions.CultureInvariant);

    /// <summary>The scripts' normalize_answer: lower, remove punctuation, remove articles, then collapse whitespace.</summary>
    public static string Normalize(string text)
    {
        var noPunct = new StringBuilder(text.Length);
        foreach (char c in text.ToLowerInvariant()) if (!Punctuation.Contains(c)) noPunct.Append(c);
        return string.Join(' ', Tokens(Articles.Replace(noPunct.ToString(), " ")));
    }

    /// <summary>Python's str.split(): runs of whitespace, which for str also include U+001C..U+001F.</summary>
    static List<string> Tokens(string text)
    {
        var tokens = new List<string>();
        int start = -1;
        for (int i = 0; i <= text.Length; i++)
        {
            bool space = i == text.Length || char.IsWhiteSpace(text[i]) || text[i] is >= '\u001c' and <= '\u001f';
            if (space && start >= 0) { tokens.Add(text[start..i]); start = -1; }
            else if (!space && start < 0) start = i;
        }
        return tokens;
    }

    static List<string> NormalizedTokens(string text) => Tokens(Normalize(text));

    public static bool ExactMatch(string prediction, string gold) => Normalize(prediction) == Normalize(gold);

    /// <summary>
    /// Token F1 over the normalised words (a multiset intersection). <paramref name="v2"/>: evaluate-v2.0.py's rule
    /// that when either side has no words the score is 1 if both have none and 0 otherwise; v1.1 scores 0 whenever no
    /// word is shared, two empty texts included.
    /// </summary>
    public static double F1(string prediction, string gold, bool v2 = false)
    {
        var pred = NormalizedTokens(prediction);
        var truth = NormalizedTokens(gold);
        if (v2 && (pred.Count == 0 || truth.Count == 0)) return pred.Count == truth.Count ? 1 : 0;
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var t in truth) counts[t] = counts.GetValueOrDefault(t) + 1;
        int same = 0;
        foreach (var t in pred)
            if (counts.GetValueOrDefault(t) > 0) { counts[t]--; same++; }
        if (same == 0) return 0;
        double precision = 1.0 * same / pred.Count, recall = 1.0 * same / truth.Count;
        return 2 * precision * recall / (precision + recall);
    }

    /// <summary>evaluate-v1.1.py: every question needs at least one gold answer.</summary>
    public static SquadScore EvaluateV1(IReadOnlyList<SquadExample> examples)
    {
        double exact = 0, f1 = 0;
        for (int q = 0; q < examples.Count; q++)
        {
            var e = examples[q];
            if (e.GoldAnswers.Count == 0) throw DistilException.BadInput($"question {q}: no gold answer (SQuAD 1.1 questions all have one; use the 2.0 scores)");
            exact += e.GoldAnswers.Max(g => ExactMatch(e.Prediction, g)) ? 1 : 0;
            f1 += e.GoldAnswers.Max(g => F1(e.Prediction, g));
        }
        return Mean(exact, f1, examples.Count);
    }

    /// <summary>
    /// evaluate-v2.0.py without a no-answer probability file: gold answers that normalise to nothing are dropped, and
    /// a question left with none is scored against the empty answer (so the prediction is right iff it normalises to
    /// nothing). HasAns / NoAns split by whether the question lists any gold answer at all, as the script's
    /// make_qid_to_has_ans does.
    /// </summary>
    public static SquadV2Report EvaluateV2(IReadOnlyList<SquadExample> examples)
    {
        var exact = new double[examples.Count];
        var f1 = new double[examples.Count];
        for (int q = 0; q < examples.Count; q++)
        {
            var e = examples[q];
            var golds = e.GoldAnswers.Where(g => Normalize(g).Length > 0).ToList();
            if (golds.Count == 0) golds.Add("");
            exact[q] = golds.Max(g => ExactMatch(e.Prediction, g) ? 1 : 0);
            f1[q] = golds.Max(g => F1(e.Prediction, g, v2: true));
        }
        SquadScore? Split(bool hasAnswer)
        {
            var ids = Enumerable.Range(0, examples.Count).Where(q => examples[q].GoldAnswers.Count > 0 == hasAnswer).ToList();
            return ids.Count == 0 ? null : Mean(InOrder(ids.Select(q => exact[q])), InOrder(ids.Select(q => f1[q])), ids.Count);
        }
        return new SquadV2Report(Mean(InOrder(exact), InOrder(f1), examples.Count), Split(true), Split(false));
    }

    /// <summary>Left to right, as Python's sum() adds, so the last digit matches the scripts.</summary>
    static double InOrder(IEnumerable<double> values)
    {
        double sum = 0;
        foreach (var v in values) sum += v;
        return sum;
    }

    // The scripts divide 100.0 * sum by the count; no question scores 0 here rather than dividing by zero.
    static SquadScore Mean(double exact, double f1, int total) =>
        total == 0 ? new SquadScore(0, 0, 0) : new SquadScore(100.0 * exact / total, 100.0 * f1 / total, total);
}
