using TorchSharp;

namespace Distil.Data;

/// <summary>Pads rows to the longest in the batch and builds the tensors.</summary>
public static class Collator
{
    /// <summary>Collates <paramref name="data"/>[i] for each i in <paramref name="indices"/>.</summary>
    public static Batch CollateAt(IReadOnlyList<EncodedExample> data, IReadOnlyList<int> indices, long padId) =>
        Collate(indices.Select(i => data[i]).ToArray(), padId, indices);

    /// <param name="indices">positions of the rows in their data set; default 0..B-1.</param>
    public static Batch Collate(IReadOnlyList<EncodedExample> rows, long padId, IReadOnlyList<int>? indices = null)
    {
        int b = rows.Count;
        if (b == 0) throw new ArgumentException("cannot collate an empty batch", nameof(rows));
        if (indices != null && indices.Count != b) throw new ArgumentException($"{indices.Count} indices for {b} rows", nameof(indices));
        int t = rows.Max(r => r.InputIds.Length);
        var ids = new long[b * t];
        var mask = new long[b * t];
        var types = new long[b * t]; // padding positions get type 0, as HF
        Array.Fill(ids, padId);
        var labels = new long[b];
        var domains = new long[b];
        // Token tasks: labels (B, T), -100 on padding; regression / multi-label: float targets (B, K).
        bool tokens = rows[0].Tokens != null, targets = rows[0].Targets != null;
        var tokenLabels = tokens ? new long[b * t] : null;
        if (tokenLabels != null) Array.Fill(tokenLabels, TokenLabelAlignment.Ignore);
        int k = targets ? rows[0].Targets!.Length : 0;
        var targetValues = targets ? new float[b * k] : null;
        for (int i = 0; i < b; i++)
        {
            var r = rows[i];
            if (r.TokenTypeIds.Length != r.InputIds.Length) throw new ArgumentException($"row {i}: {r.InputIds.Length} ids but {r.TokenTypeIds.Length} token types", nameof(rows));
            Array.Copy(r.InputIds, 0, ids, i * t, r.InputIds.Length);
            Array.Copy(r.TokenTypeIds, 0, types, i * t, r.TokenTypeIds.Length);
            Array.Fill(mask, 1L, i * t, r.InputIds.Length);
            labels[i] = r.Label;
            domains[i] = r.Domain;
            if (tokenLabels != null) Array.Copy((r.Tokens ?? throw new ArgumentException($"row {i} has no token labels", nameof(rows))).Labels, 0, tokenLabels, i * t, r.InputIds.Length);
            if (targetValues != null) Array.Copy(r.Targets ?? throw new ArgumentException($"row {i} has no targets", nameof(rows)), 0, targetValues, i * k, k);
        }
        long[] shape = { b, t };
        return new Batch(
            torch.tensor(ids, shape), torch.tensor(mask, shape), torch.tensor(types, shape),
            tokenLabels != null ? torch.tensor(tokenLabels, shape) : targetValues != null ? torch.tensor(targetValues, new long[] { b, k }) : torch.tensor(labels),
            torch.tensor(domains),
            indices?.ToArray() ?? Enumerable.Range(0, b).ToArray());
    }
}
