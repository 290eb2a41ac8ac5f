using Distil.Data;
using Distil.Models;
using Distil.Text;
using Distil.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Distil.Augment.L2A;

/// <summary>What the teacher says about a set of texts: logits (N, C) and mean-pooled last hidden states (N, H).</summary>
public sealed record TeacherOutputs(float[][] Logits, Tensor Pooled)
{
    public float[][] Probabilities => Logits.Select(Softmax).ToArray();

    public static float[] Softmax(float[] z)
    {
        float max = z.Max();
        var e = z.Select(v => MathF.Exp(v - max)).ToArray();
        float s = e.Sum();
        return e.Select(v => v / s).ToArray();
    }
}

public static class TeacherView
{
    public static EncodedExample[] Encode(IEnumerable<(string Text, string? Pair)> texts, TextTokenizer tokenizer, int maxSeqLen) =>
        texts.Select(t =>
        {
            var enc = tokenizer.Encode(t.Text, t.Pair, maxSeqLen);
            return new EncodedExample(enc.InputIds, enc.TokenTypeIds, -1, DomainSet.None);
        }).ToArray();

    /// <summary>One teacher pass over <paramref name="examples"/> (batched by length), in their order.</summary>
    public static TeacherOutputs Run(EncoderClassifier teacher, IReadOnlyList<EncodedExample> examples, int batchSize, long padId, Device device)
    {
        teacher.eval();
        var logits = new float[examples.Count][];
        var pooled = new Tensor[examples.Count];
        var order = Enumerable.Range(0, examples.Count).OrderBy(i => examples[i].InputIds.Length).ToArray();
        using (no_grad())
            foreach (var chunk in order.Chunk(batchSize))
            {
                using var scope = NewDisposeScope();
                using var batch = Collator.CollateAt(examples, chunk, padId);
                var inputs = Classifier.Inputs(batch, device);
                var output = teacher.forward(inputs);
                var z = output.Logits.cpu();                                                                   // (B, C)
                var h = BertForSequenceClassification.MeanPool(output.Encoder.LastHiddenState, inputs.AttentionMask).cpu(); // (B, H)
                int c = (int)z.shape[1];
                var flat = z.data<float>().ToArray();
                for (int k = 0; k < chunk.Length; k++)
                {
                    logits[chunk[k]] = flat.AsSpan(k * c, c).ToArray();
                    pooled[chunk[k]] = h[k].clone().MoveToOuterDisposeScope();
                }
            }
        var stacked = examples.Count > 0 ? stack(pooled, 0) : zeros(0, teacher.Shape.HiddenSize); // (N, H)
        foreach (var t in pooled) t.Dispose();
        return new TeacherOutputs(logits, stacked);
    }
}
