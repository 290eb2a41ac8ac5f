using Distil.Models;
using static TorchSharp.torch;

namespace Distil.Onnx;

/// <summary>How far an exported graph's logits are from the TorchSharp model's on the same padded batches.</summary>
public sealed record ParityResult(string Set, int Examples, int Batches, double MaxAbsDiff, int ArgmaxAgree, IReadOnlyList<string> Shapes)
{
    public double ArgmaxAgreement => Examples == 0 ? 1 : (double)ArgmaxAgree / Examples;
    public bool Passes(double atol) => MaxAbsDiff <= atol && ArgmaxAgree == Examples;
}

/// <summary>
/// Runs the same padded batches through TorchSharp and ONNX Runtime, one engine after the other (never both at once:
/// their thread pools would fight over the cores) and compares logits of the real (unpadded) examples.
/// </summary>
public static class ExportCheck
{
    public const double DefaultAtol = 1e-4;

    public static ParityResult Compare(BertForSequenceClassification model, OrtClassifier ort, string set,
        IReadOnlyList<(long[] Ids, long[] Types)> rows, int batchSize, long padId) =>
        Compare(model, i => model.forward(i).Logits, ort, set, rows, batchSize, padId);

    /// <summary>Any classifier module (a BERT, an AdaBERT CNN student) given by its logits function.</summary>
    /// <param name="tokenLabels">For a token model (logits (B, T, C)) its C: an example agrees when the argmax agrees at
    /// every real token; 0 for a sequence model (one argmax per example).</param>
    public static ParityResult Compare(TorchSharp.torch.nn.Module model, Func<BertInputs, Tensor> logitsOf, OrtClassifier ort, string set,
        IReadOnlyList<(long[] Ids, long[] Types)> rows, int batchSize, long padId, int tokenLabels = 0)
    {
        if (rows.Count == 0) return new ParityResult(set, 0, 0, 0, 0, []);
        var order = Enumerable.Range(0, rows.Count).OrderBy(i => rows[i].Ids.Length).ToArray();
        var batches = order.Chunk(batchSize).Select(chunk => (chunk, padded: OrtClassifier.Pad(chunk.Select(i => rows[i]).ToArray(), padId))).ToList();

        var torchLogits = new float[rows.Count][];
        bool wasTraining = model.training;
        model.eval();
        using (no_grad())
            foreach (var (chunk, (ids, mask, types, len)) in batches)
            {
                using var scope = NewDisposeScope();
                long[] shape = [chunk.Length, len];
                var logits = logitsOf(new BertInputs(tensor(ids).view(shape), tensor(mask).view(shape), tensor(types).view(shape))).cpu();
                var flat = logits.data<float>().ToArray();
                int classes = flat.Length / chunk.Length; // (B, C), or a token head's (B, T, C): each row's T x C values, as ORT's
                for (int k = 0; k < chunk.Length; k++) torchLogits[chunk[k]] = flat.AsSpan(k * classes, classes).ToArray();
            }
        if (wasTraining) model.train();

        var ortLogits = new float[rows.Count][];
        foreach (var (chunk, (ids, mask, types, len)) in batches)
        {
            var logits = ort.Run(ids, mask, types, chunk.Length, len);
            for (int k = 0; k < chunk.Length; k++) ortLogits[chunk[k]] = logits[k];
        }

        double maxDiff = 0;
        int agree = 0;
        for (int i = 0; i < rows.Count; i++)
        {
            if (ortLogits[i].Length != torchLogits[i].Length)
                throw DistilException.BadInput($"{ort.Path}: ONNX Runtime gives {ortLogits[i].Length} logits per example, the model {torchLogits[i].Length}");
            for (int k = 0; k < ortLogits[i].Length; k++)
            {
                double d = Math.Abs(ortLogits[i][k] - torchLogits[i][k]);
                maxDiff = Math.Max(maxDiff, double.IsNaN(d) ? double.PositiveInfinity : d);
            }
            bool same = tokenLabels > 0
                ? Enumerable.Range(0, rows[i].Ids.Length).All(p => OrtClassifier.ArgMax(ortLogits[i][(p * tokenLabels)..((p + 1) * tokenLabels)])
                    == OrtClassifier.ArgMax(torchLogits[i][(p * tokenLabels)..((p + 1) * tokenLabels)]))
                : OrtClassifier.ArgMax(ortLogits[i]) == OrtClassifier.ArgMax(torchLogits[i]);
            if (same) agree++;
        }
        var shapes = batches.Select(b => $"{b.chunk.Length}x{b.padded.SeqLen}").Distinct().ToList();
        return new ParityResult(set, rows.Count, batches.Count, maxDiff, agree, shapes);
    }

    /// <summary>
    /// Random token rows (seeded) of mixed lengths between 2 and <paramref name="maxLen"/>, with [CLS]/[SEP]-like ends
    /// and some pairs (token type 1 on the second part): batches of them differ in size and padding.
    /// </summary>
    public static List<(long[] Ids, long[] Types)> RandomRows(int count, int vocabSize, int maxLen, int typeVocab, int seed)
    {
        var rng = new Random(seed);
        var rows = new List<(long[], long[])>();
        for (int i = 0; i < count; i++)
        {
            int len = rng.Next(2, Math.Max(3, maxLen + 1));
            var ids = Enumerable.Range(0, len).Select(_ => (long)rng.Next(1, vocabSize)).ToArray();
            var types = new long[len];
            if (typeVocab > 1 && i % 3 == 1 && len > 3) Array.Fill(types, 1L, len / 2, len - len / 2);
            rows.Add((ids, types));
        }
        return rows;
    }
}
