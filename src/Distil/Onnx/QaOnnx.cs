using System.Diagnostics;
using System.Text.Json;
using Distil.Checkpoints;
using Distil.Models;
using Distil.Text;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Onnx;
using static TorchSharp.torch;
using DataType = Onnx.TensorProto.Types.DataType;

namespace Distil.Onnx;

/// <summary>
/// A <see cref="BertForQuestionAnswering"/> as an ONNX graph: BertOnnxExporter's encoder, then qa_outputs on every
/// token and the two columns as outputs start_logits and end_logits, (batch, sequence) float each.
/// </summary>
public static class QaOnnxExporter
{
    public const string StartLogits = "start_logits", EndLogits = "end_logits";

    public static ModelProto Build(BertForQuestionAnswering model, bool ortFused = false)
    {
        var c = model.Config;
        var W = EncoderOnnxLayers.Weights(model);
        var g = new OnnxGraphBuilder();
        var (hidden, _) = BertOnnxExporter.Encoder(g, c, W, ortFused);
        string logits = g.Linear(hidden, W("qa_outputs.weight"), W("qa_outputs.bias"), 2, c.HiddenSize, "qa_outputs"); // (B, T, 2)
        string start = g.Gather(logits, g.Initializer("start_column", new[] { 0L }), axis: 2); // (B, T)
        string end = g.Gather(logits, g.Initializer("end_column", new[] { 1L }), axis: 2); // (B, T)
        g.Output(start, StartLogits, DataType.Float, BertOnnxExporter.Batch, BertOnnxExporter.Sequence);
        g.Output(end, EndLogits, DataType.Float, BertOnnxExporter.Batch, BertOnnxExporter.Sequence);
        var metadata = BertOnnxExporter.Metadata(c);
        metadata["distil.task"] = "question_answering";
        metadata.Remove("distil.labels");
        metadata.Remove("distil.pooling");
        if (ortFused) metadata["distil.ort_fused"] = "true";
        return g.Build(metadata);
    }
}

/// <summary>An exported QA model in ONNX Runtime: padded int64 batches in, start and end logits (B·T, row-major) out.</summary>
public sealed class OrtSpanModel : IDisposable
{
    readonly InferenceSession session;
    static readonly string[] InputNames = [BertOnnxExporter.InputIds, BertOnnxExporter.AttentionMask, BertOnnxExporter.TokenTypeIds];
    static readonly string[] OutputNames = [QaOnnxExporter.StartLogits, QaOnnxExporter.EndLogits];

    public OrtSpanModel(string onnxPath, int threads = 1)
    {
        if (!File.Exists(onnxPath)) throw DistilException.NotFound($"{onnxPath}: ONNX model not found; make one with `distil export --model DIR --out DIR`");
        using var options = new SessionOptions { IntraOpNumThreads = threads, InterOpNumThreads = 1, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        try { session = new InferenceSession(onnxPath, options); }
        catch (OnnxRuntimeException e) { throw DistilException.BadInput($"{onnxPath}: ONNX Runtime cannot load this model ({e.Message.Split('\n')[0]})"); }
        foreach (var name in OutputNames)
            if (!session.OutputMetadata.ContainsKey(name))
            {
                session.Dispose();
                throw DistilException.BadInput($"{onnxPath}: the model has no output '{name}'; it is not a question-answering export");
            }
    }

    /// <summary>True when the ONNX file has the QA outputs (start_logits, end_logits).</summary>
    public static bool IsSpanModel(string onnxPath)
    {
        if (!File.Exists(onnxPath)) return false;
        var proto = ModelProto.Parser.ParseFrom(File.ReadAllBytes(onnxPath));
        return proto.Graph.Output.Any(o => o.Name == QaOnnxExporter.StartLogits);
    }

    public (float[] Start, float[] End) Run(long[] ids, long[] mask, long[] types, int batch, int seqLen)
    {
        long[] shape = [batch, seqLen];
        using var idsV = OrtValue.CreateTensorValueFromMemory(ids, shape);
        using var maskV = OrtValue.CreateTensorValueFromMemory(mask, shape);
        using var typesV = OrtValue.CreateTensorValueFromMemory(types, shape);
        using var runOptions = new RunOptions();
        using var outputs = session.Run(runOptions, InputNames, [idsV, maskV, typesV], OutputNames);
        return (outputs[0].GetTensorDataAsSpan<float>().ToArray(), outputs[1].GetTensorDataAsSpan<float>().ToArray());
    }

    /// <summary>Per row its start and end logits (its own length), batches formed by length.</summary>
    public (float[] Start, float[] End)[] RunRows(IReadOnlyList<(long[] Ids, long[] Types)> rows, int batchSize, long padId)
    {
        var result = new (float[], float[])[rows.Count];
        var order = Enumerable.Range(0, rows.Count).OrderBy(i => rows[i].Ids.Length).ToArray();
        foreach (var chunk in order.Chunk(batchSize))
        {
            var (ids, mask, types, t) = OrtClassifier.Pad(chunk.Select(i => rows[i]).ToArray(), padId);
            var (s, e) = Run(ids, mask, types, chunk.Length, t);
            for (int k = 0; k < chunk.Length; k++)
            {
                int n = rows[chunk[k]].Ids.Length;
                result[chunk[k]] = (s.AsSpan(k * t, n).ToArray(), e.AsSpan(k * t, n).ToArray());
            }
        }
        return result;
    }

    public void Dispose() => session.Dispose();
}

/// <summary>One comparison of two QA engines on a set of rows: the largest |logit difference| over real tokens and how
/// often the argmax start and end positions agree.</summary>
public sealed record SpanParity(string Set, int Examples, double MaxAbsDiff, double StartAgreement, double EndAgreement)
{
    public bool Passes(double atol) => MaxAbsDiff <= atol && StartAgreement == 1 && EndAgreement == 1;

    public static SpanParity Compare(string set, IReadOnlyList<(float[] Start, float[] End)> a, IReadOnlyList<(float[] Start, float[] End)> b)
    {
        double max = 0;
        int starts = 0, ends = 0;
        for (int i = 0; i < a.Count; i++)
        {
            for (int j = 0; j < a[i].Start.Length; j++)
                max = Math.Max(max, Math.Max(Math.Abs(a[i].Start[j] - b[i].Start[j]), Math.Abs(a[i].End[j] - b[i].End[j])));
            starts += OrtClassifier.ArgMax(a[i].Start) == OrtClassifier.ArgMax(b[i].Start) ? 1 : 0;
            ends += OrtClassifier.ArgMax(a[i].End) == OrtClassifier.ArgMax(b[i].End) ? 1 : 0;
        }
        return new SpanParity(set, a.Count, max, a.Count == 0 ? 1 : (double)starts / a.Count, a.Count == 0 ? 1 : (double)ends / a.Count);
    }
}

public sealed record QaExportReport(string Folder, string OnnxPath, long FileBytes, long Parameters, int Opset, double Atol, IReadOnlyList<SpanParity> Checks, double Seconds);

/// <summary>
/// `distil export` of a QA folder (BERT family): model.onnx (start/end logits) + config.json + tokenizer files +
/// export_report.json, checked against TorchSharp on random padded batches before the folder is swapped into place;
/// a failed check writes nothing (exit code CheckFailed). docs/tasks.md §Extractive QA.
/// </summary>
public static class QaOnnxExport
{
    static readonly string[] CopiedFiles = [ModelFolder.ConfigFile, "vocab.txt", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.json"];

    public static QaExportReport Export(string modelDir, string outDir, ExportOptions o, Action<string>? log = null)
    {
        var clock = Stopwatch.StartNew();
        var (loaded, _) = QaFolder.Load(modelDir);
        using var model = loaded as BertForQuestionAnswering
            ?? throw DistilException.Usage($"{modelDir}: ONNX export of question answering covers BERT folders; this is {loaded.GetType().Name}");
        model.eval();
        var c = model.Config;
        log?.Invoke($"building the ONNX graph (BertForQuestionAnswering, {c.NumHiddenLayers} layers, hidden {c.HiddenSize})");
        var proto = QaOnnxExporter.Build(model, o.OrtFused);
        string source = AtomicFolder.ResolveForReading(modelDir);
        var tokenizer = TokenizerFolder.Load(source);
        int maxLen = Math.Min(o.MaxSeqLen, c.MaxPositionEmbeddings);
        var sets = new List<(string Name, List<(long[] Ids, long[] Types)> Rows, int BatchSize)>
        {
            ("random", ExportCheck.RandomRows(o.RandomRows, c.VocabSize, Math.Min(maxLen, 48), c.TypeVocabSize, o.Seed), 8),
            ("random-b3", ExportCheck.RandomRows(o.RandomRows / 4, c.VocabSize, Math.Min(maxLen, 48), c.TypeVocabSize, o.Seed + 1), 3),
        };
        QaExportReport? report = null;
        AtomicFolder.Replace(outDir, tmp =>
        {
            string onnx = Path.Combine(tmp, OnnxExport.OnnxFile);
            AtomicFile.Write(onnx, s => proto.WriteTo(s));
            foreach (var f in CopiedFiles.Where(f => File.Exists(Path.Combine(source, f))))
                File.Copy(Path.Combine(source, f), Path.Combine(tmp, f));
            var checks = new List<SpanParity>();
            using (var ort = new OrtSpanModel(onnx, o.Threads))
                foreach (var (name, rows, batchSize) in sets)
                {
                    var r = SpanParity.Compare(name, TorchRows(model, rows, batchSize, tokenizer.Pad), ort.RunRows(rows, batchSize, tokenizer.Pad));
                    log?.Invoke($"check {name}: {r.Examples} rows, max |logit diff| {r.MaxAbsDiff:E2}, start/end argmax agreement {100 * r.StartAgreement:F1}% / {100 * r.EndAgreement:F1}%");
                    checks.Add(r);
                }
            report = new QaExportReport(Path.GetFullPath(outDir), Path.Combine(Path.GetFullPath(outDir), OnnxExport.OnnxFile), new FileInfo(onnx).Length,
                model.parameters().Sum(p => p.numel()), OnnxGraphBuilder.Opset, o.Atol, checks, clock.Elapsed.TotalSeconds);
            var failed = checks.FirstOrDefault(x => !x.Passes(o.Atol));
            if (failed != null)
                throw new DistilException(ExitCodes.CheckFailed,
                    $"{modelDir}: the ONNX graph does not reproduce the model on '{failed.Set}': max |logit diff| {failed.MaxAbsDiff:E2} (allowed {o.Atol:E0}); nothing was written to {outDir}. This is a bug in the exporter: please report it");
            File.WriteAllText(Path.Combine(tmp, OnnxExport.ReportFile), JsonSerializer.Serialize(report, OnnxExport.ReportJson));
        });
        return report!;
    }

    /// <summary>TorchSharp's start/end logits per row (its own length), batched as the ORT side.</summary>
    public static (float[] Start, float[] End)[] TorchRows(EncoderQuestionAnswering model, IReadOnlyList<(long[] Ids, long[] Types)> rows, int batchSize, long padId)
    {
        var result = new (float[], float[])[rows.Count];
        var order = Enumerable.Range(0, rows.Count).OrderBy(i => rows[i].Ids.Length).ToArray();
        using var _ = no_grad();
        foreach (var chunk in order.Chunk(batchSize))
        {
            using var scope = NewDisposeScope();
            var (ids, mask, types, t) = OrtClassifier.Pad(chunk.Select(i => rows[i]).ToArray(), padId);
            var o = model.forward(new BertInputs(tensor(ids, [chunk.Length, t]), tensor(mask, [chunk.Length, t]), tensor(types, [chunk.Length, t])));
            float[] s = o.StartLogits.data<float>().ToArray(), e = o.EndLogits.data<float>().ToArray();
            for (int k = 0; k < chunk.Length; k++)
            {
                int n = rows[chunk[k]].Ids.Length;
                result[chunk[k]] = (s.AsSpan(k * t, n).ToArray(), e.AsSpan(k * t, n).ToArray());
            }
        }
        return result;
    }

    /// <summary>
    /// `distil quantize` of a QA export: dynamic int8 (<see cref="DynamicInt8Quantizer"/>, nothing model specific) and
    /// the int8 graph compared with the fp32 one on random rows (reported, not required to agree: int8 moves logits).
    /// </summary>
    public static (QuantizeReport Quantization, SpanParity Comparison, long Fp32Bytes, long Int8Bytes) Quantize(string onnxDir, string outDir, QuantizeOptions q, int threads = 1)
    {
        string fp32Path = Path.Combine(onnxDir, OnnxExport.OnnxFile);
        var fp32 = ModelProto.Parser.ParseFrom(File.ReadAllBytes(fp32Path));
        var (int8, report) = DynamicInt8Quantizer.Quantize(fp32, q);
        var tokenizer = TokenizerFolder.Load(onnxDir);
        var config = BertConfig.Load(Path.Combine(onnxDir, ModelFolder.ConfigFile));
        var rows = ExportCheck.RandomRows(40, config.VocabSize, Math.Min(48, config.MaxPositionEmbeddings), config.TypeVocabSize, 1234);
        SpanParity? comparison = null;
        long int8Bytes = 0;
        AtomicFolder.Replace(outDir, tmp =>
        {
            string onnx = Path.Combine(tmp, OnnxExport.OnnxFile);
            AtomicFile.Write(onnx, s => int8.WriteTo(s));
            foreach (var f in CopiedFiles.Where(f => File.Exists(Path.Combine(onnxDir, f))))
                File.Copy(Path.Combine(onnxDir, f), Path.Combine(tmp, f));
            using var a = new OrtSpanModel(fp32Path, threads);
            using var b = new OrtSpanModel(onnx, threads);
            comparison = SpanParity.Compare("random", a.RunRows(rows, 8, tokenizer.Pad), b.RunRows(rows, 8, tokenizer.Pad));
            int8Bytes = new FileInfo(onnx).Length;
        });
        return (report, comparison!, new FileInfo(fp32Path).Length, int8Bytes);
    }
}
