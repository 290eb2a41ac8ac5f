using Distil.Data;
using Distil.Training;

namespace Distil.Baselines;

/// <summary>
/// A word-overlap span baseline for extractive QA (docs/baselines.md §QA), after the sliding-window baseline of
/// Rajpurkar et al. (2016, §5), which follows Richardson et al. (2013): nothing is learnt. The context is read as words
/// (<see cref="TokenEntities.Words"/>, compared lower-cased) and cut into sentences after '.', '!' or '?'. Each
/// question word that is not a function word weighs IC(w) = ln(1 + 1/C(w)), C(w) its count in the context. A
/// sentence scores the sum of the weights of the question words it holds. The candidates are single context words
/// that are neither function words nor question words; a candidate's score is its sentence's score, ties broken by
/// proximity: the sum over the question words in its sentence of IC(w) / distance in words; remaining ties go to the
/// earlier word. The answer is the best candidate's text (never "no answer").
/// Differences from the paper: candidates are single words, not the constituents of a parse, and one window (the
/// sentence) replaces the paper's sliding windows over the candidate's surroundings.
/// </summary>
public static class SpanBaseline
{
    /// <summary>English function words: never a candidate, never a question word that counts.</summary>
    public static readonly IReadOnlySet<string> FunctionWords = new HashSet<string>(StringComparer.Ordinal)
    {
        "a", "an", "the", "and", "or", "but", "nor", "so", "yet", "if", "then", "than", "as", "of", "in", "on", "at", "to",
        "for", "from", "by", "with", "without", "about", "into", "onto", "over", "under", "up", "down", "out", "off",
        "through", "between", "among", "after", "before", "during", "since", "until", "while", "against", "within", "upon",
        "is", "am", "are", "was", "were", "be", "been", "being", "have", "has", "had", "having", "do", "does", "did",
        "will", "would", "shall", "should", "can", "could", "may", "might", "must", "not", "no",
        "i", "me", "my", "mine", "we", "us", "our", "you", "your", "he", "him", "his", "she", "her", "hers", "it", "its",
        "they", "them", "their", "this", "that", "these", "those", "who", "whom", "whose", "which", "what", "when",
        "where", "why", "how", "all", "any", "some", "each", "every", "both", "either", "neither", "such", "other",
        "one", "ones", "more", "most", "much", "many", "very", "too", "also", "only", "just", "there", "here", "s", "t",
        "something", "someone", "somebody", "usually", "especially", "often", "etc", "e", "g",
    };

    public static QaAnswer Answer(string question, string context)
    {
        var words = TokenEntities.Words(context);
        var lower = words.Select(w => w.Word.ToLowerInvariant()).ToArray();
        var q = TokenEntities.Words(question).Select(w => w.Word.ToLowerInvariant()).Where(w => !FunctionWords.Contains(w)).ToHashSet(StringComparer.Ordinal);
        var count = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var w in lower) count[w] = count.GetValueOrDefault(w) + 1;
        double Ic(string w) => Math.Log(1 + 1.0 / count[w]);

        // Sentence of each word: a new sentence starts after a word followed by '.', '!' or '?'.
        var sentence = new int[words.Length];
        for (int i = 1; i < words.Length; i++)
        {
            string between = context[words[i - 1].End..words[i].Start];
            bool ends = words[i - 1].Word is "." or "!" or "?" || between.IndexOfAny(['.', '!', '?']) >= 0;
            sentence[i] = sentence[i - 1] + (ends ? 1 : 0);
        }
        int sentences = words.Length == 0 ? 0 : sentence[^1] + 1;
        var overlap = new double[sentences];
        for (int s = 0; s < sentences; s++)
            overlap[s] = Enumerable.Range(0, words.Length).Where(i => sentence[i] == s && q.Contains(lower[i])).Select(i => lower[i]).Distinct().Sum(Ic);

        int best = -1;
        double bestOverlap = double.NegativeInfinity, bestProximity = double.NegativeInfinity;
        for (int i = 0; i < words.Length; i++)
        {
            if (FunctionWords.Contains(lower[i]) || q.Contains(lower[i]) || !char.IsLetterOrDigit(lower[i][0])) continue;
            double proximity = 0;
            for (int j = 0; j < words.Length; j++)
                if (j != i && sentence[j] == sentence[i] && q.Contains(lower[j])) proximity += Ic(lower[j]) / Math.Abs(j - i);
            double o = overlap[sentence[i]];
            if (o > bestOverlap || (o == bestOverlap && proximity > bestProximity)) (best, bestOverlap, bestProximity) = (i, o, proximity);
        }
        if (best < 0) return new QaAnswer("", -1, -1, 0, 0, 0); // a context of function words only
        var a = words[best];
        return new QaAnswer(a.Word, a.Start, a.End, bestOverlap, 1, 0);
    }
}
