using Distil.Deploy;
using Distil.Onnx;
using Onnx;
using TorchSharp;
using Xunit;

namespace Distil.Tests;

/// <summary>
/// FuseSharedInput: query, key and value (three MatMul + bias Add reading one hidden state) become one int8 MatMul and a
/// Split. Per-column scales make it the same arithmetic, so the logits must equal the unfused int8 model's.
/// </summary>
public sealed class Int8FusionTests : IDisposable
{
    readonly TempDir tmp = new();
    public Int8FusionTests() => torch.set_num_threads(1);
    public void Dispose() => tmp.Dispose();

    [Theory]
    [InlineData(Int8Format.Integer)]
    [InlineData(Int8Format.Contrib)]
    public void FusedQkvGivesTheLogitsOfSeparateMatMuls(Int8Format format)
    {
        string model = DeployFixtures.ClassifierFolder(tmp.Path, pooling: "mean", layers: 2);
        string fp32 = Path.Combine(tmp.Path, "onnx");
        OnnxExport.Export(model, fp32, new ExportOptions { MaxSeqLen = 32 });
        string plain = Path.Combine(tmp.Path, "int8"), fused = Path.Combine(tmp.Path, "int8-fused");
        var a = Int8Export.QuantizeFolder(fp32, plain, new QuantizeOptions { Format = format }, maxSeqLen: 32);
        var b = Int8Export.QuantizeFolder(fp32, fused, new QuantizeOptions { Format = format, FuseSharedInput = true }, maxSeqLen: 32);

        Assert.Equal(a.Quantization.MatMuls, b.Quantization.MatMuls);
        Assert.Equal(2 * 3, b.Quantization.FusedMatMuls);             // q, k, v of both layers
        var graph = ModelProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(fused, OnnxExport.OnnxFile))).Graph;
        Assert.Equal(2, graph.Node.Count(n => n.OpType == "Split"));
        string gemm = format == Int8Format.Integer ? "MatMulInteger" : "DynamicQuantizeMatMul";
        Assert.Equal(2 * 4 + 1, graph.Node.Count(n => n.OpType == gemm)); // qkv, output, intermediate, output per layer + classifier
        Assert.DoesNotContain(graph.Node, n => n.OpType == "MatMul" && n.Input[1].Contains("attention.self"));

        using var pa = DistilPredictor.Load(plain);
        using var pb = DistilPredictor.Load(fused);
        var inputs = DeployFixtures.Sentences.Select(s => (s, (string?)null)).Append(("love the phone", "hate the food")).ToList();
        var la = pa.Logits(inputs);
        var lb = pb.Logits(inputs);
        for (int i = 0; i < la.Length; i++)
            for (int k = 0; k < la[i].Length; k++) Assert.True(Math.Abs(la[i][k] - lb[i][k]) <= 1e-5, $"row {i} logit {k}: {la[i][k]} vs {lb[i][k]}");
    }
}
