namespace Distil.Text;

/// <summary>HF's "longest_first" truncation (slow tokenizers' <c>truncate_sequences</c>).</summary>
public static class Truncation
{
    /// <summary>
    /// Removes one token at a time from the end of the longer sequence until <c>a.Count + b.Count &lt;= budget</c>.
    /// On a tie the pair (<paramref name="b"/>) loses the token, as in HF (<c>len(ids) &gt; len(pair_ids)</c> else pair).
    /// Note: HF's fast (Rust) tokenizers differ by one token when both sequences are cut and an odd budget is split:
    /// they give the extra token to the longer sequence, or to the pair on a tie (4+4 tokens, budget 7: slow 4+3, fast 3+4).
    /// </summary>
    public static void LongestFirst<T>(List<T> a, List<T>? b, int budget)
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
