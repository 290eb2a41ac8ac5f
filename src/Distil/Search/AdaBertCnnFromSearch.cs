using Distil.Models;
using static TorchSharp.torch;

namespace Distil.Search;

/// <summary>
/// Builds the derived student from the supernet's weights. An extension, so the model (in Models) knows nothing of
/// the search that produced it while callers still write <c>AdaBertCnnForSequenceClassification.FromSearch(...)</c>.
/// </summary>
public static class AdaBertCnnFromSearch
{
    extension(AdaBertCnnForSequenceClassification)
    {
        /// <summary>
        /// The derived student with the search weights: tables folded from the teacher's through the learned projection
        /// (word·Cᵀ, position·Cᵀ), the chosen op's weights and BN statistics of each kept edge in each cell, the node and
        /// layer weights and the depth-K head. BN scale/shift start at 1/0, which is the search's affine-free BN.
        /// </summary>
        public static AdaBertCnnForSequenceClassification FromSearch(SuperNet net, Genotype g, AdaBertCnnConfig config)
        {
            if (g.Depth > net.KMax) throw DistilException.BadInput($"genotype depth {g.Depth} exceeds the supernet's {net.KMax} cells");
            if (config.Pooling != net.Pooling) throw DistilException.BadInput($"the student's pooling '{config.Pooling}' is not the supernet's '{net.Pooling}'");
            if (config.Head != net.Head) throw DistilException.BadInput($"the student's head '{config.Head}' is not the supernet's '{net.Head}'");
            var m = new AdaBertCnnForSequenceClassification(config);
            using var _ = no_grad();
            var tables = net.embeddings.Tables;
            var c = net.embeddings.projection.weight!;                                          // (H, H_teacher)
            m.embeddings.word_embeddings.weight!.copy_(tables.Word.matmul(c.t()));               // (V, H)
            m.embeddings.position_embeddings.weight!.copy_(tables.Position.matmul(c.t()));       // (P, H)
            m.embeddings.LayerNorm.weight!.copy_(net.embeddings.LayerNorm.weight!);
            m.embeddings.LayerNorm.bias!.copy_(net.embeddings.LayerNorm.bias!);
            var kept = g.Edges.ToArray();
            for (int k = 0; k < g.Depth; k++)
            {
                m.cells[k].node_weights.copy_(net.cells[k].node_weights);
                for (int e = 0; e < kept.Length; e++)
                {
                    var source = net.cells[k].edges[SearchSpace.EdgeIndex(kept[e].Edge.Input, kept[e].Target)].ops[SearchSpace.OpIndex(kept[e].Edge.Op)];
                    var target = m.cells[k].edges[e];
                    var from = source.state_dict();
                    foreach (var (name, t) in target.state_dict())
                        if (from.TryGetValue(name, out var s)) t.copy_(s); // conv weight, BN running stats; BN affine stays 1/0
                }
            }
            m.layer_weights.copy_(net.layer_weights[g.Depth]);
            m.classifier.weight!.copy_(net.classifiers[g.Depth].weight!);
            m.classifier.bias!.copy_(net.classifiers[g.Depth].bias!);
            return m;
        }
    }
}
