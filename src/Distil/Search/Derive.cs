using Distil.Models;
using static TorchSharp.torch;

namespace Distil.Search;

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
