// The supernet's cell: 9 mixed edges, each holding all 10 candidate ops, and the blend of the 3 intermediate nodes.
// Shapes: B = batch, H = hidden (channels), T = sequence length; cell tensors are (B, H, T) for Conv1d.
using Distil.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Distil.Search;

/// <summary>One edge of the supernet: every candidate op with its own weights.</summary>
public sealed class MixedOp : nn.Module
{
    public readonly ModuleList<nn.Module<Tensor, Tensor, Tensor>> ops;

    public MixedOp(int hidden) : base(nameof(MixedOp))
    {
        ops = new ModuleList<nn.Module<Tensor, Tensor, Tensor>>(SearchSpace.Ops.Select(o => CellOps.Create(o, hidden, affine: false)).ToArray());
        RegisterComponents();
    }

    /// <summary>
    /// Σ_o w_o · op_o(x). With <paramref name="sampled"/> (the op whose weight is the hard one-hot's 1) only that op runs:
    /// w_sampled · op_sampled(x) has the same value, and alpha still gets the straight-through gradient through
    /// w_sampled (GDAS-style); running all 10 ops per edge would cost ~10x on a CPU for terms that are multiplied by 0.
    /// </summary>
    /// <param name="weights">(10,) op weights for this edge.</param>
    public Tensor forward(Tensor x, Tensor mask, Tensor weights, long? sampled)
    {
        using var scope = NewDisposeScope();
        Tensor y;
        if (sampled is long k) y = weights[k] * ops[(int)k].forward(x, mask);
        else
        {
            y = zeros_like(x);
            for (int o = 0; o < ops.Count; o++) y = y + weights[o] * ops[o].forward(x, mask);
        }
        return y.MoveToOuterDisposeScope();
    }
}

/// <summary>
/// A supernet cell: inputs (s0, s1) = the two previous cells' outputs; node j = Σ_{i&lt;j} edge_{ij}(n_i);
/// output = Σ_j softmax(node_weights)_j · n_j (TF att_node_weights / PyTorch cell_wise_blend_weights).
/// </summary>
public sealed class SearchCell : nn.Module
{
    public readonly ModuleList<MixedOp> edges;
    public readonly Parameter node_weights;

    public SearchCell(int hidden) : base(nameof(SearchCell))
    {
        edges = new ModuleList<MixedOp>(Enumerable.Range(0, SearchSpace.EdgesPerCell).Select(_ => new MixedOp(hidden)).ToArray());
        node_weights = nn.Parameter(randn(SearchSpace.Nodes) * 1e-2);
        RegisterComponents();
    }

    /// <param name="opWeights">(9, 10) straight-through one-hot op weights, shared by all cells.</param>
    /// <param name="sampled">The sampled op per edge (9), or null to run every op (exact mixture).</param>
    public Tensor forward(Tensor s0, Tensor s1, Tensor mask, Tensor opWeights, long[]? sampled)
    {
        using var scope = NewDisposeScope();
        var nodes = new List<Tensor> { s0, s1 };
        int e = 0;
        for (int j = 0; j < SearchSpace.Nodes; j++)
        {
            Tensor node = zeros_like(s0);
            for (int i = 0; i < nodes.Count; i++, e++)
                node = node + edges[e].forward(nodes[i], mask, opWeights[e], sampled?[e]);
            nodes.Add(node);
        }
        return CellBlend.Blend(nodes.Skip(SearchSpace.Inputs).ToList(), node_weights).MoveToOuterDisposeScope();
    }
}
