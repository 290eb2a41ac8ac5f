using Distil.Checkpoints;
using Distil.Models;
using Distil.Onnx;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Onnx;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Distil.Tests;

/// <summary>
/// ONNX export of tiny random BERT classifiers: ONNX Runtime (an independent engine) must reproduce TorchSharp's logits
/// on padded batches of several shapes, for both poolings and both GELU forms; the graph's contract (opset, names,
/// symbolic axes) is read back from the file; a wrong graph is caught by the check.
/// </summary>
public sealed class OnnxExportTests : IDisposable
{
    readonly TempDir tmp = new();
    public OnnxExportTests() => torch.set_num_threads(1);
    public void Dispose() => tmp.Dispose();

    /// <summary>Ids of <paramref name="lengths"/> rows, padded with 0 to the longest; mask 1 on real tokens; pairs in odd rows.</summary>
    static (long[] Ids, long[] Mask, long[] Types, int Len) Padded(int[] lengths, int vocab, int seed)
    {
        var rng = new Random(seed);
        int len = lengths.Max(), b = lengths.Length;
        var ids = new long[b * len];
        var mask = new long[b * len];
        var types = new long[b * len];
        for (int i = 0; i < b; i++)
            for (int t = 0; t < lengths[i]; t++)
            {
                ids[i * len + t] = t == 0 ? 2 : rng.Next(5, vocab);
                mask[i * len + t] = 1;
                types[i * len + t] = i % 2 == 1 && t >= lengths[i] / 2 ? 1 : 0;
            }
        return (ids, mask, types, len);
    }

    static float[] OrtLogits(InferenceSession s, long[] ids, long[] mask, long[] types, int b, int len)
    {
        var dims = new[] { b, len };
        using var results = s.Run(new[]
        {
            NamedOnnxValue.CreateFromTensor("input_ids", new DenseTensor<long>(ids, dims)),
            NamedOnnxValue.CreateFromTensor("attention_mask", new DenseTensor<long>(mask, dims)),
            NamedOnnxValue.CreateFromTensor("token_type_ids", new DenseTensor<long>(types, dims)),
        });
        var logits = results.Single(r => r.Name == "logits").AsTensor<float>();
        Assert.Equal(new[] { b, 3 }, logits.Dimensions.ToArray());
        return logits.ToArray();
    }

    static float[] TorchLogits(BertForSequenceClassification m, long[] ids, long[] mask, long[] types, int b, int len)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        m.eval();
        return m.forward(new BertInputs(tensor(ids).view(b, len), tensor(mask).view(b, len), tensor(types).view(b, len))).Logits.data<float>().ToArray();
    }

    [Theory]
    [InlineData("pooler", "gelu", false)]
    [InlineData("mean", "gelu", false)]
    [InlineData("mean", "gelu_new", false)]
    [InlineData("pooler", "gelu", true)] // ORT's fused Attention / SkipLayerNormalization kernels
    [InlineData("mean", "gelu", true)]
    public void OnnxRuntimeReproducesTorchSharpOnPaddedBatchesOfTwoShapes(string pooling, string act, bool fused)
    {
        string dir = DeployFixtures.ClassifierFolder(tmp.Path, pooling, act: act);
        string outDir = Path.Combine(tmp.Path, "onnx-" + pooling + act + fused);
        var report = OnnxExport.Export(dir, outDir, new ExportOptions { RandomRows = 16, OrtFused = fused });
        var ops = ModelProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(outDir, "model.onnx"))).Graph.Node.Select(n => n.OpType).ToHashSet();
        Assert.Equal(fused, ops.Contains("Attention") && ops.Contains("SkipLayerNormalization"));
        Assert.Equal(!fused, ops.Contains("Softmax"));
        Assert.True(report.Passed);
        Assert.True(report.Checks.SelectMany(c => c.Shapes).Distinct().Count() >= 3, "the built-in check must run several batch shapes");

        // Our own ORT session and TorchSharp forward, outside the exporter's check code: two batch/sequence sizes,
        // short rows padded to the longest (padding must not change a row's logits in either engine).
        var (m, _) = ModelFolder.LoadForClassification(dir);
        using var model = m;
        using var session = new InferenceSession(Path.Combine(outDir, "model.onnx"));
        foreach (var (lengths, seed) in new[] { (new[] { 5, 2, 9 }, 1), (new[] { 17, 3, 12, 17, 1, 8, 30 }, 2) })
        {
            var (ids, mask, types, len) = Padded(lengths, DeployFixtures.Vocab.Length, seed);
            var ort = OrtLogits(session, ids, mask, types, lengths.Length, len);
            var ts = TorchLogits(model, ids, mask, types, lengths.Length, len);
            double max = ort.Zip(ts, (a, c) => Math.Abs(a - c)).Max();
            Assert.True(max <= 1e-4, $"{pooling}/{act} batch {lengths.Length}x{len}: max |logit diff| {max}");
            Assert.True(ts.Select(Math.Abs).Max() > 0.05, "logits must not be near zero, or the comparison says little");

            // A row alone, unpadded, gives the logits it had in the padded batch.
            int row = Array.IndexOf(lengths, lengths.Min());
            var single = OrtLogits(session, ids.Skip(row * len).Take(lengths[row]).ToArray(), Enumerable.Repeat(1L, lengths[row]).ToArray(),
                types.Skip(row * len).Take(lengths[row]).ToArray(), 1, lengths[row]);
            for (int k = 0; k < 3; k++) Assert.Equal(ort[row * 3 + k], single[k], 4);
        }
    }

    [Fact]
    public void ExportFolderHoldsTheContractAndTheTokenizer()
    {
        string dir = DeployFixtures.ClassifierFolder(tmp.Path, "mean");
        string outDir = Path.Combine(tmp.Path, "onnx");
        var report = OnnxExport.Export(dir, outDir, new ExportOptions { RandomRows = 8 });
        foreach (string f in new[] { "model.onnx", "config.json", "vocab.txt", "tokenizer_config.json", "export_report.json" })
            Assert.True(File.Exists(Path.Combine(outDir, f)), $"{f} missing");

        var proto = ModelProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(outDir, "model.onnx")));
        Assert.True(proto.OpsetImport.Single(o => o.Domain == "").Version >= 17);
        Assert.Equal(new[] { "input_ids", "attention_mask", "token_type_ids" }, proto.Graph.Input.Select(i => i.Name));
        foreach (var input in proto.Graph.Input)
        {
            Assert.Equal((int)TensorProto.Types.DataType.Int64, input.Type.TensorType.ElemType);
            Assert.Equal(new[] { "batch", "sequence" }, input.Type.TensorType.Shape.Dim.Select(d => d.DimParam));
        }
        var output = proto.Graph.Output.Single();
        Assert.Equal("logits", output.Name);
        Assert.Equal("batch", output.Type.TensorType.Shape.Dim[0].DimParam);
        Assert.Equal(3, output.Type.TensorType.Shape.Dim[1].DimValue);
        Assert.Contains(proto.MetadataProps, p => p.Key == "distil.labels" && p.Value == "[\"L0\",\"L1\",\"L2\"]");
        Assert.Contains(proto.MetadataProps, p => p.Key == "distil.pooling" && p.Value == "mean");
        // Every float parameter of the model is in the graph once (no pooler in a mean-pooling export).
        long inGraph = proto.Graph.Initializer.Where(t => t.DataType == (int)TensorProto.Types.DataType.Float && t.Dims.Count >= 1 && t.Dims.Aggregate(1L, (a, d) => a * d) > 1)
            .Sum(t => t.Dims.Aggregate(1L, (a, d) => a * d));
        Assert.Equal(report.Parameters - 32 * 32 - 32, inGraph); // the unused pooler dense
    }

    [Fact]
    public void TheCheckCatchesAGraphThatDiffersFromTheModel()
    {
        string dir = DeployFixtures.ClassifierFolder(tmp.Path, "pooler");
        string outDir = Path.Combine(tmp.Path, "onnx");
        OnnxExport.Export(dir, outDir, new ExportOptions { RandomRows = 8 });
        var (m, _) = ModelFolder.LoadForClassification(dir);
        using var model = m;
        // One row of one weight changes (a uniform shift of all rows would vanish in the LayerNorm after it).
        using (no_grad()) model.bert.encoder.layer[1].output.dense.weight![0].add_(0.05);
        using var ort = new OrtClassifier(Path.Combine(outDir, "model.onnx"));
        var rows = ExportCheck.RandomRows(12, DeployFixtures.Vocab.Length, 20, 2, seed: 3);
        var r = ExportCheck.Compare(model, ort, "perturbed", rows, 4, 0);
        Assert.False(r.Passes(ExportCheck.DefaultAtol));
        Assert.True(r.MaxAbsDiff > 1e-3);
    }

    [Fact]
    public void CliExportThenQuantizeThenPredictOnTheExportFolders()
    {
        string dir = DeployFixtures.ClassifierFolder(tmp.Path, "mean");
        string onnx = Path.Combine(tmp.Path, "cli-onnx"), int8 = Path.Combine(tmp.Path, "cli-int8");
        string data = tmp.File("d.tsv", "text\tlabel\n" + string.Join("\n", DeployFixtures.Sentences.Select((x, i) => $"{x}\tL{i % 3}")));
        Assert.Equal(ExitCodes.Ok, Distil.Cli.CliApp.Run(["export", "--model", dir, "--out", onnx, "--data", data, "--max-seq-len", "32"]));
        var report = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(onnx, "export_report.json")))!;
        Assert.Equal(3, report["checks"]!.AsArray().Count); // two random sets and the data file
        Assert.Equal(ExitCodes.Ok, Distil.Cli.CliApp.Run(["quantize", "--model", onnx, "--out", int8, "--data", data, "--max-seq-len", "32"]));
        Assert.Equal(ExitCodes.Ok, Distil.Cli.CliApp.Run(["predict", "--model", int8, "--text", "the movie was great", "--json"]));
        Assert.Equal(ExitCodes.InvalidUsage, Distil.Cli.CliApp.Run(["quantize", "--model", onnx, "--out", onnx]));
        Assert.Equal(ExitCodes.InvalidUsage, Distil.Cli.CliApp.Run(["quantize", "--model", onnx, "--out", int8 + "2", "--int8", "int4"]));
        Assert.Equal(ExitCodes.InputNotFound, Distil.Cli.CliApp.Run(["export", "--model", Path.Combine(tmp.Path, "none"), "--out", int8 + "3"]));

        // A failed check is an error: with --atol 0 any float difference between the engines fails (exit 6, no folder).
        string strict = Path.Combine(tmp.Path, "strict");
        int code = Distil.Cli.CliApp.Run(["export", "--model", dir, "--out", strict, "--atol", "0"]);
        double maxDiff = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(onnx, "export_report.json")))!["checks"]!.AsArray()
            .Where(c => c!["set"]!.GetValue<string>().StartsWith("random")).Max(c => c!["max_abs_diff"]!.GetValue<double>()); // the sets both exports check
        if (maxDiff > 0)
        {
            Assert.Equal(ExitCodes.CheckFailed, code);
            Assert.False(Directory.Exists(strict));
        }
    }

    [Fact]
    public void ExportOfAnEncoderWithoutAHeadIsRefused()
    {
        string encoder = TinyBert.TeacherFolder();
        try
        {
            var e = Assert.Throws<DistilException>(() => OnnxExport.Export(encoder, Path.Combine(tmp.Path, "x"), new ExportOptions()));
            Assert.Equal(ExitCodes.InvalidInput, e.ExitCode);
            Assert.Contains("no classifier head", e.Message);
            Assert.False(Directory.Exists(Path.Combine(tmp.Path, "x")));
        }
        finally { Directory.Delete(encoder, true); }
    }
}
