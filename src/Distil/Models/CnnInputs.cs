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
        var m = attentionMask.to(embedded.dtype).unsqueeze(-1);                           // (B, T, 1)
        var seg = tokenTypes is null ? zeros_like(m) : tokenTypes.clamp(0, 1).to(embedded.dtype).unsqueeze(-1);
        var a = embedded * (m * (1 - seg));
        var b = embedded * (m * seg);
        var hasPair = (m * seg).sum(1, keepdim: true).gt(0);                               // (B, 1, 1)
        var s0 = where(hasPair, a, embedded * m).transpose(1, 2);                          // (B, H, T)
        var s1 = where(hasPair, b, embedded * m).transpose(1, 2);                          // (B, H, T)
        var mask = m.transpose(1, 2);                                                      // (B, 1, T)
        return (s0.contiguous().MoveToOuterDisposeScope(), s1.contiguous().MoveToOuterDisposeScope(), mask.MoveToOuterDisposeScope());
    }

    public const string MeanPooling = "mean", MaxPooling = "max";

    /// <summary>The head's pooling over tokens ("mean", the paper's, or "max", max over time as in CNN text classifiers).</summary>
    public static Tensor Pool(Tensor cell, Tensor mask, string pooling) => pooling == MaxPooling ? MaxPool(cell, mask) : MeanPool(cell, mask);

    /// <summary>Max over the real tokens: (B, H, T), (B, 1, T) -> (B, H). Padding never wins (it is -1e30 first).</summary>
    public static Tensor MaxPool(Tensor cell, Tensor mask)
    {
        using var scope = NewDisposeScope();
        return cell.masked_fill(mask.eq(0), -1e30f).amax(new long[] { -1 }).MoveToOuterDisposeScope();
    }

    /// <summary>Mean over tokens: (B, H, T), (B, 1, T) -> (B, H).</summary>
    public static Tensor MeanPool(Tensor cell, Tensor mask)
    {
        using var scope = NewDisposeScope();
        return ((cell * mask).sum(-1) / mask.sum(-1).clamp_min(1e-9)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The depth-K classifier input (docs/adabert.md §Heads): tanh(Σ_{i=0..K} softmax(layerWeights)_i · pooled_i), pooled_0 the
    /// embedding layer and pooled_i cell i. (K+1) x (B, H) -> (B, H).
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
