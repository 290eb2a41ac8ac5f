using System.Text.Json.Serialization;
using static TorchSharp.torch;

namespace Distil.Search;

/// <summary>One kept edge of a derived cell: the op and its source node (0, 1 = cell inputs; 2.. = earlier intermediate nodes).</summary>
public sealed record GenotypeEdge([property: JsonPropertyName("op")] string Op, [property: JsonPropertyName("input")] int Input);

/// <summary>
/// A derived architecture: the depth (number of cells) and, for each of the 3 intermediate nodes, its 2 incoming
/// edges. Every cell has this topology (alpha is shared by all cells). Stored in the derived model's config.json.
/// </summary>
public sealed record Genotype(
    [property: JsonPropertyName("depth")] int Depth,
    [property: JsonPropertyName("nodes")] IReadOnlyList<IReadOnlyList<GenotypeEdge>> Nodes)
{
    /// <summary>Edges in checkpoint order (node 2's, then node 3's, then node 4's), with their target node.</summary>
    [JsonIgnore] public IEnumerable<(GenotypeEdge Edge, int Target)> Edges =>
        Nodes.SelectMany((edges, j) => edges.Select(e => (e, j + SearchSpace.Inputs)));

    public void Validate(string source)
    {
        void Require(bool ok, string what) { if (!ok) throw DistilException.BadInput($"{source}: genotype {what}"); }
        Require(Depth >= 1, $"depth must be at least 1 (got {Depth})");
        Require(Nodes is { Count: SearchSpace.Nodes }, $"must have {SearchSpace.Nodes} intermediate nodes");
        for (int j = 0; j < Nodes.Count; j++)
        {
            int node = j + SearchSpace.Inputs;
            Require(Nodes[j] is { Count: > 0 }, $"node {node} has no incoming edge");
            foreach (var e in Nodes[j])
            {
                Require(SearchSpace.Ops.Contains(e.Op) && e.Op != "zero", $"node {node}: op '{e.Op}' is not one of {string.Join(", ", SearchSpace.Ops.Where(o => o != "zero"))}");
                Require(e.Input >= 0 && e.Input < node, $"node {node}: input {e.Input} must be an earlier node (0..{node - 1})");
            }
        }
    }

    /// <summary>Parameters of a derived model with this genotype (the formula a test checks against the module).</summary>
    public long ParameterCount(int vocab, int positions, int hidden, int labels) =>
        (long)vocab * hidden + (long)positions * hidden + 2L * hidden                       // tables + LayerNorm
        + Depth * (Edges.Sum(e => SearchSpace.OpParameters(e.Edge.Op, hidden)) + SearchSpace.Nodes) // ops + node weights
        + (Depth + 1)                                                                        // layer weights
        + (long)hidden * labels + labels;                                                    // classifier

    public override string ToString() =>
        $"depth {Depth}; " + string.Join("; ", Nodes.Select((n, j) => $"n{j + SearchSpace.Inputs} = " + string.Join(" + ", n.Select(e => $"{e.Op}({Name(e.Input)})"))));

    public static string Name(int node) => node < SearchSpace.Inputs ? $"in{node}" : $"n{node}";
}

/// <summary>Turns architecture parameters into a genotype (docs/adabert.md §Derivation).</summary>
public static class Derive
{
    /// <summary>
    /// Depth = argmax alpha_depth + 1. For each intermediate node: rank its incoming edges by the largest softmax
    /// probability of a non-zero op, keep the top 2 (ties: the lower source node), and give each kept edge its
    /// argmax non-zero op (ties: the lower op index). `zero` is never chosen, so every node has two real inputs.
    /// </summary>
    public static Genotype FromAlpha(Tensor alpha, Tensor alphaDepth, int keep = 2)
    {
        var probs = nn.functional.softmax(alpha.detach().cpu().to(float32), -1);
        int ops = SearchSpace.Ops.Count;
        float[] p = probs.data<float>().ToArray();
        float[] d = alphaDepth.detach().cpu().to(float32).data<float>().ToArray();
        probs.Dispose();
        if (p.Length != SearchSpace.EdgesPerCell * ops) throw DistilException.BadInput($"alpha has {p.Length} values; expected {SearchSpace.EdgesPerCell} x {ops}");
        int depth = 1 + Enumerable.Range(0, d.Length).Aggregate(0, (best, k) => d[k] > d[best] ? k : best);

        var nodes = new List<IReadOnlyList<GenotypeEdge>>();
        for (int target = SearchSpace.Inputs; target < SearchSpace.Inputs + SearchSpace.Nodes; target++)
        {
            var candidates = new List<(int Source, int Op, float Strength)>();
            for (int source = 0; source < target; source++)
            {
                int e = SearchSpace.EdgeIndex(source, target);
                int bestOp = -1;
                for (int o = 0; o < ops; o++)
                    if (o != SearchSpace.ZeroOp && (bestOp < 0 || p[e * ops + o] > p[e * ops + bestOp])) bestOp = o;
                candidates.Add((source, bestOp, p[e * ops + bestOp]));
            }
            // OrderByDescending is a stable sort: equal strengths keep the lower source first.
            nodes.Add(candidates.OrderByDescending(c => c.Strength).Take(keep).OrderBy(c => c.Source)
                .Select(c => new GenotypeEdge(SearchSpace.Ops[c.Op], c.Source)).ToArray());
        }
        return new Genotype(depth, nodes);
    }
}
