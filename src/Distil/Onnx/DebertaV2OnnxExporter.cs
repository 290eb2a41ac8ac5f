using Distil.Models;
using Onnx;
using static TorchSharp.torch;
using DataType = Onnx.TensorProto.Types.DataType;

namespace Distil.Onnx;

/// <summary>
/// A <see cref="DebertaV2ForSequenceClassification"/> or <see cref="DebertaV2ForTokenClassification"/> as an ONNX graph, after DebertaV2Modeling.cs's forward in eval
/// mode. Disentangled attention without dynamic bucket arithmetic in the graph: the relative position r(i, j) depends on
/// i - j only, so the c2p and p2c gather indices (log-bucketed and clamped exactly as the torch model computes them) are
/// stored once for the longest sequence (max_position_embeddings) and the top-left T x T block is sliced at run time.
/// The relative embeddings are constant at inference, so each layer's projected position keys / queries
/// (key_proj or pos_key_proj of the normed table) are computed here in torch and stored as initializers.
/// Contract as <see cref="BertOnnxExporter"/>'s; token_type_ids are read only when type_vocab_size &gt; 0.
/// </summary>
public static class DebertaV2OnnxExporter
{
    public static ModelProto Build(EncoderClassifier model)
    {
        var (deberta, c) = model switch
        {
            DebertaV2ForSequenceClassification s => (s.deberta, s.Config),
            DebertaV2ForTokenClassification t => (t.deberta, t.Config),
            _ => throw DistilException.Usage($"the DeBERTa exporter writes DeBERTa-v2 classifiers; this model is a {model.GetType().Name}"),
        };
        var W = EncoderOnnxLayers.Weights(model);
        var g = new OnnxGraphBuilder();
        int h = c.HiddenSize, heads = c.NumAttentionHeads, dh = c.HeadDim, all = heads * dh, emb = c.EmbeddingSize;
        string Linear(string x, string key, int outF, int inF, bool bias = true) =>
            g.Linear(x, W(key + ".weight"), bias ? W(key + ".bias") : null, outF, inF, key);
        string LayerNorm(string x, string key) => g.LayerNorm(x, W(key + ".weight"), W(key + ".bias"), c.LayerNormEps, key);

        string ids = g.Input(BertOnnxExporter.InputIds, DataType.Int64, BertOnnxExporter.Batch, BertOnnxExporter.Sequence);
        string mask = g.Input(BertOnnxExporter.AttentionMask, DataType.Int64, BertOnnxExporter.Batch, BertOnnxExporter.Sequence);
        string types = g.Input(BertOnnxExporter.TokenTypeIds, DataType.Int64, BertOnnxExporter.Batch, BertOnnxExporter.Sequence);
        string maskF3 = g.Unsqueeze(g.Cast(mask, DataType.Float), 2); // (B, T, 1)

        // Embeddings: word (+ absolute position) (+ token type), E -> H, LayerNorm, padding zeroed.
        const string e = "deberta.embeddings.";
        string sum = g.Gather(g.Initializer(e + "word_embeddings.weight", W(e + "word_embeddings.weight"), c.VocabSize, emb), ids); // (B, T, E)
        if (c.PositionBiasedInput)
            sum = g.Add(sum, EncoderOnnxLayers.PositionRows(g, g.Initializer(e + "position_embeddings.weight", W(e + "position_embeddings.weight"), c.MaxPositionEmbeddings, emb), ids));
        if (c.TypeVocabSize > 0)
            sum = g.Add(sum, g.Gather(g.Initializer(e + "token_type_embeddings.weight", W(e + "token_type_embeddings.weight"), c.TypeVocabSize, emb), types));
        if (emb != h) sum = Linear(sum, e + "embed_proj", h, emb, bias: false); // (B, T, E) -> (B, T, H)
        string hidden = g.Mul(LayerNorm(sum, e + "LayerNorm"), maskF3); // (B, T, H) * (B, T, 1)
        string embedded = hidden;

        // (B, 1, T, T) bool: query i and key j are both tokens (HF's pair mask).
        string tokens = g.Greater(mask, g.Longs("zero_long", 0)); // (B, T)
        string pairMask = g.Node("And", [g.Unsqueeze(tokens, 1, 2), g.Unsqueeze(tokens, 1, 3)])[0]; // (B, 1, 1, T) & (B, 1, T, 1)
        string minScore = g.Scalar("min_float", float.MinValue);
        int scaleFactor = 1 + (c.C2p ? 1 : 0) + (c.P2c ? 1 : 0);
        string scale = g.Scalar("attention_scale", (float)Math.Sqrt(dh * (double)scaleFactor));

        bool relative = c.RelativeAttention && (c.C2p || c.P2c);
        string c2pIndex = "", p2cIndex = "";
        float[][] posKeys = [], posQueries = [];
        if (relative)
        {
            (c2pIndex, p2cIndex) = RelativeIndices(g, c, ids);
            (posKeys, posQueries) = PositionProjections(model, deberta, c);
        }

        for (int l = 0; l < c.NumHiddenLayers; l++)
        {
            string p = $"deberta.encoder.layer.{l}.";
            string Heads(string x, params long[] perm) => g.Transpose(g.Reshape(x, 0, 0, heads, dh), perm); // (B, T, nh*dh) -> (B, T, nh, dh) -> perm
            string q = Heads(Linear(hidden, p + "attention.self.query_proj", all, h), 0, 2, 1, 3); // (B, nh, T, dh)
            string k = Heads(Linear(hidden, p + "attention.self.key_proj", all, h), 0, 2, 1, 3); // (B, nh, T, dh)
            string v = Heads(Linear(hidden, p + "attention.self.value_proj", all, h), 0, 2, 1, 3); // (B, nh, T, dh)
            string scores = g.Div(g.MatMul(q, g.Transpose(k, 0, 1, 3, 2)), scale); // (B, nh, T, T)
            if (relative)
            {
                string shape = g.Node("Shape", [scores])[0]; // [B, nh, T, T]
                string GatherRel(string table, string index) => // (B, nh, T, 2S) at [.., i, index[i, j]] -> (B, nh, T, T)
                    g.Node("GatherElements", [table, g.Node("Expand", [index, shape])[0]], attributes: OnnxGraphBuilder.Attr("axis", 3L))[0];
                if (c.C2p)
                {
                    string posKeyT = g.Initializer(p + "attention.self.pos_key.T", posKeys[l], heads, dh, 2L * c.AttentionSpan); // (nh, dh, 2S)
                    scores = g.Add(scores, g.Div(GatherRel(g.MatMul(q, posKeyT), c2pIndex), scale)); // [i, j] = q_i . posKey[S + r(i, j)]
                }
                if (c.P2c)
                {
                    string posQueryT = g.Initializer(p + "attention.self.pos_query.T", posQueries[l], heads, dh, 2L * c.AttentionSpan); // (nh, dh, 2S)
                    string p2c = GatherRel(g.MatMul(k, posQueryT), p2cIndex); // [j, i] = k_j . posQuery[S - r(j, i)]
                    scores = g.Add(scores, g.Div(g.Transpose(p2c, 0, 1, 3, 2), scale)); // -> [i, j]
                }
            }
            scores = g.Where(pairMask, scores, minScore);
            string context = g.MatMul(g.Softmax(scores, -1), v); // (B, nh, T, dh)
            string merged = g.Reshape(g.Transpose(context, 0, 2, 1, 3), 0, 0, all); // (B, nh, T, dh) -> (B, T, nh, dh) -> (B, T, nh*dh)
            string attended = LayerNorm(g.Add(Linear(merged, p + "attention.output.dense", h, all), hidden), p + "attention.output.LayerNorm");
            string inner = EncoderOnnxLayers.Activation(g, Linear(attended, p + "intermediate.dense", c.IntermediateSize, h), c.HiddenAct);
            string next = LayerNorm(g.Add(Linear(inner, p + "output.dense", h, c.IntermediateSize), attended), p + "output.LayerNorm");
            if (l == 0 && c.ConvKernelSize > 0) next = Conv(g, c, W, embedded, next, maskF3);
            hidden = next;
        }

        if (model is DebertaV2ForTokenClassification)
            return FamilyOnnxExporter.FinishTokens(g, W, hidden, h, c.NumLabels, DebertaV2Config.Type, c.Labels, c.MaxPositionEmbeddings, false);
        string pooled = EncoderOnnxLayers.Activation(g, Linear(EncoderOnnxLayers.FirstToken(g, hidden), "pooler.dense", c.PoolerHiddenSize, h), c.PoolerHiddenAct); // (B, P)
        string logits = Linear(pooled, "classifier", c.NumLabels, c.PoolerHiddenSize); // (B, num_labels)
        return FamilyOnnxExporter.Finish(g, logits, c.NumLabels, DebertaV2Config.Type, c.Labels, "context-pooler", c.MaxPositionEmbeddings, false);
    }

    /// <summary>
    /// The c2p index S + r(i, j) and the p2c index S - r(j, i) (both clamped to 0..2S-1), stored for max_position_embeddings
    /// and sliced to the input's (T, T).
    /// </summary>
    static (string C2p, string P2c) RelativeIndices(OnnxGraphBuilder g, DebertaV2Config c, string ids)
    {
        long tMax = c.MaxPositionEmbeddings, span = c.AttentionSpan;
        using var scope = NewDisposeScope();
        var rel = DebertaV2Model.RelativePositions(tMax, c, CPU); // (Tmax, Tmax): query - key, bucketed as the torch model does
        long[] c2p = (rel + span).clamp(0, 2 * span - 1).contiguous().data<long>().ToArray();
        long[] p2c = (span - rel).clamp(0, 2 * span - 1).contiguous().data<long>().ToArray();
        string t = g.ShapeSlice(ids, 1, 2); // [T]
        string ends = g.Node("Concat", [t, t], attributes: OnnxGraphBuilder.Attr("axis", 0L))[0]; // [T, T]
        string zeros = g.Longs("zeros2", 0, 0), axes = g.Longs("axes01", 0, 1);
        return (g.Slice(g.Initializer("c2p_index", c2p, tMax, tMax), zeros, ends, axes), // (T, T)
            g.Slice(g.Initializer("p2c_index", p2c, tMax, tMax), zeros, ends, axes));
    }

    /// <summary>Per layer, the projected relative embeddings as (nh, dh, 2S): keys for c2p, queries for p2c (share_att_key: the content projections).</summary>
    static (float[][] Keys, float[][] Queries) PositionProjections(nn.Module model, DebertaV2Model deberta, DebertaV2Config c)
    {
        bool wasTraining = model.training;
        model.eval();
        try
        {
            using var _ = no_grad();
            using var scope = NewDisposeScope();
            var rel = deberta.encoder.RelEmbeddings()!; // (2S, H)
            float[] HeadsT(TorchSharp.Modules.Linear proj) => proj.forward(rel).view(rel.shape[0], c.NumAttentionHeads, c.HeadDim) // (2S, nh*dh) -> (2S, nh, dh)
                .permute(1, 2, 0).contiguous().to(float32).data<float>().ToArray(); // -> (nh, dh, 2S)
            var layers = deberta.encoder.layer;
            var keys = c.C2p ? layers.Select(l => HeadsT(c.ShareAttKey ? l.attention.self.key_proj : l.attention.self.pos_key_proj!)).ToArray() : [];
            var queries = c.P2c ? layers.Select(l => HeadsT(c.ShareAttKey ? l.attention.self.query_proj : l.attention.self.pos_query_proj!)).ToArray() : [];
            return (keys, queries);
        }
        finally { if (wasTraining) model.train(); }
    }

    /// <summary>The Conv1d branch after layer 0: LayerNorm(layer output + act(conv(input) * mask)) * mask.</summary>
    static string Conv(OnnxGraphBuilder g, DebertaV2Config c, Func<string, float[]> W, string layerInput, string layerOutput, string maskF3)
    {
        const string p = "deberta.encoder.conv.";
        int h = c.HiddenSize, k = c.ConvKernelSize;
        long pad = (k - 1) / 2;
        string x = g.Transpose(layerInput, 0, 2, 1); // (B, T, H) -> (B, H, T)
        string conv = g.Conv(x, W(p + "conv.weight"), [h, h / c.ConvGroups, k], W(p + "conv.bias"), [pad, pad], [1], [1], c.ConvGroups, p + "conv");
        string activated = EncoderOnnxLayers.Activation(g, g.Mul(g.Transpose(conv, 0, 2, 1), maskF3), c.ConvAct); // (B, H, T) -> (B, T, H)
        return g.Mul(g.LayerNorm(g.Add(layerOutput, activated), W(p + "LayerNorm.weight"), W(p + "LayerNorm.bias"), c.LayerNormEps, p + "LayerNorm"), maskF3);
    }
}
