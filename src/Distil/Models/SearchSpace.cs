namespace Distil.Models;

/// <summary>
/// AdaBERT's search space (docs/adabert.md §Search space): 10 candidate operations per edge, cells with 2 inputs and 3 intermediate
/// nodes, every node fed by all earlier nodes (2 + 3 + 4 = 9 mixed edges). The op order is the TF code's
/// (cnn3/5/7, dilated_cnn3/5/7, max_pool, avg_pool, identity, zero); it is also the column order of alpha.
/// </summary>
public static class SearchSpace
{
    public static readonly IReadOnlyList<string> Ops =
        ["conv3", "conv5", "conv7", "dil_conv3", "dil_conv5", "dil_conv7", "max_pool3", "avg_pool3", "identity", "zero"];

    public const int Inputs = 2, Nodes = 3, EdgesPerCell = 9;
    /// <summary>Dilation of the dilated convolutions (PyTorch and PaddleSlim code; a real dilated convolution, not TF's dilation2d).</summary>
    public const int Dilation = 2;
    public static readonly int ZeroOp = 9, IdentityOp = 8;

    public static int OpIndex(string name)
    {
        int i = Ops.ToList().IndexOf(name);
        if (i < 0) throw DistilException.BadInput($"operation '{name}' is not in the AdaBERT search space ({string.Join(", ", Ops)})");
        return i;
    }

    /// <summary>Kernel size and dilation of a convolution op; null for the others.</summary>
    public static (int Kernel, int Dilation)? Conv(string op) => op switch
    {
        "conv3" => (3, 1),
        "conv5" => (5, 1),
        "conv7" => (7, 1),
        "dil_conv3" => (3, Dilation),
        "dil_conv5" => (5, Dilation),
        "dil_conv7" => (7, Dilation),
        _ => null,
    };

    /// <summary>The 9 edges of a cell as (source node, target node), target-major: node 2 &lt;- 0, 1; node 3 &lt;- 0, 1, 2; node 4 &lt;- 0..3.</summary>
    public static readonly IReadOnlyList<(int Source, int Target)> Edges =
        Enumerable.Range(Inputs, Nodes).SelectMany(t => Enumerable.Range(0, t).Select(s => (s, t))).ToArray();

    public static int EdgeIndex(int source, int target)
    {
        for (int e = 0; e < Edges.Count; e++) if (Edges[e] == (source, target)) return e;
        throw new ArgumentOutOfRangeException(nameof(source), $"no edge {source} -> {target}");
    }

    /// <summary>
    /// Teacher layer that student level m (0 = embeddings, m = cell m) of a depth-K student learns from:
    /// j(m) = ceil(m * L / K) (PaddleSlim, EasyTransfer's build_kd_probes_loss).
    /// </summary>
    public static int TeacherLayer(int m, int teacherLayers, int depth)
    {
        if (depth < 1 || m < 0 || m > depth) throw new ArgumentOutOfRangeException(nameof(m), $"level {m} of a depth-{depth} student");
        return (int)Math.Ceiling((double)m * teacherLayers / depth);
    }

    /// <summary>Parameters of one op at hidden size H in a derived model (no conv bias: BN follows; BN affine).</summary>
    public static long OpParameters(string op, int hidden) => Conv(op) is { } c
        ? (long)hidden * hidden * c.Kernel + 2L * hidden
        : op is "max_pool3" or "avg_pool3" ? 2L * hidden : 0;
}
