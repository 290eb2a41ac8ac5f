using Distil.Models;
using static TorchSharp.torch;

namespace Distil.Onnx;

/// <summary>
/// The checkpoint names of one post-LN transformer layer (BERT's, which RoBERTa and ELECTRA reuse, or DistilBERT's own),
/// so one graph piece writes every such layer: attention, dense + residual + LayerNorm, FFN, dense + residual + LayerNorm.
/// </summary>
public sealed record PostLnLayerKeys(string Query, string Key, string Value, string AttentionOut, string AttentionNorm,
    string Intermediate, string Output, string OutputNorm)
{
    /// <summary>modeling_bert.py's BertLayer under <paramref name="p"/> ("bert.encoder.layer.0.", "roberta.encoder.layer.0.", ...).</summary>
    public static PostLnLayerKeys Bert(string p) => new(p + "attention.self.query", p + "attention.self.key", p + "attention.self.value",
        p + "attention.output.dense", p + "attention.output.LayerNorm", p + "intermediate.dense", p + "output.dense", p + "output.LayerNorm");

    /// <summary>modeling_albert.py's AlbertLayer under <paramref name="p"/> ("albert.encoder.albert_layer_groups.0.albert_layers.0.").</summary>
    public static PostLnLayerKeys Albert(string p) => new(p + "attention.query", p + "attention.key", p + "attention.value",
        p + "attention.dense", p + "attention.LayerNorm", p + "ffn", p + "ffn_output", p + "full_layer_layer_norm");

    /// <summary>modeling_distilbert.py's TransformerBlock under <paramref name="p"/> ("distilbert.transformer.layer.0.").</summary>
    public static PostLnLayerKeys DistilBert(string p) => new(p + "attention.q_lin", p + "attention.k_lin", p + "attention.v_lin",
        p + "attention.out_lin", p + "sa_layer_norm", p + "ffn.lin1", p + "ffn.lin2", p + "output_layer_norm");
}

/// <summary>Graph pieces the encoder-family exporters share: weights by HF key, the padding mask, the post-LN layer, activations.</summary>
public static class EncoderOnnxLayers
{
    /// <summary>A reader of the module's tensors by checkpoint key, as float32 row-major arrays.</summary>
    public static Func<string, float[]> Weights(nn.Module model)
    {
        var sd = model.state_dict();
        return key =>
        {
            if (!sd.TryGetValue(key, out var t)) throw new InvalidOperationException($"the model has no tensor '{key}'");
            using var f = t.detach().cpu().to(float32).contiguous();
            return f.data<float>().ToArray();
        };
    }

    /// <summary>(B, T) int64 attention mask -> (B, 1, 1, T) float: 0 where attended, the most negative float where padded (as HF's extended mask).</summary>
    public static string AdditiveMask(OnnxGraphBuilder g, string maskF) =>
        g.Unsqueeze(g.Mul(g.Sub(g.Scalar("one", 1f), maskF), g.Scalar("min_float", float.MinValue)), 1, 2);

    /// <summary>HF's ACT2FN for the names the configs accept ("gelu" is the exact erf form).</summary>
    public static string Activation(OnnxGraphBuilder g, string x, string act) => act switch
    {
        "relu" => g.Relu(x),
        "tanh" => g.Tanh(x),
        "gelu_new" or "gelu_pytorch_tanh" => g.GeluTanh(x),
        _ => g.Gelu(x),
    };

    /// <summary>
    /// One post-LN layer in standard operators: softmax((Q K^T) / sqrt(dh) + mask) V, out dense, LayerNorm(+ input), FFN,
    /// LayerNorm(+ attended). <paramref name="hidden"/> is (B, T, H); the result too.
    /// </summary>
    public static string PostLnLayer(OnnxGraphBuilder g, Func<string, float[]> W, string hidden, string additiveMask, PostLnLayerKeys k,
        int h, int heads, int intermediate, string act, double eps)
    {
        int dh = h / heads;
        string Linear(string x, string key, int outF, int inF) => g.Linear(x, W(key + ".weight"), W(key + ".bias"), outF, inF, key);
        string LayerNorm(string x, string key) => g.LayerNorm(x, W(key + ".weight"), W(key + ".bias"), eps, key);
        string Heads(string x, params long[] perm) => g.Transpose(g.Reshape(x, 0, 0, heads, dh), perm); // (B, T, H) -> (B, T, nh, dh) -> perm
        string q = Heads(Linear(hidden, k.Query, h, h), 0, 2, 1, 3); // (B, nh, T, dh)
        string kT = Heads(Linear(hidden, k.Key, h, h), 0, 2, 3, 1); // (B, nh, dh, T)
        string v = Heads(Linear(hidden, k.Value, h, h), 0, 2, 1, 3); // (B, nh, T, dh)
        string scores = g.Add(g.Div(g.MatMul(q, kT), g.Scalar("sqrt_head_dim", MathF.Sqrt(dh))), additiveMask); // (B, nh, T, T)
        string context = g.MatMul(g.Softmax(scores, -1), v); // (B, nh, T, dh)
        string merged = g.Reshape(g.Transpose(context, 0, 2, 1, 3), 0, 0, h); // (B, nh, T, dh) -> (B, T, nh, dh) -> (B, T, H)
        string attended = LayerNorm(g.Add(Linear(merged, k.AttentionOut, h, h), hidden), k.AttentionNorm);
        string inner = Activation(g, Linear(attended, k.Intermediate, intermediate, h), act);
        return LayerNorm(g.Add(Linear(inner, k.Output, h, intermediate), attended), k.OutputNorm);
    }

    /// <summary>Mean of the token states over the mask: (B, T, H) -> (B, H), as BertForSequenceClassification.MeanPool.</summary>
    public static string MeanPool(OnnxGraphBuilder g, string hidden, string maskF)
    {
        string m = g.Unsqueeze(maskF, 2); // (B, T, 1)
        string sum = g.ReduceSum(g.Mul(hidden, m), 1, keepDims: false); // (B, H)
        string count = g.Max(g.ReduceSum(m, 1, keepDims: false), g.Scalar("min_count", 1e-9f)); // (B, 1)
        return g.Div(sum, count);
    }

    /// <summary>Row 0 of (B, T, H): the first token's state (B, H).</summary>
    public static string FirstToken(OnnxGraphBuilder g, string hidden) => g.Gather(hidden, g.Initializer("first_index", [0L]), axis: 1);

    /// <summary>Rows 0..T-1 of a (rows, width) table, T the input's sequence length: absolute positions as BERT counts them.</summary>
    public static string PositionRows(OnnxGraphBuilder g, string table, string ids) =>
        g.Slice(table, g.Longs("zero", 0), g.ShapeSlice(ids, 1, 2), g.Longs("axis0", 0)); // (T, width)
}
