using System.Text.Json;
using Distil.Models;
using Onnx;
using static TorchSharp.torch;
using DataType = Onnx.TensorProto.Types.DataType;

namespace Distil.Onnx;

/// <summary>
/// A <see cref="BertForSequenceClassification"/> (single-label, regression or multi-label: the same graph, the task in
/// the metadata) or a <see cref="BertForTokenClassification"/> (logits (batch, sequence, num_labels)) as an ONNX graph, written node by node after BertModeling.cs's
/// forward in eval mode (dropout is the identity). Inputs input_ids / attention_mask / token_type_ids (batch, sequence)
/// int64, output logits (batch, num_labels) float; both axes are symbolic, so any batch and length up to
/// max_position_embeddings run. Weights are copied from the module, initializer names are the HF keys.
/// </summary>
public static class BertOnnxExporter
{
    public const string InputIds = "input_ids", AttentionMask = "attention_mask", TokenTypeIds = "token_type_ids", Logits = "logits";
    public const string Batch = "batch", Sequence = "sequence";

    /// <param name="ortFused">Write attention and residual LayerNorms as ONNX Runtime's fused com.microsoft kernels
    /// (Attention, SkipLayerNormalization): faster in ORT, and int8 attention becomes QAttention; other runtimes
    /// cannot run it. Otherwise only standard ONNX operators are used.</param>
    public static ModelProto Build(EncoderClassifier model, bool ortFused = false)
    {
        if (model is not (BertForSequenceClassification or BertForTokenClassification))
            throw DistilException.Usage($"the ONNX exporter writes BERT classifiers; this model is a {model.GetType().Name}");
        var c = model.Shape;
        var W = EncoderOnnxLayers.Weights(model);
        var g = new OnnxGraphBuilder();
        var (hidden, maskF) = Encoder(g, c, W, ortFused);
        int h = c.HiddenSize;
        string Linear(string x, string key, int outF, int inF) => g.Linear(x, W(key + ".weight"), W(key + ".bias"), outF, inF, key);

        if (model.Task == TaskKind.Token)
        {
            string tokenLogits = Linear(hidden, "classifier", c.NumLabels, h); // (B, T, H) -> (B, T, num_labels)
            g.Output(tokenLogits, Logits, DataType.Float, Batch, Sequence, c.NumLabels);
            var tokenMetadata = Metadata(c, TaskKind.Token);
            if (ortFused) tokenMetadata["distil.ort_fused"] = "true";
            return g.Build(tokenMetadata);
        }
        string features;
        if (c.ClassifierPooling == "mean")
        {
            features = EncoderOnnxLayers.MeanPool(g, hidden, maskF);
        }
        else
        {
            string first = g.Gather(hidden, g.Initializer("cls_index", [0L]), axis: 1); // (B, H): the [CLS] position
            features = g.Tanh(Linear(first, "bert.pooler.dense", h, h));
        }
        string logits = Linear(features, "classifier", c.NumLabels, h); // (B, num_labels)
        g.Output(logits, Logits, DataType.Float, Batch, c.NumLabels);
        var metadata = Metadata(c, model.Task);
        if (ortFused) metadata["distil.ort_fused"] = "true";
        return g.Build(metadata);
    }

    /// <summary>
    /// The inputs and BertModel's encoder (keys bert.*) into <paramref name="g"/>: the last hidden states (B, T, H) and
    /// the float attention mask (B, T). Shared by every head exported here (sequence classification, QA spans).
    /// </summary>
    internal static (string Hidden, string MaskF) Encoder(OnnxGraphBuilder g, BertConfig c, Func<string, float[]> W, bool ortFused)
    {
        int h = c.HiddenSize, heads = c.NumAttentionHeads;
        string LayerNorm(string x, string key) => g.LayerNorm(x, W(key + ".weight"), W(key + ".bias"), c.LayerNormEps, key);

        string ids = g.Input(InputIds, DataType.Int64, Batch, Sequence);
        string mask = g.Input(AttentionMask, DataType.Int64, Batch, Sequence);
        string types = g.Input(TokenTypeIds, DataType.Int64, Batch, Sequence);

        // Embeddings: word + position (rows 0..T-1 of the table) + token type, then LayerNorm.
        const string e = "bert.embeddings.";
        string words = g.Gather(g.Initializer(e + "word_embeddings.weight", W(e + "word_embeddings.weight"), c.VocabSize, h), ids); // (B, T, H)
        string seqLen = g.ShapeSlice(ids, 1, 2); // [T]
        string positions = g.Slice(g.Initializer(e + "position_embeddings.weight", W(e + "position_embeddings.weight"), c.MaxPositionEmbeddings, h),
            g.Longs("zero", 0), seqLen, g.Longs("axis0", 0)); // (T, H)
        string typeRows = g.Gather(g.Initializer(e + "token_type_embeddings.weight", W(e + "token_type_embeddings.weight"), c.TypeVocabSize, h), types);
        string hidden = LayerNorm(g.Add(g.Add(words, positions), typeRows), e + "LayerNorm");

        // (B, T) -> (B, 1, 1, T): 0 where attended, the most negative float where padded (as BertModel.forward).
        string maskF = g.Cast(mask, DataType.Float);
        string additive = ortFused ? "" : EncoderOnnxLayers.AdditiveMask(g, maskF);

        string maskI32 = ortFused ? g.Cast(mask, DataType.Int32) : ""; // Attention's raw (B, T) mask: 1 attend, 0 padding
        for (int i = 0; i < c.NumHiddenLayers; i++)
        {
            string p = $"bert.encoder.layer.{i}.";
            if (ortFused)
            {
                hidden = FusedLayer(g, c, W, hidden, maskI32, p);
                continue;
            }
            hidden = EncoderOnnxLayers.PostLnLayer(g, W, hidden, additive, PostLnLayerKeys.Bert(p), h, heads, c.IntermediateSize, c.HiddenAct, c.LayerNormEps);
        }

        return (hidden, maskF);
    }

    /// <summary>
    /// One encoder layer with ORT's fused kernels: Attention takes Q, K and V as one (H, 3H) weight and applies the mask
    /// itself (padding gets -10000 before softmax: exp gives 0, as with our most-negative-float mask);
    /// SkipLayerNormalization is LayerNorm(x + residual + bias).
    /// </summary>
    internal static string FusedLayer(OnnxGraphBuilder g, BertConfig c, Func<string, float[]> W, string hidden, string maskI32, string p)
    {
        int h = c.HiddenSize;
        var qkv = new float[h * 3 * h]; // (in H, out 3H): columns [q | k | v], each torch (out, in) transposed
        var bias = new float[3 * h];
        string[] parts = ["query", "key", "value"];
        for (int part = 0; part < 3; part++)
        {
            var w = W(p + $"attention.self.{parts[part]}.weight");
            var b = W(p + $"attention.self.{parts[part]}.bias");
            for (int o = 0; o < h; o++)
            {
                bias[part * h + o] = b[o];
                for (int k = 0; k < h; k++) qkv[k * 3 * h + part * h + o] = w[o * h + k];
            }
        }
        string context = g.Node("Attention", [hidden, g.Initializer(p + "attention.self.qkv.weight", qkv, h, 3 * h), g.Initializer(p + "attention.self.qkv.bias", bias, 3 * h), maskI32],
            domain: OnnxGraphBuilder.MicrosoftDomain, attributes: OnnxGraphBuilder.Attr("num_heads", (long)c.NumAttentionHeads))[0]; // (B, T, H)
        string SkipLayerNorm(string x, string residual, string dense, string ln) =>
            g.Node("SkipLayerNormalization", [x, residual, g.Initializer(ln + ".weight", W(ln + ".weight"), h), g.Initializer(ln + ".bias", W(ln + ".bias"), h),
                g.Initializer(dense + ".bias", W(dense + ".bias"), h)], domain: OnnxGraphBuilder.MicrosoftDomain,
                attributes: OnnxGraphBuilder.Attr("epsilon", (float)c.LayerNormEps))[0];
        string attended = SkipLayerNorm(g.Linear(context, W(p + "attention.output.dense.weight"), null, h, h, p + "attention.output.dense"), hidden,
            p + "attention.output.dense", p + "attention.output.LayerNorm");
        string inner = g.Linear(attended, W(p + "intermediate.dense.weight"), W(p + "intermediate.dense.bias"), c.IntermediateSize, h, p + "intermediate.dense");
        inner = EncoderOnnxLayers.Activation(g, inner, c.HiddenAct);
        return SkipLayerNorm(g.Linear(inner, W(p + "output.dense.weight"), null, h, c.IntermediateSize, p + "output.dense"), attended,
            p + "output.dense", p + "output.LayerNorm");
    }

    /// <summary>What a runtime needs besides the graph: labels, pooling, the longest sequence the position table allows.</summary>
    public static Dictionary<string, string> Metadata(BertConfig c, TaskKind task = TaskKind.Sequence) => new()
    {
        ["distil.task"] = task.Name(),
        ["distil.model_family"] = "bert",
        ["distil.labels"] = JsonSerializer.Serialize(c.Labels),
        ["distil.pooling"] = c.ClassifierPooling ?? "pooler",
        ["distil.max_position_embeddings"] = c.MaxPositionEmbeddings.ToString(),
        ["distil.precision"] = "fp32",
    };
}
