using Distil.Data;

namespace Distil.MetaKD;

/// <summary>
/// Which training rows each part of Meta-KD sees: the chosen domains, a seeded fraction of each domain's rows
/// (few-shot, official --data_portion), and a held-out domain that the teacher never sees (zero-shot).
/// </summary>
public static class DomainSelection
{
    /// <summary>
    /// Indices (ascending) of the rows kept: for each domain in <paramref name="domainIds"/>, ceil(portion · n) rows of
    /// that domain drawn by a seeded shuffle (at least one). The draw of one domain does not depend on the others.
    /// </summary>
    public static int[] Sample(IReadOnlyList<EncodedExample> rows, IReadOnlyCollection<int> domainIds, double portion, int seed)
    {
        if (!(portion > 0 && portion <= 1)) throw DistilException.Usage($"data portion {portion} must be in (0, 1]");
        var kept = new List<int>();
        foreach (int d in domainIds)
        {
            var mine = Enumerable.Range(0, rows.Count).Where(i => rows[i].Domain == d).ToArray();
            if (mine.Length == 0) continue;
            int n = Math.Max(1, (int)Math.Ceiling(portion * mine.Length));
            var rng = new Random(unchecked(seed * 7919 + d));
            for (int i = mine.Length - 1; i > 0; i--)
            {
                int j = rng.Next(i + 1);
                (mine[i], mine[j]) = (mine[j], mine[i]);
            }
            kept.AddRange(mine.Take(n));
        }
        kept.Sort();
        return kept.ToArray();
    }

    /// <summary>The subset of <paramref name="indices"/> whose row is in one of <paramref name="domainIds"/>.</summary>
    public static int[] OfDomains(IReadOnlyList<EncodedExample> rows, IEnumerable<int> indices, IReadOnlyCollection<int> domainIds) =>
        indices.Where(i => domainIds.Contains(rows[i].Domain)).ToArray();

    public static T[] Pick<T>(IReadOnlyList<T> rows, IEnumerable<int> indices) => indices.Select(i => rows[i]).ToArray();
}
