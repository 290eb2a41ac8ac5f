using System.Text.Json;
using Distil.Models;
using Onnx;
using static TorchSharp.torch;
using DataType = Onnx.TensorProto.Types.DataType;

namespace Distil.Onnx;

/// <summary>
/// A derived AdaBERT CNN student (<see cref="AdaBertCnnForSequenceClassification"/>) as an ONNX graph, written after
/// its forward in eval mode (AdaBertCnn.cs, CellOps.cs, CnnInputs.cs): the same inputs and output as the BERT export
/// (input_ids / attention_mask / token_type_ids (batch, sequence) int64 -> logits), so the predictor, `distil quantize`
/// and the bench take either. Standard operators only: Gather, CumSum, LayerNormalization, Conv (same-length padding,
/// dilation), MaxPool / AveragePool (window 3, stride 1), Softmax-free blends (the softmaxes of node and layer weights
/// are constants, taken at export time). Eval-mode BatchNorm is folded: into the preceding Conv's weight and bias, or,
/// after a pooling, into one per-channel Mul + Add. Shapes: B batch, T tokens, H hidden.
/// </summary>
public static class AdaBertCnnOnnxExporter
{
    public static ModelProto Build(AdaBertCnnForSequenceClassification model)
    {
        var c = model.Config;
        int h = c.HiddenSize;
        var sd = model.state_dict();
        float[] W(string key)
        {
            if (!sd.TryGetValue(key, out var t)) throw new InvalidOperationException($"the model has no tensor '{key}'");
            using var f = t.detach().cpu().to(float32).contiguous();
            return f.data<float>().ToArray();
        }
        // softmax in TorchSharp (the forward's own op) so the blend constants are the forward's floats.
        float[] SoftmaxOf(string key)
        {
            using var _ = no_grad();
            using var s = nn.functional.softmax(sd[key].detach().cpu().to(float32), 0);
            return s.data<float>().ToArray();
        }
        var g = new OnnxGraphBuilder();
        string ids = g.Input(BertOnnxExporter.InputIds, DataType.Int64, BertOnnxExporter.Batch, BertOnnxExporter.Sequence);
        string attention = g.Input(BertOnnxExporter.AttentionMask, DataType.Int64, BertOnnxExporter.Batch, BertOnnxExporter.Sequence);
        string types = g.Input(BertOnnxExporter.TokenTypeIds, DataType.Int64, BertOnnxExporter.Batch, BertOnnxExporter.Sequence);

        // Positions restart at 0 on the second sentence (CnnInputs.Positions): cumsum over each segment - 1, at least 0.
        string second = g.Min(g.Max(types, g.Longs("zero_i64", 0)), g.Longs("one_i64", 1));  // (B, T) in {0, 1}
        string first = g.Sub(g.Longs("one_i64_b", 1), second);
        string one = g.Longs("one_i64_c", 1);
        string positions = g.Where(g.Equal(second, one),
            g.Sub(g.CumSum(second, 1), one), g.Sub(g.CumSum(first, 1), one));
        positions = g.Max(positions, g.Longs("zero_i64_b", 0));                                       // (B, T)

        const string e = "embeddings.";
        string words = g.Gather(g.Initializer(e + "word_embeddings.weight", W(e + "word_embeddings.weight"), c.VocabSize, h), ids);                  // (B, T, H)
        string pos = g.Gather(g.Initializer(e + "position_embeddings.weight", W(e + "position_embeddings.weight"), c.MaxPositionEmbeddings, h), positions); // (B, T, H)
        string embedded = g.LayerNorm(g.Add(words, pos), W(e + "LayerNorm.weight"), W(e + "LayerNorm.bias"), c.LayerNormEps, e + "LayerNorm");

        // CnnInputs.Split: sentence A and B of a pair as the two cell inputs, or the whole row twice.
        string m = g.Unsqueeze(g.Cast(attention, DataType.Float), 2);                   // (B, T, 1)
        string seg = g.Unsqueeze(g.Cast(second, DataType.Float), 2);                    // (B, T, 1)
        string mSeg = g.Mul(m, seg);
        string a = g.Mul(embedded, g.Mul(m, g.Sub(g.Scalar("one", 1f), seg)));
        string b = g.Mul(embedded, mSeg);
        string whole = g.Mul(embedded, m);
        string hasPair = g.Greater(g.ReduceSum(mSeg, 1, keepDims: true), g.Scalar("zero", 0f)); // (B, 1, 1)
        string s0 = g.Transpose(g.Where(hasPair, a, whole), 0, 2, 1);                   // (B, T, H) -> (B, H, T)
        string s1 = g.Transpose(g.Where(hasPair, b, whole), 0, 2, 1);                   // (B, H, T)
        string mask = g.Transpose(m, 0, 2, 1);                                          // (B, 1, T)
        // CnnInputs.HeadMasks: the tokens each pooled vector covers, (B, S, T).
        string heads = c.Head == CnnInputs.PairHead
            ? g.Concat(1, g.Transpose(g.Where(hasPair, g.Mul(m, g.Sub(g.Scalar("one_head", 1f), seg)), m), 0, 2, 1),
                g.Transpose(g.Where(hasPair, mSeg, m), 0, 2, 1))                        // (B, 2, T)
            : mask;                                                                     // (B, 1, T)
        string heads4 = g.Unsqueeze(heads, 2);                                          // (B, S, 1, T)
        string headSum = g.Max(g.ReduceSum(heads4, 3, keepDims: false), g.Scalar("min_count", 1e-9f)); // (B, S, 1)
        string? padding = c.Pooling == CnnInputs.MaxPooling ? g.Equal(heads4, g.Scalar("zero_pool_mask", 0f)) : null; // (B, S, 1, T)
        string Pool(string x) => padding != null                                        // (B, H, T) -> (B, S, H), as CnnInputs.Pool
            ? g.ReduceMax(g.Where(padding, g.Scalar("minus_1e30_pool", -1e30f), g.Unsqueeze(x, 1)), 3, keepDims: false)
            : g.Div(g.ReduceSum(g.Mul(g.Unsqueeze(x, 1), heads4), 3, keepDims: false), headSum);

        var pooled = new List<string> { Pool(g.Mul(g.Add(s0, s1), g.Scalar("half", 0.5f))) };
        var kept = c.Genotype.Edges.ToArray();
        for (int k = 0; k < c.Genotype.Depth; k++)
        {
            string p = $"cells.{k}.";
            var nodes = new List<string> { s0, s1 };
            for (int target = SearchSpace.Inputs; target < SearchSpace.Inputs + SearchSpace.Nodes; target++)
            {
                string? node = null;
                for (int i = 0; i < kept.Length; i++)
                {
                    if (kept[i].Target != target) continue;
                    string y = Edge(g, kept[i].Edge.Op, nodes[kept[i].Edge.Input], mask, W, h, $"{p}edges.{i}.");
                    node = node == null ? y : g.Add(node, y);
                }
                nodes.Add(node ?? throw new InvalidOperationException($"genotype node {target} has no edge"));
            }
            var nodeWeights = SoftmaxOf(p + "node_weights");
            string cell = "";
            for (int j = 0; j < SearchSpace.Nodes; j++)
            {
                string term = g.Mul(nodes[SearchSpace.Inputs + j], g.Scalar($"{p}node_weight_{j}", nodeWeights[j]));
                cell = j == 0 ? term : g.Add(cell, term);
            }
            pooled.Add(Pool(cell));
            (s0, s1) = (s1, cell);
        }

        var layerWeights = SoftmaxOf("layer_weights");
        string features = "";
        for (int i = 0; i < pooled.Count; i++)
        {
            string term = g.Mul(pooled[i], g.Scalar($"layer_weight_{i}", layerWeights[i]));
            features = i == 0 ? term : g.Add(features, term);
        }
        features = g.Tanh(features);                                                    // (B, S, H)
        int width = CnnInputs.FeatureSize(h, c.Head);
        if (c.Head == CnnInputs.PairHead)
        {
            // CnnInputs.HeadInput: [u, v, |u - v|, u * v] of the two texts' vectors.
            string u = g.Reshape(g.Slice(features, g.Longs("u_start", 0), g.Longs("u_end", 1), g.Longs("u_axis", 1)), 0, h); // (B, 1, H) -> (B, H)
            string v = g.Reshape(g.Slice(features, g.Longs("v_start", 1), g.Longs("v_end", 2), g.Longs("v_axis", 1)), 0, h); // (B, H)
            string diff = g.Sub(u, v);
            features = g.Concat(1, u, v, g.Node("Abs", [diff])[0], g.Mul(u, v));      // (B, 4H)
        }
        else features = g.Reshape(features, 0, h);                                      // (B, 1, H) -> (B, H)
        int labels = c.Id2Label.Count;
        string logits = g.Linear(features, W("classifier.weight"), W("classifier.bias"), labels, width, "classifier"); // (B, C)
        g.Output(logits, BertOnnxExporter.Logits, DataType.Float, BertOnnxExporter.Batch, labels);
        return g.Build(Metadata(c));
    }

    /// <summary>One kept edge (CellOps): (B, H, T) -> (B, H, T), padding zero on output.</summary>
    static string Edge(OnnxGraphBuilder g, string op, string x, string mask, Func<string, float[]> W, int h, string p)
    {
        if (SearchSpace.Conv(op) is { } conv)
        {
            // ReLU -> Conv1d (no bias) -> BatchNorm (eval) -> * mask; BN folds into the conv: w' = w * s, b' = beta - mean * s.
            var (scale, shift) = FoldBatchNorm(W, p + "bn.", h);
            var w = W(p + "conv.weight");                                               // (H out, H in, k)
            int perOut = w.Length / h;
            for (int o = 0; o < h; o++)
                for (int i = 0; i < perOut; i++) w[o * perOut + i] *= scale[o];
            long pad = (conv.Kernel - 1) * conv.Dilation / 2;
            string y = g.Conv(g.Relu(x), w, [h, h, conv.Kernel], shift, [pad, pad], [conv.Dilation], [1], 1, p + "conv");
            return g.Mul(y, mask);
        }
        if (op is "max_pool3" or "avg_pool3")
        {
            string pooled;
            if (op == "max_pool3")
            {
                // Padded positions never win a window: they become -1e30 first, as masked_fill in PoolOp.
                string filled = g.Where(g.Equal(mask, g.Scalar("zero_mask", 0f)), g.Scalar("minus_1e30", -1e30f), x);
                pooled = g.Node("MaxPool", [filled], attributes: [OnnxGraphBuilder.Attr("kernel_shape", [3L]), OnnxGraphBuilder.Attr("pads", [1L, 1L]), OnnxGraphBuilder.Attr("strides", [1L])])[0];
            }
            else
            {
                // Window sum / tokens in the window: both averages count the pad (count_include_pad, torch's default), so the ratio is exact.
                string Avg(string t) => g.Node("AveragePool", [t], attributes: [OnnxGraphBuilder.Attr("kernel_shape", [3L]), OnnxGraphBuilder.Attr("pads", [1L, 1L]),
                    OnnxGraphBuilder.Attr("strides", [1L]), OnnxGraphBuilder.Attr("count_include_pad", 1L)])[0];
                pooled = g.Div(Avg(x), g.Max(Avg(mask), g.Scalar("min_window", 1e-6f)));
            }
            var (scale, shift) = FoldBatchNorm(W, p + "bn.", h);
            string y = g.Add(g.Mul(g.Mul(pooled, mask), g.Initializer(p + "bn.scale", scale, h, 1)), g.Initializer(p + "bn.shift", shift, h, 1)); // (H, 1) per channel
            return g.Mul(y, mask);
        }
        return op switch
        {
            "identity" => x,
            _ => throw DistilException.BadInput($"operation '{op}' cannot be exported (a derived genotype has conv, pool and identity edges only)"),
        };
    }

    /// <summary>Eval-mode BatchNorm1d as y = x * scale + shift per channel (running statistics, eps 1e-5, affine).</summary>
    static (float[] Scale, float[] Shift) FoldBatchNorm(Func<string, float[]> W, string p, int h)
    {
        var mean = W(p + "running_mean");
        var variance = W(p + "running_var");
        var gamma = W(p + "weight");
        var beta = W(p + "bias");
        var scale = new float[h];
        var shift = new float[h];
        for (int i = 0; i < h; i++)
        {
            double s = gamma[i] / Math.Sqrt(variance[i] + BatchNormEps);
            scale[i] = (float)s;
            shift[i] = (float)(beta[i] - mean[i] * s);
        }
        return (scale, shift);
    }

    /// <summary>torch's BatchNorm1d default eps (CellOps does not change it).</summary>
    const double BatchNormEps = 1e-5;

    public static Dictionary<string, string> Metadata(AdaBertCnnConfig c) => new()
    {
        ["distil.model_family"] = AdaBertCnnConfig.Type,
        ["distil.labels"] = JsonSerializer.Serialize(c.Labels),
        ["distil.genotype"] = c.Genotype.ToString(),
        ["distil.cnn_head"] = c.Head,
        ["distil.max_position_embeddings"] = c.MaxPositionEmbeddings.ToString(),
        ["distil.precision"] = "fp32",
    };
}
