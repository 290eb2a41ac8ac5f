using System.Text.Json.Serialization;

namespace Distil.Models;

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
    [JsonIgnore]
    public IEnumerable<(GenotypeEdge Edge, int Target)> Edges =>
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

    /// <summary>The same depth and edges (inputs) with every operation replaced by identity.</summary>
    public Genotype IdentityOnly() => this with { Nodes = Nodes.Select(n => (IReadOnlyList<GenotypeEdge>)n.Select(e => e with { Op = "identity" }).ToList()).ToList() };

    /// <summary>Parameters of a derived model with this genotype (the formula a test checks against the module).</summary>
    public long ParameterCount(int vocab, int positions, int hidden, int labels, string head = CnnInputs.PooledHead) =>
        (long)vocab * hidden + (long)positions * hidden + 2L * hidden                       // tables + LayerNorm
        + Depth * (Edges.Sum(e => SearchSpace.OpParameters(e.Edge.Op, hidden)) + SearchSpace.Nodes) // ops + node weights
        + (Depth + 1)                                                                        // layer weights
        + (long)CnnInputs.FeatureSize(hidden, head) * labels + labels;                       // classifier

    public override string ToString() =>
        $"depth {Depth}; " + string.Join("; ", Nodes.Select((n, j) => $"n{j + SearchSpace.Inputs} = " + string.Join(" + ", n.Select(e => $"{e.Op}({Name(e.Input)})"))));

    public static string Name(int node) => node < SearchSpace.Inputs ? $"in{node}" : $"n{node}";
}
