using System.Globalization;
using System.Text;
using Distil.Data;
using Distil.Models;
using Distil.Reports;
using Distil.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Distil.MetaKD;

/// <summary>
/// Meta-KD's instance-level transferability (prototype score, docs/metakd.md §Prototype; official generate_meta_weights.py):
/// h(x) = mean of the pre-trained encoder's last-layer states over the tokens after [CLS];
/// p_k = mean of h over domain k (the domain prototype);
/// t(x) = ½ [cos(h(x), p_own) + cos(h(x), mean of the other domains' prototypes)].
/// An example close to its own domain and to the others is typical and transfers well; it gets a larger weight.
/// Deviation from the official code, on purpose: padding is masked out of the mean (the code averages it in, so a
/// score there depends on the batch's longest row). With a single domain there are no other prototypes and t = cos(h, p_own).
/// </summary>
public static class PrototypeScores
{
    /// <summary>h(x) of every example (N, H) from a pre-trained encoder, in the examples' order.</summary>
    public static float[][] Embed(BertModel encoder, IReadOnlyList<EncodedExample> examples, int batchSize, long padId, Device device) =>
        // The classifier's batched, length-sorted pass, with the pooled states (B, H) in place of logits.
        Classifier.Predict(encoder, x => DomainHead.MeanAfterCls(encoder.forward(x).LastHiddenState, x.AttentionMask),
            examples, batchSize, padId, device, softmax: false);

    /// <summary>Prototype of each domain id 0..K-1 (mean embedding); a domain with no example gets null.</summary>
    public static double[]?[] Prototypes(IReadOnlyList<float[]> h, IReadOnlyList<int> domains, int domainCount)
    {
        if (h.Count != domains.Count) throw new ArgumentException($"{h.Count} embeddings but {domains.Count} domain ids");
        var sums = new double[]?[domainCount];
        var counts = new int[domainCount];
        for (int i = 0; i < h.Count; i++)
        {
            int k = domains[i];
            if (k < 0 || k >= domainCount) throw DistilException.BadInput($"example {i} has domain id {k}; prototype scores need a domain for every training row");
            var s = sums[k] ??= new double[h[i].Length];
            for (int j = 0; j < s.Length; j++) s[j] += h[i][j];
            counts[k]++;
        }
        for (int k = 0; k < domainCount; k++)
            if (sums[k] is { } s) for (int j = 0; j < s.Length; j++) s[j] /= counts[k];
        return sums;
    }

    /// <summary>t(x) for every example (see the class summary); prototypes come from the same examples.</summary>
    public static double[] Compute(IReadOnlyList<float[]> h, IReadOnlyList<int> domains, int domainCount)
    {
        var p = Prototypes(h, domains, domainCount);
        var present = Enumerable.Range(0, domainCount).Where(k => p[k] != null).ToArray();
        // Mean of the other domains' prototypes, one per domain (the mean of prototypes, not of all their examples).
        var others = new double[]?[domainCount];
        foreach (int k in present)
        {
            var rest = present.Where(o => o != k).Select(o => p[o]!).ToArray();
            if (rest.Length == 0) continue;
            var m = new double[rest[0].Length];
            foreach (var r in rest) for (int j = 0; j < m.Length; j++) m[j] += r[j] / rest.Length;
            others[k] = m;
        }
        var t = new double[h.Count];
        for (int i = 0; i < h.Count; i++)
        {
            int k = domains[i];
            double own = Cosine(h[i], p[k]!);
            t[i] = others[k] is { } o ? 0.5 * (own + Cosine(h[i], o)) : own;
        }
        return t;
    }

    public static double Cosine(float[] a, double[] b)
    {
        double dot = 0, na = 0, nb = 0;
        for (int j = 0; j < a.Length; j++) { dot += a[j] * b[j]; na += (double)a[j] * a[j]; nb += b[j] * b[j]; }
        return dot / Math.Max(Math.Sqrt(na) * Math.Sqrt(nb), 1e-12);
    }

    /// <summary>Writes the inspectable per-example table: the training rows with their domain, label and columns such as weight.</summary>
    public static void WriteTable(string path, IReadOnlyList<Example> rows, IReadOnlyList<(string Name, IReadOnlyList<double> Values)> columns)
    {
        static string Clean(string? s) => (s ?? "").Replace('\t', ' ').Replace('\n', ' ').Replace('\r', ' ');
        var sb = new StringBuilder("text\tlabel\tdomain\t" + string.Join("\t", columns.Select(c => c.Name)) + "\tsource\n");
        for (int i = 0; i < rows.Count; i++)
            sb.Append(Clean(rows[i].Text)).Append('\t').Append(Clean(rows[i].Label)).Append('\t').Append(Clean(rows[i].Domain)).Append('\t')
              .Append(string.Join("\t", columns.Select(c => c.Values[i].ToString("R", CultureInfo.InvariantCulture))))
              .Append('\t').Append(Clean(rows[i].Source)).Append('\n');
        RunFolder.WriteAtomic(path, sb.ToString());
    }

    /// <summary>Reads one numeric column back from a table written by <see cref="WriteTable"/> (resume), checking the row count.</summary>
    public static double[] ReadColumn(string path, string column, int expectedRows)
    {
        var lines = File.ReadAllLines(path);
        int c = Array.IndexOf(lines[0].Split('\t'), column);
        if (c < 0) throw DistilException.BadInput($"{path}: no column '{column}'; delete the file to recompute it");
        if (lines.Length - 1 != expectedRows)
            throw DistilException.BadInput($"{path}: {lines.Length - 1} rows but the training selection has {expectedRows}; the data changed since it was written, so delete it (or use a new --out)");
        return lines.Skip(1).Select(l => double.Parse(l.Split('\t')[c], CultureInfo.InvariantCulture)).ToArray();
    }
}
