namespace Distil.Training.Metrics;

/// <summary>
/// Pearson and Spearman correlation and mean squared error of predicted against gold scores (STS-B style).
/// A correlation that is undefined (fewer than two points, or either side constant) is 0, not NaN: result.json
/// cannot hold NaN, and a constant predictor has no correlation to speak of (the same convention as MCC in
/// ClassificationMetrics). docs/tasks.md §Regression.
/// </summary>
public static class RegressionMetrics
{
    public static Dictionary<string, double> Compute(IReadOnlyList<double> predicted, IReadOnlyList<double> gold)
    {
        Check(predicted, gold);
        return new Dictionary<string, double>
        {
            ["pearson"] = Pearson(predicted, gold),
            ["spearman"] = Spearman(predicted, gold),
            ["mse"] = MeanSquaredError(predicted, gold),
        };
    }

    /// <summary>Sum of products of deviations over the root of the product of the sums of squares (two passes).</summary>
    public static double Pearson(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        Check(x, y);
        int n = x.Count;
        if (n < 2) return 0;
        double mx = 0, my = 0;
        for (int i = 0; i < n; i++) { mx += x[i]; my += y[i]; }
        mx /= n;
        my /= n;
        double sxy = 0, sxx = 0, syy = 0;
        for (int i = 0; i < n; i++)
        {
            double dx = x[i] - mx, dy = y[i] - my;
            sxy += dx * dy;
            sxx += dx * dx;
            syy += dy * dy;
        }
        if (sxx == 0 || syy == 0) return 0;
        return Math.Clamp(sxy / Math.Sqrt(sxx * syy), -1, 1);
    }

    /// <summary>Pearson of the ranks, tied values sharing the average of their ranks (scipy's rankdata "average").</summary>
    public static double Spearman(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        Check(x, y);
        return Pearson(AverageRanks(x), AverageRanks(y));
    }

    /// <summary>Ranks from 1; a run of k equal values at ranks r..r+k-1 each gets r + (k - 1) / 2.</summary>
    public static double[] AverageRanks(IReadOnlyList<double> values)
    {
        var order = Enumerable.Range(0, values.Count).OrderBy(i => values[i]).ToArray(); // stable; ties share a rank anyway
        var ranks = new double[values.Count];
        for (int start = 0; start < order.Length;)
        {
            int end = start;
            while (end + 1 < order.Length && values[order[end + 1]] == values[order[start]]) end++;
            double rank = (start + end) / 2.0 + 1;
            for (int k = start; k <= end; k++) ranks[order[k]] = rank;
            start = end + 1;
        }
        return ranks;
    }

    public static double MeanSquaredError(IReadOnlyList<double> predicted, IReadOnlyList<double> gold)
    {
        Check(predicted, gold);
        if (gold.Count == 0) return 0;
        double sum = 0;
        for (int i = 0; i < gold.Count; i++) { double d = predicted[i] - gold[i]; sum += d * d; }
        return sum / gold.Count;
    }

    static void Check(IReadOnlyList<double> predicted, IReadOnlyList<double> gold)
    {
        if (predicted.Count != gold.Count) throw DistilException.BadInput($"{predicted.Count} predictions but {gold.Count} gold scores");
        for (int i = 0; i < gold.Count; i++)
            if (!double.IsFinite(predicted[i]) || !double.IsFinite(gold[i]))
                throw DistilException.BadInput($"row {i}: score is not a finite number (predicted {predicted[i]}, gold {gold[i]})");
    }
}
