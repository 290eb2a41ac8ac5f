using System.Diagnostics;
using System.Text.Json;
using Distil.Checkpoints;
using Distil.Data;
using Distil.Models;
using Distil.Text;
using Google.Protobuf;
using Onnx;

namespace Distil.Onnx;

public sealed record ExportOptions
{
    /// <summary>Labelled or unlabelled data to check on (the eval set); the random check set runs in any case. For a token
    /// model a tagged file: CoNLL, or JSONL with "tokens" and "tags" (docs/tasks.md §Tokens).</summary>
    public string? DataPath { get; init; }
    /// <summary>Skip (and count) malformed rows of <see cref="DataPath"/> instead of stopping.</summary>
    public bool SkipBadRows { get; init; }
    public int MaxSeqLen { get; init; } = 128;
    /// <summary>At most this many rows of <see cref="DataPath"/> are checked (0 = all).</summary>
    public int MaxDataRows { get; init; }
    public double Atol { get; init; } = ExportCheck.DefaultAtol;
    public int Threads { get; init; } = 1;
    public int RandomRows { get; init; } = 40;
    public int Seed { get; init; } = 1234;
    /// <summary>ONNX Runtime's fused Attention / SkipLayerNormalization kernels (com.microsoft) instead of standard operators.</summary>
    public bool OrtFused { get; init; }
}

public sealed record ExportReport(string Folder, string OnnxPath, long FileBytes, long Parameters, int Opset, double Atol,
    IReadOnlyList<ParityResult> Checks, double Seconds)
{
    public bool Passed => Checks.All(c => c.Passes(Atol));
}

/// <summary>
/// `distil export`: a classifier folder becomes an ONNX folder (model.onnx + config.json + tokenizer files +
/// export_report.json). The graph is checked against TorchSharp before the folder is swapped into place, so an
/// export folder always holds a checked model; a failed check writes nothing and throws (exit code CheckFailed).
/// </summary>
public static class OnnxExport
{
    public const string OnnxFile = "model.onnx", ReportFile = "export_report.json";
    /// <summary>config.json and every tokenizer file a folder of any family may hold (what <see cref="TokenizerFolder.Load"/> reads).</summary>
    public static readonly string[] CopiedFiles = [ModelFolder.ConfigFile, TokenizerFolder.TokenizerJsonFile, TokenizerFolder.VocabTxtFile, TokenizerFolder.VocabJsonFile,
        TokenizerFolder.MergesFile, TokenizerFolder.XlmrSpmFile, TokenizerFolder.DebertaSpmFile, TokenizerFolder.ConfigFile, "special_tokens_map.json", "added_tokens.json"];

    public static ExportReport Export(string modelDir, string outDir, ExportOptions o, Action<string>? log = null)
    {
        var clock = Stopwatch.StartNew();
        if (Path.GetFullPath(modelDir).TrimEnd('/') == Path.GetFullPath(outDir).TrimEnd('/'))
            throw DistilException.Usage($"--out {outDir} is the model folder itself; choose another folder (e.g. {outDir.TrimEnd('/')}-onnx)");
        using var loaded = Load(modelDir, o, log);
        var (model, proto, vocabSize, typeVocab) = (loaded.Model, loaded.Proto, loaded.VocabSize, loaded.TypeVocab);
        string source = AtomicFolder.ResolveForReading(modelDir);
        var tokenizer = TokenizerFolder.Load(source);
        int maxLen = Math.Min(o.MaxSeqLen, loaded.MaxPositions);
        long parameters = loaded.Parameters;

        var sets = new List<(string Name, List<(long[] Ids, long[] Types)> Rows, int BatchSize)>
        {
            // Two batch sizes over rows of mixed lengths: every batch has its own (batch, sequence) shape.
            ("random", ExportCheck.RandomRows(o.RandomRows, vocabSize, Math.Min(maxLen, 48), typeVocab, o.Seed), 8),
            ("random-b3", ExportCheck.RandomRows(o.RandomRows / 4, vocabSize, Math.Min(maxLen, 48), typeVocab, o.Seed + 1), 3),
        };
        if (o.DataPath != null)
            sets.Add((Path.GetFileName(o.DataPath), DataRows(o, loaded, tokenizer, maxLen, log), 32));

        ExportReport? report = null;
        AtomicFolder.Replace(outDir, tmp =>
        {
            string onnx = Path.Combine(tmp, OnnxFile);
            AtomicFile.Write(onnx, s => proto.WriteTo(s));
            foreach (var f in CopiedFiles.Where(f => File.Exists(Path.Combine(source, f))))
                File.Copy(Path.Combine(source, f), Path.Combine(tmp, f));
            var checks = new List<ParityResult>();
            // TorchSharp may share the process: ORT's idle workers sleep instead of spinning against its OpenMP pool.
            using (var ort = new OrtClassifier(onnx, o.Threads, allowSpinning: false))
                foreach (var (name, rows, batchSize) in sets)
                {
                    var r = ExportCheck.Compare(model, loaded.Logits, ort, name, rows, batchSize, tokenizer.Pad, loaded.TokenLabels);
                    log?.Invoke($"check {name}: {r.Examples} examples in {r.Batches} batches, max |logit diff| {r.MaxAbsDiff:E2}, argmax agreement {100 * r.ArgmaxAgreement:F1}%");
                    checks.Add(r);
                }
            report = new ExportReport(Path.GetFullPath(outDir), Path.Combine(Path.GetFullPath(outDir), OnnxFile), new FileInfo(onnx).Length,
                parameters, OnnxGraphBuilder.Opset, o.Atol, checks, clock.Elapsed.TotalSeconds);
            var failed = checks.FirstOrDefault(c => !c.Passes(o.Atol));
            if (failed != null)
                throw new DistilException(ExitCodes.CheckFailed,
                    $"{modelDir}: the ONNX graph does not reproduce the model on '{failed.Set}': max |logit diff| {failed.MaxAbsDiff:E2} (allowed {o.Atol:E0}), " +
                    $"argmax agreement {100 * failed.ArgmaxAgreement:F2}% (required 100%); nothing was written to {outDir}. This is a bug in the exporter: please report it");
            File.WriteAllText(Path.Combine(tmp, ReportFile), JsonSerializer.Serialize(report, ReportJson));
        });
        return report!;
    }

    /// <summary>
    /// The rows of --data as the model reads them: a sequence model's texts (and pairs) through the tokenizer; a token
    /// model's tagged sentences (CoNLL or JSONL tokens + tags; the tags are not used) aligned word by word as training
    /// and `distil predict` align them.
    /// </summary>
    static List<(long[] Ids, long[] Types)> DataRows(ExportOptions o, Loaded loaded, TextTokenizer tokenizer, int maxLen, Action<string>? log)
    {
        int take = o.MaxDataRows > 0 ? o.MaxDataRows : int.MaxValue;
        if (loaded.TokenLabels > 0)
        {
            var tagged = TaggedSentences.Read(o.DataPath!, TaggedSentences.DetectScheme(o.DataPath!), skipBadRows: o.SkipBadRows);
            if (tagged.Skipped > 0) log?.Invoke($"{o.DataPath}: skipped {tagged.Skipped} malformed sentences (first: {tagged.SkipReasons[0]})");
            var labels = LabelSet.FromNames(Enumerable.Range(0, loaded.TokenLabels).Select(i => $"LABEL_{i}"));
            return tagged.Sentences.Take(take).Select(s => TaskDataKinds.EncodeSentence(tokenizer, s.Words, null, labels, maxLen, s.Source))
                .Select(e => (e.InputIds, e.TokenTypeIds)).ToList();
        }
        var file = DatasetReader.Read(o.DataPath!, skipBadRows: o.SkipBadRows);
        if (file.SkippedRows > 0) log?.Invoke($"{o.DataPath}: skipped {file.SkippedRows} malformed rows (first: {file.SkipReasons[0]})");
        return file.Examples.Take(take).Select(e => tokenizer.Encode(e.Text, e.TextPair, maxLen)).Select(t => (t.InputIds, t.TokenTypeIds)).ToList();
    }

    /// <summary>A classifier folder's module, its graph and what the check needs, by config.json's model_type.</summary>
    /// <param name="TokenLabels">A token model's labels per position (its logits are (B, T, C)); 0 for a sequence model.</param>
    sealed record Loaded(TorchSharp.torch.nn.Module Model, Func<BertInputs, TorchSharp.torch.Tensor> Logits, ModelProto Proto, int VocabSize, int TypeVocab,
        int MaxPositions, long Parameters, int TokenLabels = 0) : IDisposable
    {
        public void Dispose() => Model.Dispose();
    }

    static Loaded Load(string modelDir, ExportOptions o, Action<string>? log)
    {
        if (ClassifierFolder.ModelType(modelDir) == AdaBertCnnConfig.Type)
        {
            if (o.OrtFused) throw DistilException.Usage($"{modelDir} is an AdaBERT CNN student: --ort-fused applies to BERT models only");
            var cnn = AdaBertCnnFolder.Load(modelDir);
            try
            {
                var c = cnn.Config;
                log?.Invoke($"building the ONNX graph (AdaBERT CNN, {c.Genotype}, hidden {c.HiddenSize})");
                // token types 0/1 (a pair's second sentence): the CNN clamps larger ones to 1.
                return new Loaded(cnn, cnn.forward, AdaBertCnnOnnxExporter.Build(cnn), c.VocabSize, 2, c.MaxPositionEmbeddings, cnn.parameters().Sum(p => p.numel()));
            }
            catch { cnn.Dispose(); throw; }
        }
        // A token classifier (HF's ...ForTokenClassification) by its architectures; a sequence head of any family otherwise
        // (its problem_type rides along).
        (EncoderClassifier model, LoadReport load) = TaskModels.KindOf(modelDir) == TaskKind.Token ? TaskModels.Load(modelDir) : EncoderFamilies.LoadForClassification(modelDir);
        try
        {
            if (load.NewlyInitialised.Any(k => k.StartsWith("classifier.", StringComparison.Ordinal)))
                throw DistilException.BadInput($"{modelDir}: the folder has no classifier head (classifier.weight); export a fine-tuned model such as runs/ft/best");
            var c = model.Shape;
            string pooling = model switch
            {
                BertForSequenceClassification b => b.Config.ClassifierPooling ?? "pooler",
                AlbertForSequenceClassification a => a.Config.ClassifierPooling ?? "pooler",
                DebertaV2ForSequenceClassification => "context pooler",
                EncoderTokenClassifier => "per-token",
                _ => "first-token head",
            };
            log?.Invoke($"building the ONNX graph ({ClassifierFolder.ModelType(modelDir)}, {c.NumHiddenLayers} layers, hidden {c.HiddenSize}, {pooling} pooling{(o.OrtFused ? ", ORT fused kernels" : "")})");
            return new Loaded(model, i => model.forward(i).Logits, FamilyOnnxExporter.Build(model, o.OrtFused), c.VocabSize, c.TypeVocabSize,
                FamilyOnnxExporter.MaxSequence(model), model.parameters().Sum(p => p.numel()), model is EncoderTokenClassifier ? c.NumLabels : 0);
        }
        catch { model.Dispose(); throw; }
    }

    public static readonly JsonSerializerOptions ReportJson = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
}
