namespace Distil.Bench;

/// <summary>Median and p95 (nearest rank) of timed samples in milliseconds.</summary>
public sealed record Timing(double MedianMs, double P95Ms, double[] SamplesMs)
{
    public static Timing Of(IReadOnlyList<double> samples)
    {
        if (samples.Count == 0) throw new ArgumentException("no samples");
        var s = samples.OrderBy(x => x).ToArray();
        double median = s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
        double p95 = s[Math.Clamp((int)Math.Ceiling(0.95 * s.Length) - 1, 0, s.Length - 1)];
        return new Timing(median, p95, samples.ToArray());
    }
}
