using TorchSharp;
using static TorchSharp.torch;

namespace Distil.Models;

/// <summary>The blend of a cell's intermediate nodes, shared by the supernet's cells and the derived ones.</summary>
public static class CellBlend
{
    /// <summary>Σ_j softmax(weights)_j · nodes[j]; each node (B, H, T).</summary>
    public static Tensor Blend(IReadOnlyList<Tensor> nodes, Tensor weights)
    {
        using var scope = NewDisposeScope();
        var w = nn.functional.softmax(weights, 0);
        Tensor sum = nodes[0] * w[0];
        for (int j = 1; j < nodes.Count; j++) sum = sum + nodes[j] * w[j];
        return sum.MoveToOuterDisposeScope();
    }
}
