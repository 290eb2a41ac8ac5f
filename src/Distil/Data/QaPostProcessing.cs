namespace Distil.Data;

/// <summary>How answers are read from start/end logits (run_qa.py's n_best_size 20, max_answer_length 30,
/// version_2_with_negative, null_score_diff_threshold 0).</summary>
public sealed record QaDecoding(int NBest = 20, int MaxAnswerLength = 30, bool AllowNoAnswer = false, double NullThreshold = 0);

/// <summary>
/// One question's answer: <see cref="Text"/> = context[<see cref="Start"/>..<see cref="End"/>), or "" (Start = End = -1)
/// when the null answer wins. <see cref="Score"/> is start logit + end logit of the chosen span (the null score for
/// a null answer), <see cref="Probability"/> its softmax share among the n-best candidates, <see cref="NullScore"/>
/// the lowest CLS start+end score over the question's windows.
/// </summary>
public sealed record QaAnswer(string Text, int Start, int End, double Score, double Probability, double NullScore)
{
    public bool IsNull => Start < 0;
}

/// <summary>One window's logits, as long as its feature (padding cut off).</summary>
public sealed record QaWindowLogits(QaFeature Feature, float[] StartLogits, float[] EndLogits);

/// <summary>
/// transformers' postprocess_qa_predictions (utils_qa.py): over every window of a question, the n-best start and end
/// positions by logit; a pair counts when both lie in the context, end ≥ start and the span has at most
/// MaxAnswerLength tokens; its score is start + end logit and its text the context between the start token's first
/// and the end token's last character. With no-answer allowed (SQuAD 2.0) the null candidate scores the lowest
/// CLS start+end over the windows, and the best non-null span is answered only when null score − span score is not
/// above NullThreshold. docs/tasks.md §Extractive QA.
/// </summary>
public static class QaPostProcessing
{
    public static QaAnswer Answer(string context, IReadOnlyList<QaWindowLogits> windows, QaDecoding decoding)
    {
        if (windows.Count == 0) throw new ArgumentException("a question needs at least one window", nameof(windows));
        var candidates = new List<(double Score, int Start, int End)>();
        double nullScore = double.PositiveInfinity;
        foreach (var w in windows)
        {
            var f = w.Feature;
            if (w.StartLogits.Length != f.Length || w.EndLogits.Length != f.Length)
                throw new ArgumentException($"window of {f.Length} tokens has {w.StartLogits.Length} start and {w.EndLogits.Length} end logits");
            double windowNull = (double)w.StartLogits[f.ClsIndex] + w.EndLogits[f.ClsIndex];
            nullScore = Math.Min(nullScore, windowNull);
            foreach (int s in TopIndexes(w.StartLogits, decoding.NBest))
                foreach (int e in TopIndexes(w.EndLogits, decoding.NBest))
                {
                    if (!f.InContext(s) || !f.InContext(e)) continue;
                    if (e < s || e - s + 1 > decoding.MaxAnswerLength) continue;
                    candidates.Add(((double)w.StartLogits[s] + w.EndLogits[e], f.Offsets[s].Start, f.Offsets[e].End));
                }
        }
        if (decoding.AllowNoAnswer) candidates.Add((nullScore, -1, -1));
        // A stable sort by score, so equal scores keep the window/position order (Python's sorted is stable too).
        var best = candidates.Select((c, i) => (c, i)).OrderByDescending(x => x.c.Score).ThenBy(x => x.i).Select(x => x.c).Take(decoding.NBest).ToList();
        // utils_qa.py puts the null candidate back when n-best spans pushed it out, so the null decision can always be made.
        if (decoding.AllowNoAnswer && !best.Any(b => b.Start == -1)) best.Add((nullScore, -1, -1));
        // utils_qa.py: no valid span at all (or only the null one) gives a placeholder "empty" answer of score 0.
        if (best.Count == 0 || (best.Count == 1 && best[0].Start < 0)) best.Insert(0, (0, -2, -2));

        double max = best.Max(b => b.Score);
        var exp = best.Select(b => Math.Exp(b.Score - max)).ToArray();
        double sum = exp.Sum();
        QaAnswer Make(int i) => best[i].Start switch
        {
            -1 => new QaAnswer("", -1, -1, best[i].Score, exp[i] / sum, nullScore),
            -2 => new QaAnswer("", -1, -1, 0, exp[i] / sum, nullScore), // the "empty" placeholder: no span could be read
            _ => new QaAnswer(context[best[i].Start..best[i].End], best[i].Start, best[i].End, best[i].Score, exp[i] / sum, nullScore),
        };
        if (!decoding.AllowNoAnswer) return Make(0);
        int firstSpan = best.FindIndex(b => b.Start >= 0);
        if (firstSpan < 0) return Make(best.FindIndex(b => b.Start == -1) is int n && n >= 0 ? n : 0);
        double diff = nullScore - best[firstSpan].Score;
        return diff > decoding.NullThreshold ? Make(best.FindIndex(b => b.Start == -1)) : Make(firstSpan);
    }

    /// <summary>The positions of the <paramref name="n"/> largest values, largest first (ties: the lower position first).</summary>
    public static int[] TopIndexes(float[] values, int n) =>
        Enumerable.Range(0, values.Length).OrderByDescending(i => values[i]).ThenBy(i => i).Take(n).ToArray();
}
