using Distil.Onnx;
using Google.Protobuf;
using Onnx;
using Xunit;

namespace Distil.Tests;

/// <summary>
/// A 1-layer BERT written by hand the way opset-17 exporters write it: fused LayerNormalization, weights in
/// Constant nodes with float_data (not raw_data initializers), constant Reshape shapes. Covers what MiniLM lacks.
/// </summary>
public sealed class OnnxSyntheticBertTests : IDisposable
{
    readonly string dir = TempDir.Scratch("onnx");
    public void Dispose() => Directory.Delete(dir, recursive: true);

    const int H = 4, Heads = 2, I = 8, V = 5, P = 6;
    readonly GraphProto g = new() { Name = "tiny-bert" };
    int counter;

    /// <summary>A Constant node holding float_data 0, 1, 2... + start, named name.</summary>
    string Const(string name, float start, params long[] dims)
    {
        long n = dims.Aggregate(1L, (a, b) => a * b);
        var t = new TensorProto { DataType = (int)TensorProto.Types.DataType.Float };
        t.Dims.AddRange(dims);
        for (long i = 0; i < n; i++) t.FloatData.Add(start + i);
        g.Node.Add(new NodeProto { OpType = "Constant", Output = { name }, Attribute = { new AttributeProto { Name = "value", Type = AttributeProto.Types.AttributeType.Tensor, T = t } } });
        return name;
    }

    string Ints(params long[] v)
    {
        var name = $"c{counter++}";
        var t = new TensorProto { DataType = (int)TensorProto.Types.DataType.Int64, Dims = { v.Length } };
        t.Int64Data.AddRange(v);
        g.Initializer.Add(t.Clone().Also(x => x.Name = name));
        return name;
    }

    string Node(string op, string[] inputs, params AttributeProto[] attrs)
    {
        var o = $"t{counter++}";
        g.Node.Add(new NodeProto { OpType = op, Input = { inputs }, Output = { o }, Attribute = { attrs } });
        return o;
    }

    static AttributeProto Perm(params long[] p) => new() { Name = "perm", Type = AttributeProto.Types.AttributeType.Ints, Ints = { p } };

    string LayerNorm(string x, string prefix) =>
        Node("LayerNormalization", new[] { x, Const(prefix + "g", 100, H), Const(prefix + "b", 200, H) },
            new AttributeProto { Name = "epsilon", Type = AttributeProto.Types.AttributeType.Float, F = 1e-12f });

    string Linear(string x, string w, string b) => Node("Add", new[] { Node("MatMul", new[] { x, w }), b });

    [Fact]
    public void FusedLayerNormAndConstantNodeWeightsImport()
    {
        foreach (var n in new[] { "input_ids", "token_type_ids" }) g.Input.Add(new ValueInfoProto { Name = n });
        var word = Node("Gather", new[] { Const("Wword", 0, V, H), "input_ids" });
        var type = Node("Gather", new[] { Const("Wtype", 1000, 2, H), "token_type_ids" });
        var pos = Node("Gather", new[] { Const("Wpos", 2000, P, H), Ints(0, 1, 2) });
        var emb = LayerNorm(Node("Add", new[] { Node("Add", new[] { word, pos }), type }), "ln0");

        string Heads4(string t) => Node("Reshape", new[] { t, Ints(0, 0, Heads, H / Heads) });
        var q = Node("Transpose", new[] { Heads4(Linear(emb, Const("Wq", 10, H, H), Const("bq", 11, H))) }, Perm(0, 2, 1, 3));
        var k = Node("Transpose", new[] { Heads4(Linear(emb, Const("Wk", 20, H, H), Const("bk", 21, H))) }, Perm(0, 2, 3, 1));
        var v = Node("Transpose", new[] { Heads4(Linear(emb, Const("Wv", 30, H, H), Const("bv", 31, H))) }, Perm(0, 2, 1, 3));
        var probs = Node("Softmax", new[] { Node("Div", new[] { Node("MatMul", new[] { q, k }), Const("scale", 2) }) });
        var ctx = Node("Reshape", new[] { Node("Transpose", new[] { Node("MatMul", new[] { probs, v }) }, Perm(0, 2, 1, 3)), Ints(0, 0, H) });
        var ln1 = LayerNorm(Node("Add", new[] { Linear(ctx, Const("Wo", 40, H, H), Const("bo", 41, H)), emb }), "ln1");
        var inter = Linear(ln1, Const("Wi", 50, H, I), Const("bi", 51, I));
        var gelu = Node("Mul", new[] { Node("Mul", new[] { inter, Node("Add", new[] { Node("Erf", new[] { Node("Div", new[] { inter, Const("sqrt2", 1.41f) }) }), Const("one", 1) }) }), Const("half", 0.5f) });
        var ln2 = LayerNorm(Node("Add", new[] { Linear(gelu, Const("Wout", 60, I, H), Const("bout", 61, H)), ln1 }), "ln2");
        g.Output.Add(new ValueInfoProto { Name = ln2 });

        var path = Path.Combine(dir, "tiny.onnx");
        File.WriteAllBytes(path, new ModelProto { IrVersion = 8, Graph = g, OpsetImport = { new OperatorSetIdProto { Version = 17 } } }.ToByteArray());

        var (config, sd) = OnnxBertImporter.Import(path);
        Assert.Equal((1, H, Heads, I, V, P, 2), (config.NumHiddenLayers, config.HiddenSize, config.NumAttentionHeads, config.IntermediateSize, config.VocabSize, config.MaxPositionEmbeddings, config.TypeVocabSize));
        Assert.Equal(1e-12, config.LayerNormEps);
        Assert.Equal("gelu", config.HiddenAct);
        Assert.DoesNotContain("pooler.dense.weight", sd.Keys);
        Assert.Equal(3 + 2 + 6 * 2 + 2 * 2, sd.Count); // 3 tables, embedding LN, 6 linears, 2 layer LNs
        // Constant values start at 10 (Wq) and count up row-major over [in, out]; HF wants [out, in]: element [o, i] = 10 + i*H + o.
        var wq = sd["encoder.layer.0.attention.self.query.weight"].data<float>().ToArray();
        Assert.Equal(Enumerable.Range(0, H * H).Select(j => 10f + (j % H) * H + j / H), wq);
        Assert.Equal(20f, sd["encoder.layer.0.attention.self.key.weight"].data<float>()[0]);
        Assert.Equal(31f, sd["encoder.layer.0.attention.self.value.bias"].data<float>()[0]);
        Assert.Equal(new long[] { I, H }, sd["encoder.layer.0.intermediate.dense.weight"].shape);
        Assert.Equal(1000f, sd["embeddings.token_type_embeddings.weight"].data<float>()[0]);
        Assert.Equal(2000f, sd["embeddings.position_embeddings.weight"].data<float>()[0]);
        Assert.Equal(100f, sd["encoder.layer.0.output.LayerNorm.weight"].data<float>()[0]);
        foreach (var t in sd.Values) t.Dispose();
    }
}

static class ProtoExtensions
{
    public static T Also<T>(this T x, Action<T> f) { f(x); return x; }
}
