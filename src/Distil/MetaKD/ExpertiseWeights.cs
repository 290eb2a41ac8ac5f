namespace Distil.MetaKD;

/// <summary>
/// Meta-KD's domain-expertise weight (docs/metakd.md §Expertise; official meta_distill.py):
/// λ(x) = (1 + t(x)) / (1 + exp((1 - p_y)²)), with p_y the teacher's probability of the gold label and t the prototype
/// score. A confident, correct teacher on a transferable example teaches most; λ lies in ((1+t)/(1+e), (1+t)/2].
/// </summary>
public static class ExpertiseWeights
{
    public static double Lambda(double transferability, double goldProbability)
    {
        double miss = 1 - goldProbability;
        return (1 + transferability) / (1 + Math.Exp(miss * miss));
    }

    /// <summary>λ of every example from the teacher's class probabilities (N, C), the gold labels and the scores t.</summary>
    public static double[] Compute(IReadOnlyList<float[]> teacherProbabilities, IReadOnlyList<long> labels, IReadOnlyList<double> transferability)
    {
        if (teacherProbabilities.Count != labels.Count || labels.Count != transferability.Count)
            throw new ArgumentException($"{teacherProbabilities.Count} predictions, {labels.Count} labels, {transferability.Count} scores");
        return Enumerable.Range(0, labels.Count).Select(i =>
        {
            long y = labels[i];
            if (y < 0 || y >= teacherProbabilities[i].Length) throw DistilException.BadInput($"training row {i} has no gold label; the domain-expertise weight needs labelled rows");
            return Lambda(transferability[i], teacherProbabilities[i][y]);
        }).ToArray();
    }
}
