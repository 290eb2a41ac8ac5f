using Distil.Data;

namespace Distil.Baselines;

/// <summary>
/// The classic CoNLL baseline (docs/baselines.md §Token): every word gets the tag it carried most often in the
/// training file (the word as written, case kept); a word training never saw gets <c>O</c>. Ties go to the tag with
/// the lower id (<c>O</c> first, then the tags in ordinal order, as the task's label set). The predicted tags are read
/// into entities by the project's seqeval-style chunker, so an <c>I-X</c> without its <c>B-X</c> starts an entity,
/// as seqeval reads it.
/// </summary>
public sealed class TagBaseline
{
    readonly Dictionary<string, int[]> counts;
    readonly int labelCount, outside;

    TagBaseline(Dictionary<string, int[]> counts, int labelCount, int outside) => (this.counts, this.labelCount, this.outside) = (counts, labelCount, outside);

    /// <summary>Distinct words seen in training.</summary>
    public int KnownWords => counts.Count;

    public static TagBaseline Fit(IReadOnlyList<TaggedSentence> train, LabelSet labels)
    {
        var counts = new Dictionary<string, int[]>(StringComparer.Ordinal);
        foreach (var s in train)
            for (int w = 0; w < s.Words.Count; w++)
            {
                if (!counts.TryGetValue(s.Words[w], out var c)) counts[s.Words[w]] = c = new int[labels.Count];
                c[labels.IdOf(s.Tags[w], s.Source)]++;
            }
        return new TagBaseline(counts, labels.Count, labels.TryId("O", out int o) ? o : 0);
    }

    /// <summary>Per word the tag distribution it had in training (its argmax is the most frequent tag), one-hot O for an unknown word.</summary>
    public float[][] Distributions(IReadOnlyList<string> words) => words.Select(w =>
    {
        var p = new float[labelCount];
        if (counts.TryGetValue(w, out var c))
        {
            double total = c.Sum();
            for (int k = 0; k < labelCount; k++) p[k] = (float)(c[k] / total);
        }
        else p[outside] = 1;
        return p;
    }).ToArray();

    /// <summary>Per word the predicted tag id: the most frequent, ties to the lower id; O for an unknown word.</summary>
    public int[] Predict(IReadOnlyList<string> words) => words.Select(w =>
    {
        if (!counts.TryGetValue(w, out var c)) return outside;
        int best = 0;
        for (int k = 1; k < labelCount; k++) if (c[k] > c[best]) best = k;
        return best;
    }).ToArray();
}
