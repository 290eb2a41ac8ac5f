// Student inputs shared by the supernet and the derived model. Shapes: B = batch, T = tokens, H = hidden.
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Distil.Models;

public static class CnnInputs
{
    /// <summary>
    /// Position ids that restart at 0 for the second sentence of a pair (TF AdaBERT): cumsum over each segment - 1.
    /// (B, T) token types -> (B, T) int64.
    /// </summary>
    public static Tensor Positions(Tensor tokenTypes)
    {
        using var scope = NewDisposeScope();
        var second = tokenTypes.clamp(0, 1);          // (B, T): 1 on sentence B
        var first = 1 - second;
        var pos = where(second.eq(1), second.cumsum(1) - 1, first.cumsum(1) - 1).clamp_min(0);
        return pos.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The two inputs of the first cell: sentence A and sentence B of each row (masks, as the TF code), or the same
    /// embedding twice for a row without a second sentence. (B, T, H) -> s0, s1 (B, H, T) and the padding mask (B, 1, T).
    /// </summary>
    public static (Tensor S0, Tensor S1, Tensor Mask) Split(Tensor embedded, Tensor? tokenTypes, Tensor attentionMask)
    {
        using var scope = NewDisposeScope();
        var sides = HeadMasks(tokenTypes, attentionMask, PairHead).to(embedded.dtype);   // (B, 2, T): A's and B's tokens, or all twice
        var h = embedded.transpose(1, 2);                                                  // (B, T, H) -> (B, H, T)
        var s0 = h * sides.narrow(1, 0, 1);                                                // (B, H, T)
        var s1 = h * sides.narrow(1, 1, 1);                                                // (B, H, T)
        var mask = attentionMask.to(embedded.dtype).unsqueeze(1);                          // (B, 1, T)
        return (s0.contiguous().MoveToOuterDisposeScope(), s1.contiguous().MoveToOuterDisposeScope(), mask.MoveToOuterDisposeScope());
    }

    public const string MeanPooling = "mean", MaxPooling = "max";

    /// <summary>
    /// The classifier's input: "pooled" (the paper's: one vector of all tokens of both texts) or "pair" (each text of a
    /// pair pooled apart into u and v, then [u, v, |u - v|, u * v] as in InferSent and Sentence-BERT; docs/adabert.md
    /// §Heads). A linear head on one pooled vector can add up what the two texts hold but not compare them.
    /// </summary>
    public const string PooledHead = "pooled", PairHead = "pair";

    /// <summary>Width of the classifier input for a head: H or 4H.</summary>
    public static int FeatureSize(int hidden, string head) => head == PairHead ? 4 * hidden : hidden;

    /// <summary>
    /// The token masks a head pools over, (B, T) types and mask -> (B, S, T): "pooled" every real token (S = 1); "pair"
    /// sentence A's and sentence B's real tokens (S = 2), or every real token twice for a row without a second sentence.
    /// </summary>
    public static Tensor HeadMasks(Tensor? tokenTypes, Tensor attentionMask, string head)
    {
        using var scope = NewDisposeScope();
        var m = attentionMask.to(float32).unsqueeze(1);                                    // (B, 1, T)
        if (head != PairHead) return m.MoveToOuterDisposeScope();
        var seg = tokenTypes is null ? zeros_like(m) : tokenTypes.clamp(0, 1).to(float32).unsqueeze(1); // (B, 1, T)
        var b = m * seg;
        var hasPair = b.sum(-1, keepdim: true).gt(0);                                     // (B, 1, 1)
        var masks = cat([where(hasPair, m * (1 - seg), m), where(hasPair, b, m)], 1);     // (B, 2, T)
        return masks.MoveToOuterDisposeScope();
    }

    /// <summary>The head's pooling over tokens under each mask ("mean", the paper's, or "max", max over time as in CNN
    /// text classifiers): (B, H, T), (B, S, T) -> (B, S, H). Padding never counts (max: it is -1e30 first).</summary>
    public static Tensor Pool(Tensor cell, Tensor masks, string pooling)
    {
        using var scope = NewDisposeScope();
        var x = cell.unsqueeze(1);                                                         // (B, 1, H, T)
        var m = masks.to(cell.dtype).unsqueeze(2);                                         // (B, S, 1, T)
        var pooled = pooling == MaxPooling
            ? where(m.eq(0), tensor(-1e30f, dtype: cell.dtype, device: cell.device), x).amax(new long[] { -1 })
            : (x * m).sum(-1) / m.sum(-1).clamp_min(1e-9);                                 // (B, S, H)
        return pooled.MoveToOuterDisposeScope();
    }

    /// <summary>The classifier input from the combined pooled vectors: (B, S, H) -> (B, H) for "pooled", (B, 4H) for "pair".</summary>
    public static Tensor HeadInput(Tensor combined, string head)
    {
        using var scope = NewDisposeScope();
        if (head != PairHead) return combined.squeeze(1).MoveToOuterDisposeScope();       // (B, 1, H) -> (B, H)
        var u = combined.select(1, 0);                                                     // (B, H)
        var v = combined.select(1, 1);                                                     // (B, H)
        return cat([u, v, (u - v).abs(), u * v], 1).MoveToOuterDisposeScope();            // (B, 4H)
    }

    /// <summary>
    /// The depth-K pooled vectors (docs/adabert.md §Heads): tanh(Σ_{i=0..K} softmax(layerWeights)_i · pooled_i), pooled_0 the
    /// embedding layer and pooled_i cell i. (K+1) x (B, S, H) -> (B, S, H).
    /// </summary>
    public static Tensor Combine(IReadOnlyList<Tensor> pooled, Tensor layerWeights)
    {
        using var scope = NewDisposeScope();
        var w = nn.functional.softmax(layerWeights, 0);
        Tensor sum = pooled[0] * w[0];
        for (int i = 1; i < pooled.Count; i++) sum = sum + pooled[i] * w[i];
        return sum.tanh().MoveToOuterDisposeScope();
    }
}
