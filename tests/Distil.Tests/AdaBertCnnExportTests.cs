using Distil.Checkpoints;
using Distil.Deploy;
using Distil.Models;
using Distil.Onnx;
using Microsoft.ML.OnnxRuntime;
using Onnx;
using TorchSharp;
using Xunit;
using DataType = Onnx.TensorProto.Types.DataType;

namespace Distil.Tests;

/// <summary>
/// The AdaBERT CNN student in ONNX: export parity with TorchSharp for a genotype that holds every op kind (plain and
/// dilated convs of all widths, both poolings, identity) with random BatchNorm statistics, pairs and padding; the
/// int8 convolution (ConvInteger) against the arithmetic done here; the int8 student against its fp32 export; and the
/// predictor / CLI path.
/// </summary>
public sealed class AdaBertCnnExportTests : IDisposable
{
    readonly TempDir tmp = new();
    public AdaBertCnnExportTests() => torch.set_num_threads(1);
    public void Dispose() => tmp.Dispose();

    /// <summary>All 9 non-zero ops, 3 per node (a node may take more than 2 edges), so one cell covers them all.</summary>
    static readonly Genotype EveryOp = new(2, [
        [new("conv3", 0), new("dil_conv5", 1), new("max_pool3", 1)],
        [new("conv5", 1), new("avg_pool3", 2), new("identity", 0)],
        [new("conv7", 3), new("dil_conv3", 2), new("dil_conv7", 0)],
    ]);

    /// <summary>A CNN student folder with random weights, BN statistics, node and layer weights (none left at its neutral init).</summary>
    public static string CnnFolder(string root, int seed = 3, int hidden = 16, string pooling = CnnInputs.MeanPooling, string head = CnnInputs.PooledHead)
    {
        string tok = Path.Combine(root, "tokenizer");
        Directory.CreateDirectory(tok);
        File.WriteAllLines(Path.Combine(tok, "vocab.txt"), DeployFixtures.Vocab);
        File.WriteAllText(Path.Combine(tok, "tokenizer_config.json"), """{"do_lower_case": true}""");
        var config = AdaBertCnnConfig.Create(EveryOp, DeployFixtures.Vocab.Length, 128, hidden, 0, ["neg", "neu", "pos"], 0.1, pooling, head);
        torch.manual_seed(seed);
        using var model = new AdaBertCnnForSequenceClassification(config);
        using (torch.no_grad())
            foreach (var (name, t) in model.state_dict())
            {
                if (name.EndsWith("running_var")) t.copy_(torch.rand_like(t) * 1.5 + 0.5);
                else if (name.EndsWith("running_mean") || name.EndsWith("bn.bias") || name.EndsWith("LayerNorm.bias")) t.copy_(torch.randn_like(t) * 0.3);
                else if (name.EndsWith("bn.weight") || name.EndsWith("LayerNorm.weight")) t.copy_(torch.rand_like(t) + 0.5);
                else if (name.EndsWith("node_weights") || name == "layer_weights") t.copy_(torch.randn_like(t));
                else if (name.EndsWith("conv.weight")) t.mul_(3); // larger activations: the cells' effect on the logits is not negligible
            }
        string dir = Path.Combine(root, $"cnn-{seed}-{pooling}-{head}");
        AdaBertCnnFolder.Save(dir, model, tok);
        return dir;
    }

    [Fact]
    public void ExportReproducesTheStudentWithEveryOpKind()
    {
        string model = CnnFolder(tmp.Path);
        string data = tmp.File("check.tsv", "sentence\tlabel\n" + string.Join("\n", DeployFixtures.Sentences.Select((s, i) => $"{s}\t{(i % 2 == 0 ? "pos" : "neg")}")) + "\n");
        string outDir = Path.Combine(tmp.Path, "onnx");
        var report = OnnxExport.Export(model, outDir, new ExportOptions { DataPath = data, MaxSeqLen = 32 });

        Assert.True(report.Passed);
        // Random rows (incl. pairs: token type 1 on the second half) in batches of 8 and 3, and the data file.
        Assert.Equal(3, report.Checks.Count);
        Assert.All(report.Checks, c => Assert.True(c.MaxAbsDiff <= 1e-4 && c.ArgmaxAgreement == 1, $"{c.Set}: {c.MaxAbsDiff}"));
        Assert.Contains(report.Checks[0].Shapes, s => s.StartsWith("8x"));

        var proto = ModelProto.Parser.ParseFrom(File.ReadAllBytes(report.OnnxPath));
        Assert.True(proto.OpsetImport.Single(o => o.Domain == "").Version >= 17);
        var ops = proto.Graph.Node.Select(n => n.OpType).ToList();
        Assert.Equal(2 * 6, ops.Count(o => o == "Conv"));               // 6 convs per cell, BN folded into them
        Assert.Equal(2, ops.Count(o => o == "MaxPool"));
        Assert.Equal(2 * 2, ops.Count(o => o == "AveragePool"));        // window sum and window count
        var dilations = proto.Graph.Node.Where(n => n.OpType == "Conv").Select(n => n.Attribute.Single(a => a.Name == "dilations").Ints[0]).ToList();
        Assert.Equal(2 * 3, dilations.Count(d => d == 2));
        Assert.DoesNotContain("BatchNormalization", ops);
        // Dynamic batch and sequence axes; labels and family in the metadata for the predictor.
        Assert.All(proto.Graph.Input, i => Assert.Equal(["batch", "sequence"], i.Type.TensorType.Shape.Dim.Select(d => d.DimParam)));
        Assert.Contains(proto.MetadataProps, p => p.Key == "distil.model_family" && p.Value == AdaBertCnnConfig.Type);
        Assert.True(File.Exists(Path.Combine(outDir, "vocab.txt")) && File.Exists(Path.Combine(outDir, "config.json")));
    }

    /// <summary>One dilated Conv1d with bias through the quantizer, in ORT, against dequantize-then-convolve in doubles.</summary>
    [Fact]
    public void ExportReproducesAMaxPooledStudent()
    {
        string model = CnnFolder(tmp.Path, pooling: CnnInputs.MaxPooling);
        Assert.Equal(CnnInputs.MaxPooling, AdaBertCnnConfig.Load(Path.Combine(model, "config.json")).Pooling);
        var report = OnnxExport.Export(model, Path.Combine(tmp.Path, "onnx-max"), new ExportOptions { MaxSeqLen = 32 });

        Assert.True(report.Passed);
        Assert.All(report.Checks, c => Assert.True(c.MaxAbsDiff <= 1e-4 && c.ArgmaxAgreement == 1, $"{c.Set}: {c.MaxAbsDiff}"));
        var ops = ModelProto.Parser.ParseFrom(File.ReadAllBytes(report.OnnxPath)).Graph.Node.Select(n => n.OpType).ToList();
        Assert.Equal(EveryOp.Depth + 1, ops.Count(o => o == "ReduceMax")); // the embedding layer and each cell
    }

    [Theory]
    [InlineData(CnnInputs.MeanPooling)]
    [InlineData(CnnInputs.MaxPooling)]
    public void ExportReproducesAPairHeadStudent(string pooling)
    {
        string model = CnnFolder(tmp.Path, pooling: pooling, head: CnnInputs.PairHead);
        Assert.Equal(CnnInputs.PairHead, AdaBertCnnConfig.Load(Path.Combine(model, "config.json")).Head);
        // The random check rows hold pairs (token type 1 on the second half) and single sentences.
        var report = OnnxExport.Export(model, Path.Combine(tmp.Path, $"onnx-pair-{pooling}"), new ExportOptions { MaxSeqLen = 32 });

        Assert.True(report.Passed);
        Assert.All(report.Checks, c => Assert.True(c.MaxAbsDiff <= 1e-4 && c.ArgmaxAgreement == 1, $"{c.Set}: {c.MaxAbsDiff}"));
        var proto = ModelProto.Parser.ParseFrom(File.ReadAllBytes(report.OnnxPath));
        Assert.Contains(proto.Graph.Node, n => n.OpType == "Abs");       // |u - v|
        Assert.Contains(proto.MetadataProps, p => p.Key == "distil.cnn_head" && p.Value == CnnInputs.PairHead);
        var classifier = proto.Graph.Initializer.Single(i => i.Name.StartsWith("classifier") && i.Dims.Count == 2);
        Assert.Contains(4L * 16, classifier.Dims);                       // [u, v, |u - v|, u * v] of H 16
    }

    [Theory]
    [InlineData(Int8Format.Integer)]
    [InlineData(Int8Format.Qdq)]
    public void Int8ConvMatchesTheQuantizationArithmetic(Int8Format format)
    {
        const int cIn = 3, cOut = 2, k = 3, dil = 2, t = 7;
        var rng = new Random(5);
        float[] w = Enumerable.Range(0, cOut * cIn * k).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        w[0] = 0.9f; // channel 0's scale differs from channel 1's
        float[] bias = [0.25f, -0.5f];
        var g = new OnnxGraphBuilder();
        string x = g.Input("x", DataType.Float, "batch", cIn, "t");
        string y = g.Conv(x, w, [cOut, cIn, k], bias, [2, 2], [dil], [1], 1, "conv");
        g.Output(y, "y", DataType.Float, "batch", cOut, "t");
        var (int8, report) = DynamicInt8Quantizer.Quantize(g.Build(), new QuantizeOptions { Format = format });
        Assert.Equal(1, report.Convs);
        Assert.Contains(int8.Graph.Node, n => n.OpType == (format == Int8Format.Integer ? "ConvInteger" : "DequantizeLinear"));
        string path = Path.Combine(tmp.Path, $"conv-{format}.onnx");
        using (var f = File.Create(path)) Google.Protobuf.MessageExtensions.WriteTo(int8, f);

        float[] input = Enumerable.Range(0, cIn * t).Select(_ => (float)(rng.NextDouble() * 3 - 1)).ToArray();
        using var session = new InferenceSession(path);
        using var xv = OrtValue.CreateTensorValueFromMemory(input, [1, cIn, t]);
        using var outputs = session.Run(new RunOptions(), ["x"], [xv], ["y"]);
        var got = outputs[0].GetTensorDataAsSpan<float>().ToArray();

        var (xq, xs, xzp) = Int8Math.DynamicQuantizeLinear(input);
        var (wq, ws) = Int8Math.QuantizePerRow(w, cOut, cIn * k);
        for (int o = 0; o < cOut; o++)
            for (int pos = 0; pos < t; pos++)
            {
                double sum = bias[o];
                for (int c = 0; c < cIn; c++)
                    for (int j = 0; j < k; j++)
                    {
                        int src = pos - 2 + j * dil; // pads 2 on each side keep the length for k 3, dilation 2
                        if (src < 0 || src >= t) continue;
                        sum += (double)(xq[c * t + src] - xzp) * xs * wq[(o * cIn + c) * k + j] * ws[o];
                    }
                Assert.True(Math.Abs(got[o * t + pos] - sum) < 1e-4, $"{format} y[{o},{pos}] = {got[o * t + pos]}, expected {sum}");
            }
    }

    [Theory]
    [InlineData(Int8Format.Integer)]
    [InlineData(Int8Format.Qdq)]
    public void Int8StudentStaysCloseToItsFp32Export(Int8Format format)
    {
        string model = CnnFolder(tmp.Path);
        string fp32 = Path.Combine(tmp.Path, "onnx");
        OnnxExport.Export(model, fp32, new ExportOptions { MaxSeqLen = 32 });
        string int8 = Path.Combine(tmp.Path, $"int8-{format}");
        var report = Int8Export.QuantizeFolder(fp32, int8, new QuantizeOptions { Format = format }, maxSeqLen: 32);
        Assert.Equal(2 * 6, report.Quantization.Convs);
        Assert.Equal(1, report.Quantization.MatMuls);      // the classifier
        Assert.Equal(2, report.Quantization.Embeddings);   // word and position tables
        Assert.True(report.Int8Bytes < report.Fp32Bytes / 2);

        // Stated tolerance on a small set: logits within 10% of the largest fp32 logit, 90% of argmaxes kept.
        using var a = DistilPredictor.Load(fp32);
        using var b = DistilPredictor.Load(int8);
        var inputs = DeployFixtures.Sentences.Select(s => (s, (string?)null)).Append(("the movie was great !", "awful food .")).ToList();
        var la = a.Logits(inputs);
        var lb = b.Logits(inputs);
        double scale = la.Max(r => r.Max(Math.Abs));
        double maxDiff = la.Zip(lb, (p, q) => p.Zip(q, (u, v) => Math.Abs(u - v)).Max()).Max();
        int agree = la.Zip(lb, (p, q) => OrtClassifier.ArgMax(p) == OrtClassifier.ArgMax(q) ? 1 : 0).Sum();
        Assert.True(maxDiff <= 0.1 * scale, $"max |int8 - fp32| {maxDiff:F4} vs largest logit {scale:F4}");
        Assert.True(agree >= 0.9 * inputs.Count, $"argmax agreement {agree}/{inputs.Count}");
    }

    [Fact]
    public void PredictorOnTheExportGivesTheLabelsOfDistilPredictOnTheStudent()
    {
        string model = CnnFolder(tmp.Path, seed: 4);
        string onnx = Path.Combine(tmp.Path, "onnx");
        Assert.Equal(ExitCodes.Ok, Distil.Cli.CliApp.Run(["export", "--model", model, "--out", onnx, "--max-seq-len", "32"]));
        var inputs = DeployFixtures.Sentences.Select(s => (s, (string?)null)).Append(("great phone", "bad food")).ToList();
        var torchPredictions = Distil.Cli.Commands.PredictCommand.Predict(model, inputs, 32);
        using var predictor = DistilPredictor.Load(onnx, new PredictorOptions { MaxSeqLen = 32 });
        var ortPredictions = predictor.Logits(inputs);
        for (int i = 0; i < inputs.Count; i++)
        {
            Assert.Equal(torchPredictions[i].Label, predictor.Labels[OrtClassifier.ArgMax(ortPredictions[i])]);
            Assert.Equal(torchPredictions[i].Label, Distil.Cli.Commands.PredictCommand.Predict(onnx, [inputs[i]], 32)[0].Label);
        }
        Assert.Equal(ExitCodes.Ok, Distil.Cli.CliApp.Run(["quantize", "--model", onnx, "--out", Path.Combine(tmp.Path, "int8")]));
        Assert.Equal(ExitCodes.InvalidUsage, Distil.Cli.CliApp.Run(["export", "--model", model, "--out", Path.Combine(tmp.Path, "fused"), "--ort-fused"]));
    }

    [Fact]
    public void BenchMeasuresTheStudentOnBothEnginesWithItsInt8Variant()
    {
        string model = CnnFolder(tmp.Path, seed: 5);
        string data = tmp.File("bench.tsv", "sentence\tlabel\n" + string.Join("\n", DeployFixtures.Sentences.Select((s, i) => $"{s}\t{(i % 3 == 0 ? "pos" : i % 3 == 1 ? "neg" : "neu")}")) + "\n");
        var rows = InferenceBench.Run([model], new BenchOptions
        {
            DataPath = data, MaxSeqLen = 32, Warmup = 1, LatencyRuns = 2, ThroughputRuns = 1, ThroughputBatch = 4, LatencySeqLens = [16],
            ThroughputSeqLen = 32, Int8Formats = [Int8Format.Integer],
        }, Path.Combine(tmp.Path, "scratch"));
        Assert.Equal(["torchsharp fp32", "onnxruntime fp32", "onnxruntime int8-integer"], rows.Select(r => $"{r.Engine} {r.Precision}"));
        Assert.Equal(rows[0].Accuracy, rows[1].Accuracy); // same weights, checked export: same predictions
        Assert.All(rows, r => Assert.True(r.Throughput.P50Ms > 0 && r.AccuracyExamples == DeployFixtures.Sentences.Length));
    }
}
