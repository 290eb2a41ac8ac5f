using Distil.Data;
using Distil.Models;
using Distil.Text;
using Distil.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Distil.Augment.L2A;

/// <summary>
/// The teacher's sentence vectors (mean-pooled last hidden states) that the discriminator and the selector's features
/// read; the teacher's logits come from the label store (<see cref="Labels.TeacherLabels"/>).
/// </summary>
public static class TeacherView
{
    public static EncodedExample[] Encode(IEnumerable<(string Text, string? Pair)> texts, TextTokenizer tokenizer, int maxSeqLen) =>
        texts.Select(t =>
        {
            var enc = tokenizer.Encode(t.Text, t.Pair, maxSeqLen);
            return new EncodedExample(enc.InputIds, enc.TokenTypeIds, -1, DomainSet.None);
        }).ToArray();

    /// <summary>Mean-pooled last hidden states (N, H) of one teacher pass over <paramref name="examples"/> (batched by length), in their order.</summary>
    public static Tensor Pooled(EncoderClassifier teacher, IReadOnlyList<EncodedExample> examples, int batchSize, long padId, Device device)
    {
        teacher.eval();
        var pooled = new Tensor[examples.Count];
        var order = Enumerable.Range(0, examples.Count).OrderBy(i => examples[i].InputIds.Length).ToArray();
        using (no_grad())
            foreach (var chunk in order.Chunk(batchSize))
            {
                using var scope = NewDisposeScope();
                using var batch = Collator.CollateAt(examples, chunk, padId);
                var inputs = Classifier.Inputs(batch, device);
                var output = teacher.forward(inputs);
                var h = BertForSequenceClassification.MeanPool(output.Encoder.LastHiddenState, inputs.AttentionMask).cpu(); // (B, H)
                for (int k = 0; k < chunk.Length; k++)
                {
                    pooled[chunk[k]] = h[k].clone().MoveToOuterDisposeScope();
                }
            }
        var stacked = examples.Count > 0 ? stack(pooled, 0) : zeros(0, teacher.Shape.HiddenSize); // (N, H)
        foreach (var t in pooled) t.Dispose();
        return stacked;
    }

    /// <summary>The teacher's logits (N, C) and mean-pooled sentence vectors (N, H) of <paramref name="texts"/> from one pass (no gradient).</summary>
    public static (float[][] Logits, Tensor Pooled) LogitsAndPooled(EncoderClassifier teacher, IReadOnlyList<EncodedExample> examples, long padId, Device device)
    {
        teacher.eval();
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        using var batch = Collator.CollateAt(examples, Enumerable.Range(0, examples.Count).ToArray(), padId);
        var inputs = Classifier.Inputs(batch, device);
        var output = teacher.forward(inputs);
        var logits = output.Logits.cpu(); // (N, C)
        int c = (int)logits.shape[1];
        var flat = logits.data<float>().ToArray();
        var rows = Enumerable.Range(0, examples.Count).Select(i => flat.AsSpan(i * c, c).ToArray()).ToArray();
        return (rows, BertForSequenceClassification.MeanPool(output.Encoder.LastHiddenState, inputs.AttentionMask).cpu().MoveToOuterDisposeScope()); // (N, H)
    }
}
