namespace Distil.Training;

/// <summary>Accuracy, macro-F1, Matthews correlation (multi-class, Gorodkin 2004) and per-domain accuracy.</summary>
public static class ClassificationMetrics
{
    public static Dictionary<string, double> Compute(IReadOnlyList<int> predicted, IReadOnlyList<int> gold, int numLabels,
        IReadOnlyList<int>? domains = null, IReadOnlyList<string>? domainNames = null)
    {
        if (predicted.Count != gold.Count) throw new ArgumentException("predictions and labels differ in length");
        int n = gold.Count;
        var confusion = new long[numLabels, numLabels]; // [gold, predicted]
        for (int i = 0; i < n; i++) confusion[gold[i], predicted[i]]++;

        long correct = 0;
        var t = new long[numLabels];
        var p = new long[numLabels];
        for (int g = 0; g < numLabels; g++)
            for (int q = 0; q < numLabels; q++)
            {
                t[g] += confusion[g, q];
                p[q] += confusion[g, q];
                if (g == q) correct += confusion[g, q];
            }

        double f1Sum = 0;
        for (int k = 0; k < numLabels; k++)
        {
            double tp = confusion[k, k];
            double denom = p[k] + t[k];
            f1Sum += denom == 0 ? 0 : 2 * tp / denom;
        }

        double s = n, c = correct;
        double pt = 0, pp = 0, tt = 0;
        for (int k = 0; k < numLabels; k++) { pt += (double)p[k] * t[k]; pp += (double)p[k] * p[k]; tt += (double)t[k] * t[k]; }
        double mccDenom = Math.Sqrt((s * s - pp) * (s * s - tt));

        var metrics = new Dictionary<string, double>
        {
            ["accuracy"] = n == 0 ? 0 : c / s,
            ["macro_f1"] = numLabels == 0 ? 0 : f1Sum / numLabels,
            ["mcc"] = mccDenom == 0 ? 0 : (c * s - pt) / mccDenom,
        };
        if (domains != null && domainNames != null)
            for (int d = 0; d < domainNames.Count; d++)
            {
                int total = 0, right = 0;
                for (int i = 0; i < n; i++)
                    if (domains[i] == d) { total++; if (predicted[i] == gold[i]) right++; }
                if (total > 0) metrics[$"accuracy_{domainNames[d]}"] = (double)right / total;
            }
        return metrics;
    }
}
