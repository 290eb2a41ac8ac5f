using Distil.Data;

namespace Distil.Augment.L2A;

/// <summary>
/// Generator (b): cross-domain manipulation by token borrowing. A source-domain example keeps its label and structure
/// but its most source-typical words are swapped for refill candidates that the TARGET uses, so it moves toward the
/// target distribution. Source-typicality of a word w is the add-one smoothed log ratio
/// log P_source(w) - log P_target(w) over the given texts (lower-cased words); the up-to ceil(fraction x replaceable)
/// words with a positive ratio, most typical first, are replaced, each by one of its candidates drawn with probability
/// proportional to that candidate's target count (candidates the target never uses are not borrowed; a word with none
/// stays). Token level rather than embedding interpolation: the output is text a person can read in the TSV, and the
/// teacher and student see it through their normal input path. Deterministic: source row i draws from Random(Mix(seed, i)).
/// </summary>
public sealed class CrossDomainBorrowing
{
    readonly WordReplacementAugmenter refill;
    readonly Dictionary<string, int> target, source;
    readonly long targetTotal, sourceTotal;
    readonly int vocabulary;
    readonly double fraction;
    readonly int copies, seed;

    public CrossDomainBorrowing(WordReplacementAugmenter refill, IEnumerable<Example> targetTexts, IEnumerable<Example> sourceTexts,
        double fraction, int copies, int seed)
    {
        if (!(fraction > 0 && fraction <= 1)) throw DistilException.Usage($"borrow_fraction {fraction} must be in (0, 1]");
        if (copies < 0) throw DistilException.Usage($"cross copies {copies} must be >= 0");
        this.refill = refill;
        target = Counts(targetTexts);
        source = Counts(sourceTexts);
        targetTotal = target.Values.Sum(v => (long)v);
        sourceTotal = source.Values.Sum(v => (long)v);
        vocabulary = target.Keys.Union(source.Keys).Count() + 1;
        this.fraction = fraction;
        this.copies = copies;
        this.seed = seed;
    }

    /// <summary>log P_source(w) - log P_target(w), add-one smoothed; > 0 means more typical of the sources.</summary>
    public double SourceTypicality(string word)
    {
        string w = word.ToLowerInvariant();
        double ps = (source.GetValueOrDefault(w) + 1.0) / (sourceTotal + vocabulary);
        double pt = (target.GetValueOrDefault(w) + 1.0) / (targetTotal + vocabulary);
        return Math.Log(ps) - Math.Log(pt);
    }

    public int TargetCount(string word) => target.GetValueOrDefault(word.ToLowerInvariant());

    /// <summary><c>copies</c> manipulated versions of each source example (exactly that many: duplicates are kept, so a
    /// source's label mix carries over unchanged; the selector decides what is worth keeping).</summary>
    public List<L2aCandidate> Generate(IReadOnlyList<Example> sources, IReadOnlyList<int>? rows = null)
    {
        var result = new List<L2aCandidate>();
        rows ??= Enumerable.Range(0, sources.Count).ToArray();
        foreach (int i in rows)
        {
            var e = sources[i];
            var rng = new Random(WordReplacementAugmenter.Mix(seed, i));
            var spans = WordSpans.Split(e.Text);
            var candidates = refill.Candidates(e.Text, spans);
            int m = Math.Max(1, (int)Math.Ceiling(fraction * candidates.Count));
            var chosen = candidates.Where(c => SourceTypicality(c.Original) > 0)
                .OrderByDescending(c => SourceTypicality(c.Original)).ThenBy(c => c.Word).Take(m).ToArray();
            for (int n = 0; n < copies; n++)
            {
                var replace = new Dictionary<int, string>();
                foreach (var c in chosen)
                {
                    var weights = c.Candidates.Select(TargetCount).ToArray();
                    long total = weights.Sum(w => (long)w);
                    if (total == 0) continue;
                    long draw = (long)(rng.NextDouble() * total);
                    int k = 0;
                    for (long acc = weights[0]; acc <= draw; acc += weights[++k]) { }
                    replace[c.Word] = c.Candidates[k];
                }
                result.Add(new L2aCandidate("cross", i, e.Domain, e.Label, e.Text, WordSpans.Replace(e.Text, spans, replace), e.TextPair));
            }
        }
        return result;
    }

    static Dictionary<string, int> Counts(IEnumerable<Example> examples)
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var e in examples)
            foreach (var s in WordSpans.Split(e.Text))
            {
                string w = s.Of(e.Text).ToLowerInvariant();
                if (w.Any(char.IsLetter)) counts[w] = counts.GetValueOrDefault(w) + 1;
            }
        return counts;
    }
}
