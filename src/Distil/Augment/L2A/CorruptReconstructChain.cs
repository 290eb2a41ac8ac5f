using Distil.Data;

namespace Distil.Augment.L2A;

/// <summary>
/// Generator (a): a corrupt-and-reconstruct Markov chain over target examples (docs/l2a.md §Pipeline, step 2a, after Bengio et al. 2013,
/// "Generalized denoising auto-encoders as generative models"). One step masks a fraction of the replaceable words and
/// refills each from <see cref="WordReplacementAugmenter.Candidates"/> (the teacher's MLM head given the rest of the
/// sentence, or its word-embedding neighbours), drawing uniformly from the top-M; the chain runs <c>steps</c> steps
/// from the target sentence and its last state is one sample. Because each step conditions on the CURRENT text, the
/// chain wanders through sentences the refill model finds plausible near the target, not just one-edit neighbours.
/// Deterministic: row i draws from Random(Mix(seed, i)).
/// </summary>
public sealed class CorruptReconstructChain
{
    readonly WordReplacementAugmenter refill;
    readonly double maskFraction;
    readonly int steps, samples, seed;
    readonly bool distinct;

    public CorruptReconstructChain(WordReplacementAugmenter refill, double maskFraction, int steps, int samples, int seed, bool distinct = true)
    {
        if (!(maskFraction > 0 && maskFraction <= 1)) throw DistilException.Usage($"mask_fraction {maskFraction} must be in (0, 1]");
        if (steps < 1) throw DistilException.Usage($"chain_steps {steps} must be >= 1");
        if (samples < 0) throw DistilException.Usage($"chain samples {samples} must be >= 0");
        this.refill = refill;
        this.maskFraction = maskFraction;
        this.steps = steps;
        this.samples = samples;
        this.seed = seed;
        this.distinct = distinct;
    }

    /// <summary><c>samples</c> chain samples per example (with distinct: only new texts, so possibly fewer).</summary>
    public List<L2aCandidate> Generate(IReadOnlyList<Example> examples)
    {
        var result = new List<L2aCandidate>();
        for (int i = 0; i < examples.Count; i++)
        {
            var e = examples[i];
            var rng = new Random(WordReplacementAugmenter.Mix(seed, i));
            var seen = new HashSet<string>(StringComparer.Ordinal) { e.Text };
            for (int s = 0; s < samples; s++)
            {
                string text = e.Text;
                for (int k = 0; k < steps; k++) text = Step(text, rng);
                if (!distinct || seen.Add(text)) result.Add(new L2aCandidate("chain", i, e.Domain, e.Label, e.Text, text, e.TextPair));
            }
        }
        return result;
    }

    /// <summary>One corrupt-and-reconstruct step: ceil(fraction x replaceable words) distinct words, each refilled.</summary>
    public string Step(string text, Random rng)
    {
        var spans = WordSpans.Split(text);
        var candidates = refill.Candidates(text, spans);
        if (candidates.Count == 0) return text;
        int m = Math.Max(1, (int)Math.Ceiling(maskFraction * candidates.Count));
        var order = Enumerable.Range(0, candidates.Count).ToArray();
        for (int j = 0; j < m; j++) // partial Fisher-Yates: the first m entries are a uniform m-subset
        {
            int r = j + rng.Next(order.Length - j);
            (order[j], order[r]) = (order[r], order[j]);
        }
        var replace = new Dictionary<int, string>();
        foreach (int j in order.Take(m))
        {
            var c = candidates[j];
            replace[c.Word] = c.Candidates[rng.Next(c.Candidates.Count)];
        }
        return WordSpans.Replace(text, spans, replace);
    }
}
