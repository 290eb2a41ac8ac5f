using TorchSharp;
using static TorchSharp.torch;

namespace Distil.Data;

/// <summary>
/// A padded batch as int64 tensors: ids/mask/types [B, T] with T = the longest row of this batch (dynamic padding),
/// labels and domains [B]. Owns its tensors: dispose it after the step.
/// </summary>
public sealed class Batch : IDisposable
{
    public Tensor InputIds { get; }
    public Tensor AttentionMask { get; }
    public Tensor TokenTypeIds { get; }
    public Tensor Labels { get; }
    public Tensor Domains { get; }
    /// <summary>Positions of the rows in the encoded data set, for per-example outputs and resumption checks.</summary>
    public IReadOnlyList<int> Indices { get; }
    public int Size => Indices.Count;
    public long SeqLen => InputIds.shape[1];

    public Batch(Tensor inputIds, Tensor attentionMask, Tensor tokenTypeIds, Tensor labels, Tensor domains, IReadOnlyList<int> indices)
    {
        InputIds = inputIds; AttentionMask = attentionMask; TokenTypeIds = tokenTypeIds;
        Labels = labels; Domains = domains; Indices = indices;
    }

    public void Dispose()
    {
        InputIds.Dispose(); AttentionMask.Dispose(); TokenTypeIds.Dispose(); Labels.Dispose(); Domains.Dispose();
    }
}
