using System.Diagnostics;
using Distil.Checkpoints;
using Distil.Data;
using Distil.Models;
using Distil.Onnx;
using Distil.Text;
using Distil.Training;
using Onnx;
using static TorchSharp.torch;

namespace Distil.Deploy;

public sealed record BenchOptions
{
    public string? DataPath { get; init; }
    /// <summary>Tokens per example for the accuracy pass.</summary>
    public int MaxSeqLen { get; init; } = 128;
    public int Threads { get; init; } = 1;
    public int Warmup { get; init; } = 5;
    /// <summary>Timed batch-1 runs per sequence length.</summary>
    public int LatencyRuns { get; init; } = 50;
    /// <summary>Timed batch-32 runs.</summary>
    public int ThroughputRuns { get; init; } = 10;
    public int[] LatencySeqLens { get; init; } = [64, 128];
    public int ThroughputBatch { get; init; } = 32;
    public int ThroughputSeqLen { get; init; } = 128;
    /// <summary>Int8 variants to make of every TorchSharp model folder (none: fp32 only).</summary>
    public IReadOnlyList<Int8Format> Int8Formats { get; init; } = [];
    public bool TorchSharp { get; init; } = true;
    /// <summary>Also export model folders with ORT's fused kernels (<see cref="ExportOptions.OrtFused"/>): extra rows.</summary>
    public bool OrtFused { get; init; }
}

public sealed record LatencyStats(int SeqLen, int Batch, double P50Ms, double P95Ms, int Runs);

/// <summary>One model on one engine: size, speed and accuracy, measured the same way for every row.</summary>
public sealed record BenchRow(string Model, string Engine, string Precision, long Parameters, long FileBytes,
    IReadOnlyList<LatencyStats> Latency, LatencyStats Throughput, double? Accuracy, int AccuracyExamples, string Source)
{
    public double SequencesPerSecond => Throughput.Batch / (Throughput.P50Ms / 1000);
    public LatencyStats? LatencyAt(int seqLen) => Latency.FirstOrDefault(l => l.SeqLen == seqLen);
    public string Label => $"{Model} {(Engine == InferenceBench.OnnxRuntime ? "onnx" : "torch")} {Precision}";
}

/// <summary>
/// `distil bench`: every model the same way. TorchSharp folders are measured in TorchSharp and, exported (checked)
/// on the fly, in ONNX Runtime (plus int8 variants if asked); export folders in ONNX Runtime. The two engines' thread
/// pools never run at the same time (docs/stack-notes.md §Threads: concurrent pools collapse on shared cores): at 1 thread there are no
/// pools and all rows are timed interleaved; at more threads one model at a time, ONNX Runtime rows first.
/// </summary>
public static class InferenceBench
{
    public const string OnnxRuntime = "onnxruntime", TorchSharpEngine = "torchsharp";

    sealed record Target(string Model, string Folder, bool IsOnnx, string Precision, string Source);

    public static IReadOnlyList<BenchRow> Run(IReadOnlyList<string> paths, BenchOptions o, string scratch, Action<string>? log = null)
    {
        if (paths.Count == 0) throw DistilException.Usage("nothing to bench: pass model folders, export folders or run folders");
        var targets = new List<Target>();
        foreach (var p in paths) targets.AddRange(Resolve(p, o, scratch, log));
        int longest = o.LatencySeqLens.Append(o.ThroughputSeqLen).Max();
        foreach (var t in targets)
            if (SizesOf(t.Folder).MaxPositions is var maxPositions && maxPositions < longest)
                throw DistilException.Usage($"{t.Source}: the model takes at most {maxPositions} tokens (max_position_embeddings) but the bench times {longest}");
        var examples = o.DataPath != null ? DatasetReader.Read(o.DataPath).Examples : null;
        if (examples != null && examples.Any(e => e.Label == null))
            throw DistilException.BadInput($"{o.DataPath}: rows without a label; the bench's accuracy needs labelled data");

        if (!o.TorchSharp) targets.RemoveAll(t => !t.IsOnnx);
        // At 1 thread neither engine has a thread pool, so all models are timed interleaved (one call of each in turn):
        // every row sees the same load from other work on the machine and the ratios are paired. At more threads, one
        // model at a time, all ONNX Runtime rows before TorchSharp's, each disposed (its pool gone) before the next.
        var groups = o.Threads == 1 ? [targets] : targets.OrderBy(t => t.IsOnnx ? 0 : 1).Select(t => new List<Target> { t }).ToList();
        var timings = new Dictionary<Target, List<LatencyStats>>(ReferenceEqualityComparer.Instance); // a folder given twice is two rows
        foreach (var group in groups)
        {
            log?.Invoke($"timing {string.Join(", ", group.Select(t => $"{t.Model} {(t.IsOnnx ? "onnx" : "torch")} {t.Precision}"))}");
            var engines = new List<IEngine>();
            try
            {
                foreach (var t in group) engines.Add(t.IsOnnx ? new OrtEngine(t, o.Threads) : new TorchEngine(t));
                var plan = o.LatencySeqLens.Select(l => (Batch: 1, Seq: l, Runs: o.LatencyRuns)).Append((o.ThroughputBatch, o.ThroughputSeqLen, o.ThroughputRuns));
                foreach (var (batch, seq, runs) in plan)
                {
                    var stats = TimedInterleaved(engines, batch, seq, o.Warmup, runs);
                    for (int i = 0; i < group.Count; i++)
                        (timings.TryGetValue(group[i], out var list) ? list : timings[group[i]] = new List<LatencyStats>()).Add(stats[i]);
                }
            }
            finally { foreach (var e in engines) e.Dispose(); }
        }

        var rows = new List<BenchRow>();
        foreach (var t in targets.OrderBy(t => t.IsOnnx ? 0 : 1))
        {
            if (examples != null) log?.Invoke($"accuracy: {t.Model} {(t.IsOnnx ? "onnx" : "torch")} {t.Precision}");
            var stats = timings[t];
            var latency = stats.Take(o.LatencySeqLens.Length).ToList();
            rows.Add(t.IsOnnx ? OnnxRow(t, o, examples, latency, stats[^1]) : TorchRow(t, o, examples, latency, stats[^1]));
        }
        // Table order: by model as given, then TorchSharp, ONNX fp32, ONNX int8.
        var order = targets.Select(t => t.Model.Replace(" (fused)", "")).Distinct().ToList();
        return rows.OrderBy(r => order.IndexOf(r.Model.Replace(" (fused)", ""))).ThenBy(r => r.Engine == TorchSharpEngine ? 0 : r.Precision == "fp32" ? 1 : 2).ThenBy(r => r.Precision).ToList();
    }

    /// <summary>A run folder (its best/), a TorchSharp model folder (torch + exported fp32 + int8 variants) or an export folder.</summary>
    static IEnumerable<Target> Resolve(string path, BenchOptions o, string scratch, Action<string>? log)
    {
        string folder = AtomicFolder.ResolveForReading(path);
        if (!Directory.Exists(folder)) throw DistilException.NotFound($"{path}: folder not found; pass a model folder, an export folder or a run folder");
        string name = Path.GetFileName(Path.GetFullPath(folder).TrimEnd('/'));
        if (File.Exists(Path.Combine(folder, "config.resolved.json")) && Directory.Exists(Path.Combine(folder, "best")))
            folder = Path.Combine(folder, "best");
        else if (name == "best") name = Path.GetFileName(Path.GetDirectoryName(Path.GetFullPath(folder).TrimEnd('/')))!;

        if (File.Exists(Path.Combine(folder, OnnxExport.OnnxFile)))
        {
            var meta = ModelProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(folder, OnnxExport.OnnxFile))).MetadataProps.ToDictionary(p => p.Key, p => p.Value);
            string precision = meta.GetValueOrDefault("distil.precision", "fp32");
            if (meta.ContainsKey("distil.ort_fused")) name += " (fused)";
            if (meta.TryGetValue("distil.int8_format", out var f)) precision += "-" + f;
            yield return new Target(name, folder, true, precision, Path.GetFullPath(folder));
            yield break;
        }
        if (!WeightFiles.Exists(folder))
            throw DistilException.NotFound($"{path}: no {OnnxExport.OnnxFile} or model weights ({ModelFolder.WeightsFile}, {WeightFiles.PytorchFile} or a shard index); pass a model folder, an export folder or a run folder");
        yield return new Target(name, folder, false, "fp32", Path.GetFullPath(folder));

        // Standard ONNX operators always; with OrtFused also the graph with ORT's fused kernels, each with its int8 variants.
        // ORT's fused kernels exist for BERT's layer only (BERT, RoBERTa, XLM-R, CamemBERT, ELECTRA).
        bool bertLayers = ClassifierFolder.ModelType(folder) is "bert" or "roberta" or "xlm-roberta" or "camembert" or "electra";
        if (o.OrtFused && !bertLayers) log?.Invoke($"{name}: {ClassifierFolder.ModelType(folder)} has no ORT fused-kernel graph; benchmarking the standard-operator export only");
        foreach (bool fused in o.OrtFused && bertLayers ? new[] { false, true } : [false])
        {
            string onnxName = fused ? name + " (fused)" : name;
            string onnxDir = Path.Combine(scratch, $"{name}-{Guid.NewGuid().ToString("N")[..6]}-fp32");
            log?.Invoke($"exporting {onnxName} to ONNX (checked against TorchSharp)");
            OnnxExport.Export(folder, onnxDir, new ExportOptions { Threads = o.Threads, MaxSeqLen = o.MaxSeqLen, OrtFused = fused }, log);
            yield return new Target(onnxName, onnxDir, true, "fp32", Path.GetFullPath(folder) + " (exported)");
            foreach (var format in o.Int8Formats)
            {
                string int8Dir = Path.Combine(scratch, $"{name}-{Guid.NewGuid().ToString("N")[..6]}-int8-{format}");
                log?.Invoke($"quantizing {onnxName} to int8 ({format.ToString().ToLowerInvariant()})");
                Int8Export.QuantizeFolder(onnxDir, int8Dir, new QuantizeOptions { Format = format }, threads: o.Threads, maxSeqLen: o.MaxSeqLen);
                yield return new Target(onnxName, int8Dir, true, "int8-" + format.ToString().ToLowerInvariant(), Path.GetFullPath(folder) + " (exported, quantized)");
            }
        }
    }

    /// <summary>A model ready to be timed: <see cref="Prepare"/> makes the inputs of one shape and returns the call to time.</summary>
    interface IEngine : IDisposable
    {
        Func<object> Prepare(int batch, int seqLen);
    }

    sealed class OrtEngine(Target t, int threads) : IEngine
    {
        readonly OrtClassifier ort = new(Path.Combine(t.Folder, OnnxExport.OnnxFile), threads);
        readonly int vocab = VocabSize(t.Folder);

        public Func<object> Prepare(int batch, int seqLen)
        {
            var (ids, mask, types) = RandomBatch(batch, seqLen, vocab);
            return () => ort.Run(ids, mask, types, batch, seqLen);
        }

        public void Dispose() => ort.Dispose();
    }

    sealed class TorchEngine : IEngine
    {
        readonly LoadedClassifier model; // a BERT or an AdaBERT CNN student
        readonly List<Tensor> inputs = new();

        public TorchEngine(Target t)
        {
            model = ClassifierFolder.Load(t.Folder);
            model.Module.eval();
        }

        public Func<object> Prepare(int batch, int seqLen)
        {
            var (ids, mask, types) = RandomBatch(batch, seqLen, model.VocabSize);
            Tensor idT = tensor(ids).view(batch, seqLen), maskT = tensor(mask).view(batch, seqLen), typeT = tensor(types).view(batch, seqLen);
            inputs.AddRange([idT, maskT, typeT]);
            return () =>
            {
                using var scope = NewDisposeScope();
                using var _ = no_grad();
                return model.Logits(new BertInputs(idT, maskT, typeT)).data<float>().ToArray();
            };
        }

        public void Dispose()
        {
            foreach (var t in inputs) t.Dispose();
            model.Dispose();
        }
    }

    static int VocabSize(string folder) => SizesOf(folder).Vocab;

    /// <summary>vocab_size and the longest sequence (max_position_embeddings, less RoBERTa's offset) of any model folder's config.json.</summary>
    static (int Vocab, int MaxPositions) SizesOf(string folder)
    {
        string path = Path.Combine(folder, ModelFolder.ConfigFile);
        if (!File.Exists(path)) throw DistilException.NotFound($"{path}: not found; a model or export folder has config.json");
        try
        {
            using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(path));
            var root = doc.RootElement;
            int Get(string key, int fallback) => root.TryGetProperty(key, out var v) && v.TryGetInt32(out int i) ? i : fallback;
            int vocab = Get("vocab_size", 0);
            if (vocab < 1) throw DistilException.BadInput($"{path}: no positive vocab_size");
            int positions = Get("max_position_embeddings", 512);
            // RoBERTa-family positions start after padding_idx: the table holds padding_idx + 1 rows more than tokens.
            bool roberta = root.TryGetProperty("model_type", out var type) && type.ValueKind == System.Text.Json.JsonValueKind.String
                && RobertaFamily.Architectures.ContainsKey(type.GetString()!);
            return (vocab, roberta ? positions - Get("pad_token_id", 1) - 1 : positions);
        }
        catch (System.Text.Json.JsonException e) { throw DistilException.BadInput($"{path}: not valid JSON ({e.Message})"); }
    }

    static BenchRow OnnxRow(Target t, BenchOptions o, IReadOnlyList<Example>? examples, List<LatencyStats> latency, LatencyStats throughput)
    {
        string onnx = Path.Combine(t.Folder, OnnxExport.OnnxFile);
        var proto = ModelProto.Parser.ParseFrom(File.ReadAllBytes(onnx));
        double? accuracy = null;
        if (examples != null)
        {
            using var predictor = DistilPredictor.Load(t.Folder, new PredictorOptions { MaxSeqLen = o.MaxSeqLen, Threads = o.Threads, BatchSize = 32 });
            accuracy = predictor.Accuracy(examples).Accuracy;
        }
        return new BenchRow(t.Model, OnnxRuntime, t.Precision, OnnxParameters(proto), new FileInfo(onnx).Length, latency, throughput, accuracy, examples?.Count ?? 0, t.Source);
    }

    static BenchRow TorchRow(Target t, BenchOptions o, IReadOnlyList<Example>? examples, List<LatencyStats> latency, LatencyStats throughput)
    {
        using var model = ClassifierFolder.Load(t.Folder);
        double? accuracy = null;
        if (examples != null)
        {
            var tokenizer = TokenizerFolder.Load(t.Folder);
            var encoded = ExampleEncoder.Encode(examples, tokenizer, LabelSet.FromNames(model.Labels), null, o.MaxSeqLen);
            var probs = Classifier.Predict(model.Module, model.Logits, encoded, 32, tokenizer.Pad, CPU);
            accuracy = encoded.Select((e, i) => OrtClassifier.ArgMax(probs[i]) == e.Label ? 1.0 : 0.0).Average();
        }
        // What a deployment holds: the pooler is unused (so not exported) under mean pooling.
        bool meanPooled = model.Module is BertForSequenceClassification bert && bert.Config.ClassifierPooling == "mean";
        long parameters = model.Module.named_parameters().Where(p => !meanPooled || !p.name.StartsWith("bert.pooler.", StringComparison.Ordinal)).Sum(p => p.parameter.numel());
        long bytes = WeightFiles.TotalBytes(t.Folder);
        return new BenchRow(t.Model, TorchSharpEngine, t.Precision, parameters, bytes, latency, throughput, accuracy, examples?.Count ?? 0, t.Source);
    }

    /// <summary>Weights in the graph: initializers except quantization scales / zero points, shape constants and scalars.</summary>
    static long OnnxParameters(ModelProto proto) => proto.Graph.Initializer
        .Where(i => i.DataType is (int)TensorProto.Types.DataType.Float or (int)TensorProto.Types.DataType.Int8)
        .Where(i => !i.Name.EndsWith("_scale", StringComparison.Ordinal) && !i.Name.EndsWith("_zero_point", StringComparison.Ordinal))
        .Select(i => i.Dims.Aggregate(1L, (a, d) => a * d)).Where(n => n > 1).Sum();

    static (long[] Ids, long[] Mask, long[] Types) RandomBatch(int batch, int seqLen, int vocab)
    {
        var rng = new Random(seqLen * 1000 + batch);
        var ids = Enumerable.Range(0, batch * seqLen).Select(_ => (long)rng.Next(1, vocab)).ToArray();
        return (ids, Enumerable.Repeat(1L, ids.Length).ToArray(), new long[ids.Length]);
    }

    /// <summary>Warm-up, then <paramref name="runs"/> rounds of one timed call per engine (the order rotates each round).</summary>
    static LatencyStats[] TimedInterleaved(IReadOnlyList<IEngine> engines, int batch, int seqLen, int warmup, int runs)
    {
        var calls = engines.Select(e => e.Prepare(batch, seqLen)).ToArray();
        foreach (var call in calls) for (int i = 0; i < warmup; i++) call();
        var ms = calls.Select(_ => new double[runs]).ToArray();
        for (int r = 0; r < runs; r++)
            for (int k = 0; k < calls.Length; k++)
            {
                int i = (r + k) % calls.Length;
                long start = Stopwatch.GetTimestamp();
                calls[i]();
                ms[i][r] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            }
        return ms.Select(m =>
        {
            Array.Sort(m);
            return new LatencyStats(seqLen, batch, Percentile(m, 0.50), Percentile(m, 0.95), runs);
        }).ToArray();
    }

    /// <summary>Nearest-rank percentile of sorted values.</summary>
    public static double Percentile(double[] sorted, double q) => sorted[Math.Clamp((int)Math.Ceiling(q * sorted.Length) - 1, 0, sorted.Length - 1)];
}
