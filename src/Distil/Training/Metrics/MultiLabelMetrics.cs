namespace Distil.Training.Metrics;

/// <summary>Precision, recall, F1 and support (gold positives) of one label.</summary>
public readonly record struct LabelScore(double Precision, double Recall, double F1, int Support);

/// <summary>Micro F1 (over all label decisions), macro F1 (mean of the per-label F1s), per-label scores, subset accuracy.</summary>
public sealed record MultiLabelReport(double MicroF1, double MacroF1, IReadOnlyList<LabelScore> PerLabel, double SubsetAccuracy);

/// <summary>
/// Multi-label scores from per-label probabilities: a label is predicted when its probability is at least the
/// threshold. Ratios with a zero denominator are 0 (scikit-learn's zero_division default). docs/tasks.md §Multi-label.
/// </summary>
public static class MultiLabelMetrics
{
    public const double DefaultThreshold = 0.5;

    /// <param name="probabilities">[row][label], each in [0, 1].</param>
    /// <param name="gold">[row][label], whether the label applies.</param>
    public static MultiLabelReport Compute(IReadOnlyList<IReadOnlyList<double>> probabilities, IReadOnlyList<IReadOnlyList<bool>> gold,
        double threshold = DefaultThreshold)
    {
        if (probabilities.Count != gold.Count) throw DistilException.BadInput($"{probabilities.Count} prediction rows but {gold.Count} gold rows");
        int labels = gold.Count == 0 ? 0 : gold[0].Count;
        var tp = new int[labels];
        var fp = new int[labels];
        var fn = new int[labels];
        int exactRows = 0;
        for (int r = 0; r < gold.Count; r++)
        {
            if (gold[r].Count != labels || probabilities[r].Count != labels)
                throw DistilException.BadInput($"row {r}: {probabilities[r].Count} probabilities and {gold[r].Count} gold labels, expected {labels}");
            bool allRight = true;
            for (int k = 0; k < labels; k++)
            {
                double p = probabilities[r][k];
                if (!(p >= 0 && p <= 1)) throw DistilException.BadInput($"row {r}, label {k}: probability {p} is not in [0, 1]");
                bool predicted = p >= threshold, truth = gold[r][k];
                if (predicted && truth) tp[k]++;
                else if (predicted) fp[k]++;
                else if (truth) fn[k]++;
                allRight &= predicted == truth;
            }
            if (allRight) exactRows++;
        }

        var perLabel = new LabelScore[labels];
        double macro = 0;
        for (int k = 0; k < labels; k++)
        {
            perLabel[k] = new LabelScore(Ratio(tp[k], tp[k] + fp[k]), Ratio(tp[k], tp[k] + fn[k]), F1(tp[k], fp[k], fn[k]), tp[k] + fn[k]);
            macro += perLabel[k].F1;
        }
        return new MultiLabelReport(F1(tp.Sum(), fp.Sum(), fn.Sum()), labels == 0 ? 0 : macro / labels, perLabel,
            gold.Count == 0 ? 0 : (double)exactRows / gold.Count);
    }

    static double Ratio(int a, int b) => b == 0 ? 0 : (double)a / b;

    /// <summary>2TP / (2TP + FP + FN), the harmonic mean of precision and recall written in counts.</summary>
    static double F1(int tp, int fp, int fn) => Ratio(2 * tp, 2 * tp + fp + fn);
}
