using Distil.Deploy;
using Distil.Onnx;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Onnx;
using TorchSharp;
using Xunit;
using DataType = Onnx.TensorProto.Types.DataType;

namespace Distil.Tests;

/// <summary>
/// Dynamic int8: the quantization arithmetic against values worked out by hand, ONNX Runtime's int8 MatMul against
/// that arithmetic (so the graph means what we think), and a quantized tiny BERT against its fp32 export.
/// </summary>
public sealed class QuantizeTests : IDisposable
{
    readonly TempDir tmp = new();
    public QuantizeTests() => torch.set_num_threads(1);
    public void Dispose() => tmp.Dispose();

    [Fact]
    public void PerChannelWeightsAreScaledByTheColumnMaximumAndRoundedHalfToEven()
    {
        // W is (in 3, out 2). Column 0: max |w| = 127/128, so the scale is exactly 1/128 and q = w * 128:
        // 0.01171875 * 128 = 1.5 -> 2, -0.01953125 * 128 = -2.5 -> -2 (half to even), -127/128 -> -127.
        // Column 1: max |w| = 0.5 -> scale 0.5/127; 0.25 -> 63.5 -> 64 (even), 0 -> 0.
        float[] w = { 0.01171875f, 0.5f, -0.01953125f, 0.25f, -0.9921875f, 0f };
        var (q, s) = Int8Math.QuantizePerColumn(w, rows: 3, cols: 2);
        Assert.Equal(1f / 128, s[0]);
        Assert.Equal(0.5f / 127, s[1]);
        Assert.Equal(new sbyte[] { 2, 127, -2, 64, -127, 0 }, q);
        // Dequantized weights are within half a step of the originals.
        for (int i = 0; i < w.Length; i++) Assert.True(Math.Abs(q[i] * s[i % 2] - w[i]) <= s[i % 2] / 2 + 1e-7);

        // Reduce range: 63 steps; an all-zero column keeps scale 1 and zeros.
        var (q7, s7) = Int8Math.QuantizePerColumn(new[] { 0.63f, 0f, -0.315f, 0f }, rows: 2, cols: 2, maxQ: 63);
        Assert.Equal(new sbyte[] { 63, 0, -32, 0 }, q7); // -31.5 -> -32 (even)
        Assert.Equal(1f, s7[1]);
    }

    [Fact]
    public void DynamicQuantizeLinearFollowsTheOnnxFormulas()
    {
        // x in [-1, 2]: scale = 3/255, zero point = round(1 / (3/255)) = round(85) = 85.
        // q = round(x / scale) + 85: -1 -> 0, 0 -> 85, 2 -> 255, 0.25 -> 21.25 -> 21 + 85 = 106.
        var (q, scale, zp) = Int8Math.DynamicQuantizeLinear(new[] { -1f, 0f, 2f, 0.25f });
        Assert.Equal(3f / 255, scale, 6);
        Assert.Equal(85, zp);
        Assert.Equal(new byte[] { 0, 85, 255, 106 }, q);
        // All positive: the range still starts at 0, so the zero point is 0 and the largest value maps to 255.
        var (qp, sp, zpp) = Int8Math.DynamicQuantizeLinear(new[] { 0.2f, 1f });
        Assert.Equal(0, zpp);
        Assert.Equal(1f / 255, sp, 6);
        Assert.Equal(new byte[] { 51, 255 }, qp); // 0.2 * 255 = 51
    }

    /// <summary>One MatMul graph (A (2, 3) @ W (3, 2)) quantized, run in ORT, against the arithmetic done here in doubles.</summary>
    [Theory]
    [InlineData(Int8Format.Integer)]
    [InlineData(Int8Format.Contrib)]
    [InlineData(Int8Format.Qdq)]
    public void OnnxRuntimeInt8MatMulEqualsTheQuantizeDequantizeArithmetic(Int8Format format)
    {
        float[] w = { 0.3f, -0.8f, 1.2f, 0.05f, -0.45f, 0.6f };
        float[] a = { 0.7f, -1.3f, 2.1f, 0.0f, 0.4f, -0.2f };
        var g = new OnnxGraphBuilder();
        string x = g.Input("x", DataType.Float, "batch", 3L);
        string y = g.MatMul(x, g.Initializer("w", w, 3, 2));
        g.Output(y, "y", DataType.Float, "batch", 2L);
        var (model, report) = DynamicInt8Quantizer.Quantize(g.Build(), new QuantizeOptions { Format = format });
        Assert.Equal(1, report.MatMuls);
        Assert.DoesNotContain(model.Graph.Initializer, t => t.Name == "w"); // the float weight is gone

        string path = Path.Combine(tmp.Path, $"mm-{format}.onnx");
        File.WriteAllBytes(path, Google.Protobuf.MessageExtensions.ToByteArray(model));
        using var session = new InferenceSession(path);
        using var result = session.Run(new[] { NamedOnnxValue.CreateFromTensor("x", new DenseTensor<float>(a, new[] { 2, 3 })) });
        var ort = result.Single().AsEnumerable<float>().ToArray();

        // Reference: A quantized per tensor (uint8, DynamicQuantizeLinear over all of A), W per column (int8, symmetric).
        var (aq, aScale, aZp) = Int8Math.DynamicQuantizeLinear(a);
        var (wq, wScale) = Int8Math.QuantizePerColumn(w, 3, 2);
        for (int r = 0; r < 2; r++)
            for (int c = 0; c < 2; c++)
            {
                double expected = 0, exact = 0;
                for (int k = 0; k < 3; k++)
                {
                    expected += (aq[r * 3 + k] - aZp) * (double)aScale * wq[k * 2 + c] * wScale[c];
                    exact += a[r * 3 + k] * (double)w[k * 2 + c];
                }
                Assert.True(Math.Abs(ort[r * 2 + c] - expected) < 1e-5, $"{format} y[{r},{c}] = {ort[r * 2 + c]}, quantized arithmetic gives {expected}");
                Assert.True(Math.Abs(expected - exact) < 0.05, $"quantization error {expected - exact} is larger than the steps allow");
            }
    }

    [Theory]
    [InlineData(Int8Format.Integer, true, false)]
    [InlineData(Int8Format.Contrib, false, false)]
    [InlineData(Int8Format.Integer, true, true)] // fused export: Attention becomes QAttention
    public void QuantizedTinyBertStaysCloseToFp32(Int8Format format, bool embeddings, bool fused)
    {
        string dir = DeployFixtures.ClassifierFolder(tmp.Path, "mean", layers: 2, hidden: 128, heads: 4, initRange: 0.1);
        string fp32 = Path.Combine(tmp.Path, "fp32"), int8 = Path.Combine(tmp.Path, "int8");
        OnnxExport.Export(dir, fp32, new ExportOptions { RandomRows = 8, OrtFused = fused });
        string data = tmp.File("data.tsv", "text\tlabel\n" + string.Join("\n", DeployFixtures.Sentences.Select((s, i) => $"{s}\tL{i % 3}")));
        var report = Int8Export.QuantizeFolder(fp32, int8, new QuantizeOptions { Format = format, Embeddings = embeddings }, data);

        // 2 layers x (q, k, v, attention output, FFN in, FFN out) + classifier (mean pooling: no pooler); fused: one
        // Attention for q, k and v.
        Assert.Equal(fused ? 2 * 4 + 1 : 2 * 6 + 1, report.Quantization.MatMuls);
        Assert.Equal(embeddings ? 2 : 0, report.Quantization.Embeddings); // word and token type tables
        Assert.True(report.Int8Bytes < report.Fp32Bytes * (embeddings ? 0.35 : 0.6), $"int8 file {report.Int8Bytes} B vs fp32 {report.Fp32Bytes} B");

        // Stated tolerance, relative to the largest fp32 logit L: max |diff| <= 0.15 L, mean |diff| <= 0.05 L. (A small random
        // model is a hard case: per-tensor activation steps do not average out over few channels; the 384-wide MiniLM
        // teacher moves by 0.5 on logits of about 5 and keeps its accuracy, bench/results.)
        foreach (var c in report.Comparisons)
        {
            Assert.True(c.MaxAbsDiff <= 0.15 * c.Fp32MaxAbsLogit, $"{c.Set}: max |logit diff| {c.MaxAbsDiff}, max |logit| {c.Fp32MaxAbsLogit}");
            Assert.True(c.MeanAbsDiff <= 0.05 * c.Fp32MaxAbsLogit, $"{c.Set}: mean |logit diff| {c.MeanAbsDiff}, max |logit| {c.Fp32MaxAbsLogit}");
            Assert.True(c.MaxAbsDiff > 0, "int8 logits equal to fp32 to the last bit: nothing was quantized");
        }
        // Same label wherever fp32 is not close to a tie (top-2 margin above twice the largest int8 error).
        using (var a = DistilPredictor.Load(fp32))
        using (var b = DistilPredictor.Load(int8))
        {
            var rng = new Random(5);
            var inputs = Enumerable.Range(0, 64).Select(_ => (string.Join(' ', Enumerable.Range(0, rng.Next(1, 12)).Select(_ => TinyBert.Words[rng.Next(TinyBert.Words.Length)])), (string?)null)).ToList();
            var la = a.Logits(inputs);
            var lb = b.Logits(inputs);
            double bound = 2 * report.Comparisons.Max(c => c.MaxAbsDiff);
            int clear = 0;
            for (int i = 0; i < la.Length; i++)
            {
                var sorted = la[i].OrderDescending().ToArray();
                if (sorted[0] - sorted[1] <= bound) continue;
                clear++;
                Assert.Equal(OrtClassifier.ArgMax(la[i]), OrtClassifier.ArgMax(lb[i]));
            }
            Assert.True(clear >= 8, $"only {clear} of {la.Length} rows have a clear fp32 label; the check says little");
        }
        var proto = ModelProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(int8, "model.onnx")));
        Assert.Contains(proto.Graph.Node, n => n.OpType == (format == Int8Format.Contrib ? "DynamicQuantizeMatMul" : "MatMulInteger"));
        Assert.Equal(fused, proto.Graph.Node.Any(n => n.OpType == "QAttention"));
        Assert.DoesNotContain(proto.Graph.Node, n => n.OpType == "Attention");
        Assert.DoesNotContain(proto.Graph.Node, n => n.OpType == "MatMul" && proto.Graph.Initializer.Any(t => t.Name == n.Input[1]));
        Assert.Contains(proto.MetadataProps, p => p.Key == "distil.precision" && p.Value == "int8");
        Assert.True(File.Exists(Path.Combine(int8, "vocab.txt")) && File.Exists(Path.Combine(int8, "quantize_report.json")));

        // Quantizing an int8 model again is refused.
        var e = Assert.Throws<DistilException>(() => Int8Export.QuantizeFolder(int8, Path.Combine(tmp.Path, "again"), new QuantizeOptions()));
        Assert.Equal(ExitCodes.InvalidUsage, e.ExitCode);
    }
}
