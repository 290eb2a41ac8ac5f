namespace Distil.Text;

/// <summary>HF's "longest_first" truncation (slow tokenizers' <c>truncate_sequences</c>).</summary>
public static class Truncation
{
    /// <summary>
    /// Removes one token at a time from the end of the longer sequence until <c>a.Count + b.Count &lt;= budget</c>.
    /// On a tie the pair (<paramref name="b"/>) loses the token, as in HF (<c>len(ids) &gt; len(pair_ids)</c> else pair).
    /// </summary>
    public static void LongestFirst(List<int> a, List<int>? b, int budget)
    {
        if (budget < 0) throw new ArgumentOutOfRangeException(nameof(budget));
        int bCount = b?.Count ?? 0;
        int toRemove = a.Count + bCount - budget;
        for (int i = 0; i < toRemove; i++)
        {
            if (b == null || a.Count > b.Count) a.RemoveAt(a.Count - 1);
            else b.RemoveAt(b.Count - 1);
        }
    }
}
