using Distil.Data;

namespace Distil.Augment.L2A;

/// <summary>
/// Baseline "random augmentation": EDA-style edits (Wei and Zou 2019) without a thesaurus: each copy applies one of
/// random swap (n word pairs), random deletion (each word with probability alpha, at least one word kept) or random
/// insertion (n copies of words of the same sentence at random places), n = max(1, round(alpha x words)). EDA's
/// synonym replacement is left out on purpose: with our only "thesaurus" (the teacher's MLM / embeddings) it would be
/// the TinyBERT baseline again. Deterministic: row i draws from Random(Mix(seed, i)).
/// </summary>
public sealed class EdaAugmenter
{
    readonly double alpha;
    readonly int copies, seed;

    public EdaAugmenter(double alpha, int copies, int seed)
    {
        if (!(alpha > 0 && alpha < 1)) throw DistilException.Usage($"eda alpha {alpha} must be in (0, 1)");
        if (copies < 0) throw DistilException.Usage($"copies {copies} must be >= 0");
        this.alpha = alpha;
        this.copies = copies;
        this.seed = seed;
    }

    public List<L2aCandidate> Generate(IReadOnlyList<Example> examples)
    {
        var result = new List<L2aCandidate>();
        for (int i = 0; i < examples.Count; i++)
        {
            var e = examples[i];
            var rng = new Random(WordReplacementAugmenter.Mix(seed, i));
            for (int c = 0; c < copies; c++) result.Add(new L2aCandidate("eda", i, e.Domain, e.Label, e.Text, Edit(e.Text, rng), e.TextPair));
        }
        return result;
    }

    public string Edit(string text, Random rng)
    {
        var words = WordSpans.Split(text).Select(s => s.Of(text)).ToList();
        if (words.Count < 2) return text;
        int n = Math.Max(1, (int)Math.Round(alpha * words.Count));
        switch (rng.Next(3))
        {
            case 0:
                for (int k = 0; k < n; k++)
                {
                    int a = rng.Next(words.Count), b = rng.Next(words.Count);
                    (words[a], words[b]) = (words[b], words[a]);
                }
                break;
            case 1:
                var kept = words.Where(_ => rng.NextDouble() >= alpha).ToList();
                words = kept.Count > 0 ? kept : new List<string> { words[rng.Next(words.Count)] };
                break;
            default:
                for (int k = 0; k < n; k++) words.Insert(rng.Next(words.Count + 1), words[rng.Next(words.Count)]);
                break;
        }
        return string.Join(' ', words);
    }
}
