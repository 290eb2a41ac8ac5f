using System.Text.RegularExpressions;
using Distil.Data;

namespace Distil.Baselines;

/// <summary>
/// Bag-of-words features of a row (docs/baselines.md §Features): the lower-cased words (runs of word characters,
/// <c>\w+</c>), their unigrams and bigrams weighted by tf-idf as scikit-learn's TfidfVectorizer does by default
/// (raw count times <c>ln((1 + n) / (1 + df)) + 1</c>, the vector scaled to unit length), the vocabulary and document
/// frequencies from the training rows. A pair keeps its sides apart: the terms of the first text are prefixed
/// <c>a:</c>, those of the second <c>b:</c>, each side scaled to unit length on its own, and three word-overlap
/// features follow, over the sets of word types A and B: |A∩B|/|A|, |A∩B|/|B| and |A∩B|/|A∪B| (0 where a side has
/// no word).
/// </summary>
public sealed partial class TextFeatures
{
    readonly Dictionary<string, int> index;
    readonly double[] idf;
    readonly bool pairs;

    public const int OverlapFeatures = 3;

    TextFeatures(Dictionary<string, int> index, double[] idf, bool pairs) => (this.index, this.idf, this.pairs) = (index, idf, pairs);

    /// <summary>Terms in the vocabulary (prefixed a:/b: for pairs).</summary>
    public int TermCount => idf.Length;

    /// <summary>Columns of a row: the terms, then for pairs the overlap features.</summary>
    public int Width => TermCount + (pairs ? OverlapFeatures : 0);

    public bool Pairs => pairs;

    [GeneratedRegex(@"\w+")]
    private static partial Regex WordPattern();

    /// <summary>The words a row's text is read as: lower-cased runs of word characters.</summary>
    public static string[] Words(string text) => WordPattern().Matches(text.ToLowerInvariant()).Select(m => m.Value).ToArray();

    /// <summary>Unigrams then bigrams ("w1 w2") of the words, each with <paramref name="prefix"/>.</summary>
    public static IEnumerable<string> Terms(IReadOnlyList<string> words, string prefix)
    {
        foreach (var w in words) yield return prefix + w;
        for (int i = 0; i + 1 < words.Count; i++) yield return $"{prefix}{words[i]} {words[i + 1]}";
    }

    /// <summary>The vocabulary (in order of first appearance, so ids do not depend on hashing) and idf from the training rows.</summary>
    public static TextFeatures Fit(IReadOnlyList<Example> train)
    {
        bool pairs = train.Any(e => e.TextPair != null);
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        var df = new List<int>();
        foreach (var e in train)
            foreach (var term in RowTerms(e, pairs).Distinct(StringComparer.Ordinal))
            {
                if (!index.TryGetValue(term, out int id)) { id = index.Count; index[term] = id; df.Add(0); }
                df[id]++;
            }
        int n = train.Count;
        var idf = df.Select(d => Math.Log((1.0 + n) / (1.0 + d)) + 1).ToArray();
        return new TextFeatures(index, idf, pairs);
    }

    static IEnumerable<string> RowTerms(Example e, bool pairs) =>
        pairs ? Terms(Words(e.Text), "a:").Concat(Terms(Words(e.TextPair ?? ""), "b:")) : Terms(Words(e.Text), "");

    public SparseRows Transform(IReadOnlyList<Example> rows)
    {
        var start = new List<int> { 0 };
        var cols = new List<int>();
        var vals = new List<double>();
        foreach (var e in rows)
        {
            if (pairs && e.TextPair == null) throw DistilException.BadInput($"{e.Source}: the row has no second text, but the training rows are pairs; give every file the --text-pair-column");
            if (!pairs && e.TextPair != null) throw DistilException.BadInput($"{e.Source}: the row is a pair, but the training rows are single texts; use the same columns in every file");
            var a = Words(e.Text);
            AddSide(Terms(a, pairs ? "a:" : ""), cols, vals);
            if (pairs)
            {
                var b = Words(e.TextPair!);
                AddSide(Terms(b, "b:"), cols, vals);
                var overlap = Overlap(a, b);
                for (int k = 0; k < OverlapFeatures; k++)
                    if (overlap[k] != 0) { cols.Add(TermCount + k); vals.Add(overlap[k]); }
            }
            start.Add(cols.Count);
        }
        return new SparseRows(Width, start.ToArray(), cols.ToArray(), vals.ToArray());
    }

    /// <summary>One side's known terms: count times idf, scaled to unit length, in column order.</summary>
    void AddSide(IEnumerable<string> terms, List<int> cols, List<double> vals)
    {
        var counts = new SortedDictionary<int, int>();
        foreach (var t in terms)
            if (index.TryGetValue(t, out int id)) counts[id] = counts.GetValueOrDefault(id) + 1;
        double norm = Math.Sqrt(counts.Sum(kv => Math.Pow(kv.Value * idf[kv.Key], 2)));
        foreach (var (id, count) in counts) { cols.Add(id); vals.Add(count * idf[id] / norm); }
    }

    /// <summary>|A∩B|/|A|, |A∩B|/|B|, |A∩B|/|A∪B| over the word types of the two sides; 0 where a side is empty.</summary>
    public static double[] Overlap(IReadOnlyList<string> a, IReadOnlyList<string> b)
    {
        var sa = new HashSet<string>(a, StringComparer.Ordinal);
        var sb = new HashSet<string>(b, StringComparer.Ordinal);
        int both = sa.Count(sb.Contains);
        int union = sa.Count + sb.Count - both;
        return [sa.Count == 0 ? 0 : (double)both / sa.Count, sb.Count == 0 ? 0 : (double)both / sb.Count, union == 0 ? 0 : (double)both / union];
    }
}
