using System.Runtime.InteropServices;
using Distil.Checkpoints;
using Distil.Models;
using Distil.Onnx;
using Google.Protobuf;
using Onnx;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Distil.Tests;

/// <summary>
/// Imports the real all-MiniLM-L6-v2 once per test run (shared by the <see cref="MiniLmCollection"/> classes):
/// into memory and as an HF folder.
/// </summary>
public sealed class MiniLmImportFixture : IDisposable
{
    /// <summary>Wall time of package extraction + ONNX import + folder write + proto parse, for the test log.</summary>
    public TimeSpan ImportTime { get; }

    public MiniLmFixture Files { get; }
    public OnnxBertImport Import { get; }
    public string Folder { get; }
    public ModelProto Proto { get; }

    public MiniLmImportFixture()
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        Files = new MiniLmFixture();
        Folder = Path.Combine(Files.Dir, "hf");
        Import = OnnxFolderImporter.ImportOnnxToFolder(Files.Onnx, Files.Vocab, Folder);
        using var f = File.OpenRead(Files.Onnx);
        Proto = ModelProto.Parser.ParseFrom(f);
        ImportTime = clock.Elapsed;
    }

    public void Dispose()
    {
        foreach (var t in Import.StateDict.Values) t.Dispose();
        Files.Dispose();
    }
}

/// <summary>The test classes that share one <see cref="MiniLmImportFixture"/> (the 90 MB import runs once, and they run one after another).</summary>
[CollectionDefinition(Name)]
public sealed class MiniLmCollection : ICollectionFixture<MiniLmImportFixture>
{
    public const string Name = "MiniLM import";
}

[Collection(MiniLmCollection.Name)]
public sealed class OnnxImportTests(MiniLmImportFixture fx)
{
    static float[] RawFloats(TensorProto t) => t.RawData.IsEmpty ? t.FloatData.ToArray() : MemoryMarshal.Cast<byte, float>(t.RawData.Span).ToArray();

    [Fact]
    public void ConfigIsMiniLmL6()
    {
        var c = fx.Import.Config;
        Assert.Equal((6, 384, 12, 1536, 30522, 512, 2), (c.NumHiddenLayers, c.HiddenSize, c.NumAttentionHeads, c.IntermediateSize, c.VocabSize, c.MaxPositionEmbeddings, c.TypeVocabSize));
        Assert.Equal("gelu", c.HiddenAct);
        Assert.Equal(1e-12, c.LayerNormEps);
        Assert.Equal(new[] { "input_ids", "attention_mask", "token_type_ids" }, fx.Import.InputNames);
        Assert.Equal("last_hidden_state", fx.Import.LastHiddenStateOutput);
        Assert.Equal(fx.Proto.Graph.Output[1].Name, fx.Import.PoolerOutput);
    }

    [Fact]
    public void EveryHfKeyIsPresentWithItsShape()
    {
        const int H = 384, I = 1536;
        var expected = new Dictionary<string, long[]>
        {
            ["embeddings.word_embeddings.weight"] = new long[] { 30522, H },
            ["embeddings.position_embeddings.weight"] = new long[] { 512, H },
            ["embeddings.token_type_embeddings.weight"] = new long[] { 2, H },
            ["embeddings.LayerNorm.weight"] = new long[] { H },
            ["embeddings.LayerNorm.bias"] = new long[] { H },
            ["pooler.dense.weight"] = new long[] { H, H },
            ["pooler.dense.bias"] = new long[] { H },
        };
        for (int i = 0; i < 6; i++)
        {
            string p = $"encoder.layer.{i}.";
            foreach (var n in new[] { "attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense" })
            {
                expected[p + n + ".weight"] = new long[] { H, H };
                expected[p + n + ".bias"] = new long[] { H };
            }
            expected[p + "intermediate.dense.weight"] = new long[] { I, H };
            expected[p + "intermediate.dense.bias"] = new long[] { I };
            expected[p + "output.dense.weight"] = new long[] { H, I };
            expected[p + "output.dense.bias"] = new long[] { H };
            foreach (var n in new[] { "attention.output.LayerNorm", "output.LayerNorm" })
            {
                expected[p + n + ".weight"] = new long[] { H };
                expected[p + n + ".bias"] = new long[] { H };
            }
        }
        var sd = fx.Import.StateDict;
        Assert.Equal(expected.Keys.OrderBy(k => k, StringComparer.Ordinal), sd.Keys.OrderBy(k => k, StringComparer.Ordinal));
        foreach (var (k, shape) in expected) Assert.True(shape.SequenceEqual(sd[k].shape), $"{k}: [{string.Join(", ", sd[k].shape)}]");
        // all-MiniLM-L6-v2 with its pooler: 22,713,216 parameters (22,565,376 without the pooler's 147,840).
        Assert.Equal(22_713_216, sd.Values.Sum(t => t.numel()));
    }

    [Fact]
    public void WordEmbeddingRowOfClsEqualsTheGatherReadingInputIds()
    {
        var g = fx.Proto.Graph;
        var gather = g.Node.Single(n => n.OpType == "Gather" && n.Input[1] == "input_ids");
        var table = g.Initializer.Single(t => t.Name == gather.Input[0]);
        var row = RawFloats(table).Skip(101 * 384).Take(384).ToArray();
        Assert.Equal(row, fx.Import.StateDict["embeddings.word_embeddings.weight"][101].data<float>().ToArray());
    }

    [Fact]
    public void EachLinearWeightIsTheTransposedMatMulFeedingItsNamedBias()
    {
        // The exporter named the biases (encoder.layer.3.attention.self.key.bias) but not the MatMul weights ("951"):
        // the weight that the Add of a named bias follows must be that layer's weight, transposed to [out, in].
        var g = fx.Proto.Graph;
        var inits = g.Initializer.ToDictionary(t => t.Name);
        var producer = g.Node.SelectMany(n => n.Output.Select(o => (o, n))).ToDictionary(p => p.o, p => p.n);
        int checkedCount = 0;
        foreach (var add in g.Node.Where(n => n.OpType == "Add"))
        {
            var bias = add.Input.FirstOrDefault(i => i.StartsWith("encoder.layer.", StringComparison.Ordinal) && i.EndsWith(".bias", StringComparison.Ordinal) && !i.Contains("LayerNorm"));
            if (bias == null) continue;
            var other = add.Input.Single(i => i != bias);
            var mm = producer[other];
            Assert.Equal("MatMul", mm.OpType);
            var w = inits[mm.Input[1]];
            string key = bias[..^".bias".Length] + ".weight";
            using var expected = torch.tensor(RawFloats(w), w.Dims.ToArray()).t().contiguous();
            Assert.True(expected.data<float>().ToArray().SequenceEqual(fx.Import.StateDict[key].data<float>().ToArray()), key);
            Assert.Equal(RawFloats(inits[bias]), fx.Import.StateDict[bias].data<float>().ToArray());
            checkedCount++;
        }
        Assert.Equal(6 * 6, checkedCount); // q, k, v, attention output, intermediate, output per layer
    }

    [Fact]
    public void FolderHoldsConfigWeightsVocabAndTokenizerConfig()
    {
        var cfg = BertConfig.Load(Path.Combine(fx.Folder, "config.json"));
        Assert.Equal(fx.Import.Config with { Extra = null }, cfg with { Extra = null, Architectures = fx.Import.Config.Architectures });
        Assert.Equal(new[] { "BertModel" }, cfg.Architectures);
        var st = SafeTensors.Read(Path.Combine(fx.Folder, "model.safetensors"));
        Assert.Equal(fx.Import.StateDict.Keys.OrderBy(k => k), st.Keys.OrderBy(k => k));
        foreach (var (k, t) in st) { Assert.True(t.shape.SequenceEqual(fx.Import.StateDict[k].shape) && t.data<float>().ToArray().SequenceEqual(fx.Import.StateDict[k].data<float>().ToArray()), k); t.Dispose(); }
        Assert.Equal(File.ReadAllText(fx.Files.Vocab), File.ReadAllText(Path.Combine(fx.Folder, "vocab.txt")));
        var tok = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(fx.Folder, "tokenizer_config.json"))).RootElement;
        Assert.True(tok.GetProperty("do_lower_case").GetBoolean());
        Assert.Equal("BertTokenizer", tok.GetProperty("tokenizer_class").GetString());
        Assert.Equal(512, tok.GetProperty("model_max_length").GetInt32());
        Assert.Empty(Directory.GetDirectories(Path.GetDirectoryName(fx.Folder)!, "hf.tmp-*"));
    }

    [Fact]
    public void RejectsAGraphThatIsNotBert()
    {
        var w = new TensorProto { Name = "W", DataType = (int)TensorProto.Types.DataType.Float, Dims = { 2, 2 }, FloatData = { 1, 2, 3, 4 } };
        var graph = new GraphProto { Name = "mlp", Initializer = { w } };
        graph.Node.Add(new NodeProto { OpType = "MatMul", Input = { "x", "W" }, Output = { "y" } });
        graph.Input.Add(new ValueInfoProto { Name = "x" });
        graph.Output.Add(new ValueInfoProto { Name = "y" });
        var model = new ModelProto { IrVersion = 7, Graph = graph, OpsetImport = { new OperatorSetIdProto { Version = 13 } } };
        var path = Path.Combine(fx.Files.Dir, "mlp.onnx");
        File.WriteAllBytes(path, model.ToByteArray());
        var e = Assert.Throws<DistilException>(() => OnnxBertImporter.Import(path));
        Assert.Equal(ExitCodes.InvalidInput, e.ExitCode);
        Assert.Contains($"{path}: not a BERT encoder:", e.Message);
        Assert.Contains("input_ids", e.Message);
    }

    [Fact]
    public void RejectsTruncatedAndGarbageFiles()
    {
        var truncated = Path.Combine(fx.Files.Dir, "truncated.onnx");
        using (var src = File.OpenRead(fx.Files.Onnx))
        using (var dst = File.Create(truncated))
        {
            var buf = new byte[1_000_000];
            src.ReadExactly(buf);
            dst.Write(buf);
        }
        var e = Assert.Throws<DistilException>(() => OnnxBertImporter.Import(truncated));
        Assert.Equal(ExitCodes.InvalidInput, e.ExitCode);
        Assert.Contains(truncated, e.Message);

        var garbage = Path.Combine(fx.Files.Dir, "garbage.onnx");
        File.WriteAllBytes(garbage, System.Text.Encoding.ASCII.GetBytes("this is not a protobuf at all \xff\xff\xff"));
        Assert.Equal(ExitCodes.InvalidInput, Assert.Throws<DistilException>(() => OnnxBertImporter.Import(garbage)).ExitCode);
    }
}
