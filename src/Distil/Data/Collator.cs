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
        for (int i = 0; i < b; i++)
        {
            var r = rows[i];
            if (r.TokenTypeIds.Length != r.InputIds.Length) throw new ArgumentException($"row {i}: {r.InputIds.Length} ids but {r.TokenTypeIds.Length} token types", nameof(rows));
            Array.Copy(r.InputIds, 0, ids, i * t, r.InputIds.Length);
            Array.Copy(r.TokenTypeIds, 0, types, i * t, r.TokenTypeIds.Length);
            Array.Fill(mask, 1L, i * t, r.InputIds.Length);
            labels[i] = r.Label;
            domains[i] = r.Domain;
        }
        long[] shape = { b, t };
        return new Batch(
            torch.tensor(ids, shape), torch.tensor(mask, shape), torch.tensor(types, shape),
            torch.tensor(labels), torch.tensor(domains),
            indices?.ToArray() ?? Enumerable.Range(0, b).ToArray());
    }
}
