using System.Diagnostics;
using System.Text.Json;
using Distil.Checkpoints;
using Distil.Data;
using Distil.Deploy;
using Distil.Models;
using Distil.Onnx;
using Distil.Text;
using Google.Protobuf;
using Onnx;

namespace Distil.Deploy;

/// <summary>fp32 vs int8 logits on one set: largest difference, argmax agreement, and accuracies when labelled.</summary>
public sealed record Int8Comparison(string Set, int Examples, double MaxAbsDiff, double MeanAbsDiff, double Fp32MaxAbsLogit, double ArgmaxAgreement,
    double? Fp32Accuracy, double? Int8Accuracy)
{
    public double? AccuracyDropPoints => Fp32Accuracy is double f && Int8Accuracy is double q ? 100 * (f - q) : null;
}

public sealed record Int8ExportReport(string Folder, string Source, long Fp32Bytes, long Int8Bytes, QuantizeReport Quantization,
    IReadOnlyList<Int8Comparison> Comparisons, double Seconds);

/// <summary>
/// `distil quantize`: an export folder (or a classifier folder, exported and checked first) becomes an int8 folder with
/// the same files, so the predictor and the bench take either. The int8 model is compared with its fp32 source on
/// random rows and on --data (accuracy drop in points when labelled); --max-accuracy-drop makes that a gate.
/// </summary>
public static class Int8Export
{
    public const string ReportFile = "quantize_report.json";

    public static Int8ExportReport QuantizeFolder(string modelDir, string outDir, QuantizeOptions q, string? dataPath = null, int maxSeqLen = 128,
        double? maxAccuracyDropPoints = null, int threads = 1, Action<string>? log = null)
    {
        var clock = Stopwatch.StartNew();
        string source = AtomicFolder.ResolveForReading(modelDir);
        if (!Directory.Exists(source)) throw DistilException.NotFound($"{modelDir}: folder not found; pass an export folder (model.onnx) or a classifier folder");
        if (Path.GetFullPath(source).TrimEnd('/') == Path.GetFullPath(outDir).TrimEnd('/'))
            throw DistilException.Usage($"--out {outDir} is the input folder; choose another folder (e.g. {outDir.TrimEnd('/')}-int8)");
        using var scratch = new ScratchDir();
        if (!File.Exists(Path.Combine(source, OnnxExport.OnnxFile)))
        {
            if (!WeightFiles.Exists(source))
                throw DistilException.NotFound($"{modelDir}: neither {OnnxExport.OnnxFile} nor model weights ({ModelFolder.WeightsFile}, {WeightFiles.PytorchFile} or a shard index) are there; pass an export folder or a classifier folder");
            log?.Invoke($"{modelDir} is a TorchSharp folder: exporting it to fp32 ONNX first (checked)");
            OnnxExport.Export(source, scratch.Path, new ExportOptions { MaxSeqLen = maxSeqLen, Threads = threads }, log);
            source = scratch.Path;
        }
        string fp32Path = Path.Combine(source, OnnxExport.OnnxFile);
        var fp32 = ModelProto.Parser.ParseFrom(File.ReadAllBytes(fp32Path));
        if (fp32.MetadataProps.Any(p => p.Key == "distil.precision" && p.Value == "int8"))
            throw DistilException.Usage($"{fp32Path} is already int8; quantize the fp32 export");
        var (int8, qReport) = DynamicInt8Quantizer.Quantize(fp32, q);
        if (qReport.MatMuls + qReport.Convs == 0) throw DistilException.BadInput($"{fp32Path}: no MatMul with a constant weight found; nothing to quantize");
        log?.Invoke($"quantized {qReport.MatMuls} MatMul weights{(qReport.Convs > 0 ? $", {qReport.Convs} convolutions" : "")}{(qReport.Embeddings > 0 ? $" and {qReport.Embeddings} embedding tables" : "")} ({q.Format.ToString().ToLowerInvariant()} operators)");

        Int8ExportReport? report = null;
        AtomicFolder.Replace(outDir, tmp =>
        {
            string int8Path = Path.Combine(tmp, OnnxExport.OnnxFile);
            AtomicFile.Write(int8Path, s => int8.WriteTo(s));
            foreach (var f in OnnxExport.CopiedFiles.Where(f => File.Exists(Path.Combine(source, f))))
                File.Copy(Path.Combine(source, f), Path.Combine(tmp, f));

            var comparisons = new List<Int8Comparison>();
            using (var a = DistilPredictor.Load(source, new PredictorOptions { MaxSeqLen = maxSeqLen, Threads = threads }))
            using (var b = DistilPredictor.Load(tmp, new PredictorOptions { MaxSeqLen = maxSeqLen, Threads = threads }))
            {
                var words = RandomWords(source);
                var rng = new Random(11);
                var random = Enumerable.Range(0, 32).Select(_ => new Example(
                    string.Join(' ', Enumerable.Range(0, rng.Next(1, 30)).Select(_ => words[rng.Next(words.Length)])), null, null, null, "random")).ToList();
                comparisons.Add(Compare("random", random, a, b, labelled: false));
                if (dataPath != null && a.Task == TaskKind.Token)
                {
                    // A token model's sentences (CoNLL or JSONL tokens + tags): their words as text, logits compared at every token.
                    var tagged = TaggedSentences.Read(dataPath, TaggedSentences.DetectScheme(dataPath));
                    var sentences = tagged.Sentences.Select(s => new Example(string.Join(' ', s.Words), null, null, null, s.Source)).ToList();
                    comparisons.Add(Compare(Path.GetFileName(dataPath), sentences, a, b, labelled: false));
                }
                else if (dataPath != null)
                {
                    var file = DatasetReader.Read(dataPath);
                    comparisons.Add(Compare(Path.GetFileName(dataPath), file.Examples, a, b, labelled: file.Examples.All(e => e.Label != null)));
                }
            }
            foreach (var c in comparisons)
                log?.Invoke($"int8 vs fp32 on {c.Set}: max |logit diff| {c.MaxAbsDiff:F4}, argmax agreement {100 * c.ArgmaxAgreement:F1}%" +
                    (c.AccuracyDropPoints is double d ? $", accuracy {100 * c.Fp32Accuracy:F2}% -> {100 * c.Int8Accuracy:F2}% ({-d:+0.00;-0.00} points)" : ""));
            report = new Int8ExportReport(Path.GetFullPath(outDir), Path.GetFullPath(modelDir), new FileInfo(fp32Path).Length, new FileInfo(int8Path).Length,
                qReport, comparisons, clock.Elapsed.TotalSeconds);
            if (maxAccuracyDropPoints is double limit && comparisons.FirstOrDefault(c => c.AccuracyDropPoints > limit) is { } bad)
                throw new DistilException(ExitCodes.CheckFailed,
                    $"int8 accuracy on {bad.Set} is {bad.AccuracyDropPoints:F2} points below fp32 (allowed {limit}); nothing was written to {outDir}. " +
                    "Try --reduce-range off/on, or keep sensitive weights in float with --exclude");
            File.WriteAllText(Path.Combine(tmp, ReportFile), JsonSerializer.Serialize(report, OnnxExport.ReportJson));
        });
        return report!;
    }

    /// <summary>Whole words of the folder's vocabulary for the random check set: vocab.txt's, or any tokenizer's decoded tokens.</summary>
    static string[] RandomWords(string folder)
    {
        string vocab = Path.Combine(folder, TokenizerFolder.VocabTxtFile);
        if (File.Exists(vocab)) return File.ReadLines(vocab).Where(w => !w.StartsWith('[') && !w.StartsWith("##")).Take(2000).ToArray();
        var tokenizer = TokenizerFolder.Load(folder);
        return Enumerable.Range(0, Math.Min(tokenizer.VocabSize, 5000)).Select(id => tokenizer.Decode([id]).Trim())
            .Where(w => w.Length > 1 && w.All(char.IsLetter)).Take(2000).ToArray();
    }

    static Int8Comparison Compare(string set, IReadOnlyList<Example> examples, DistilPredictor fp32, DistilPredictor int8, bool labelled)
    {
        var inputs = examples.Select(e => (e.Text, e.TextPair)).ToList();
        var a = fp32.Logits(inputs);
        var b = int8.Logits(inputs);
        double max = 0, sum = 0;
        int n = 0, agree = 0;
        int width = fp32.Task == TaskKind.Token ? fp32.Labels.Count : a.FirstOrDefault()?.Length ?? 1; // a token model agrees when every position does
        for (int i = 0; i < a.Length; i++)
        {
            for (int k = 0; k < a[i].Length; k++) { double d = Math.Abs(a[i][k] - b[i][k]); max = Math.Max(max, d); sum += d; n++; }
            if (a[i].Chunk(width).Zip(b[i].Chunk(width)).All(p => OrtClassifier.ArgMax(p.First) == OrtClassifier.ArgMax(p.Second))) agree++;
        }
        double? accA = null, accB = null;
        if (labelled && examples.Count > 0)
        {
            var labels = LabelSet.FromNames(fp32.Labels);
            var gold = examples.Select(e => labels.IdOf(e.Label, e.Source)).ToArray();
            accA = gold.Where((g, i) => OrtClassifier.ArgMax(a[i]) == g).Count() / (double)gold.Length;
            accB = gold.Where((g, i) => OrtClassifier.ArgMax(b[i]) == g).Count() / (double)gold.Length;
        }
        return new Int8Comparison(set, examples.Count, max, n == 0 ? 0 : sum / n, a.Length == 0 ? 0 : a.Max(r => r.Max(Math.Abs)), examples.Count == 0 ? 1 : agree / (double)examples.Count, accA, accB);
    }

    sealed class ScratchDir : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("distil-quantize-").FullName;
        public void Dispose() { try { Directory.Delete(Path, true); } catch (IOException) { } }
    }
}
