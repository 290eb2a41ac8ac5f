using Distil.Data;

namespace Distil.Augment.L2A;

/// <summary>Seeded subsets: the target portion (stratified by label) and uniform samples of row indices.</summary>
public static class Split
{
    /// <summary>round(portion x rows) of each label's rows (at least one), chosen by a seeded shuffle, in file order.</summary>
    public static IReadOnlyList<Example> Portion(IReadOnlyList<Example> rows, double portion, int seed)
    {
        var rng = new Random(seed);
        var chosen = new HashSet<int>();
        foreach (var group in Enumerable.Range(0, rows.Count).GroupBy(i => rows[i].Label ?? "").OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var idx = group.ToArray();
            for (int i = idx.Length - 1; i > 0; i--) { int j = rng.Next(i + 1); (idx[i], idx[j]) = (idx[j], idx[i]); }
            foreach (int i in idx.Take(Math.Max(1, (int)Math.Round(portion * idx.Length)))) chosen.Add(i);
        }
        return chosen.OrderBy(i => i).Select(i => rows[i]).ToArray();
    }

    /// <summary><paramref name="count"/> distinct indices of 0..n-1, seeded, in increasing order.</summary>
    public static int[] Sample(int n, int count, int seed)
    {
        var rng = new Random(seed);
        var idx = Enumerable.Range(0, n).ToArray();
        for (int i = 0; i < Math.Min(count, n); i++) { int j = i + rng.Next(n - i); (idx[i], idx[j]) = (idx[j], idx[i]); }
        return idx.Take(Math.Min(count, n)).OrderBy(i => i).ToArray();
    }
}
