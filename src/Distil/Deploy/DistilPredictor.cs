using System.Text.Json;
using Distil.Checkpoints;
using Distil.Data;
using Distil.Models;
using Distil.Onnx;
using Distil.Text;
using Distil.Training;

namespace Distil.Deploy;

public sealed record PredictorOptions
{
    /// <summary>Tokens per example incl. [CLS]/[SEP]; longer texts are truncated (HF longest_first).</summary>
    public int MaxSeqLen { get; init; } = 128;
    public int BatchSize { get; init; } = 32;
    /// <summary>ONNX Runtime intra-op threads (default 1: the best throughput per core for small models).</summary>
    public int Threads { get; init; } = 1;
    /// <summary>The ONNX file inside the folder (default model.onnx).</summary>
    public string OnnxFile { get; init; } = "model.onnx";
}

/// <summary>A text's label, the label's index and the probability of every label (in the model's label order).</summary>
public sealed record Prediction(string Label, int LabelIndex, IReadOnlyDictionary<string, float> Probabilities)
{
    public float Confidence => Probabilities[Label];
}

/// <summary>
/// Classifies texts and text pairs with a folder made by `distil export` or `distil quantize` (model.onnx + vocab.txt
/// + tokenizer_config.json). ONNX Runtime only: no TorchSharp type is touched, so libtorch is never loaded.
/// <code>
/// using var predictor = DistilPredictor.Load("runs/kd/onnx-int8");
/// foreach (var p in predictor.Predict(["Great phone, works perfectly.", "Waste of money."]))
///     Console.WriteLine($"{p.Label} {p.Confidence:P1}");
/// </code>
/// Thread safety: one predictor may be used from several threads (ONNX Runtime sessions are thread-safe).
/// </summary>
public sealed class DistilPredictor : IDisposable
{
    readonly OrtClassifier model;
    readonly TextTokenizer tokenizer;
    readonly PredictorOptions options;
    public IReadOnlyList<string> Labels { get; }
    /// <summary>What the exported head predicts (the graph's distil.task metadata; sequence for exports made before it existed).</summary>
    public TaskKind Task { get; }

    DistilPredictor(OrtClassifier model, TextTokenizer tokenizer, IReadOnlyList<string> labels, PredictorOptions options)
    {
        this.model = model;
        this.tokenizer = tokenizer;
        this.options = options;
        Labels = labels;
        Task = model.Metadata.TryGetValue("distil.task", out var task) ? TaskKinds.Parse(task) ?? TaskKind.Sequence : TaskKind.Sequence;
    }

    /// <summary>
    /// The entities of each text, by a token classifier's export: words (runs of word characters, and each other
    /// non-space character), the tag at each word's first sub-token, chunks as seqeval reads them; each entity with
    /// its type, text, character span [Start, End) and score (docs/tasks.md §Tokens).
    /// </summary>
    public IReadOnlyList<IReadOnlyList<Entity>> Entities(IEnumerable<string> texts)
    {
        if (Task != TaskKind.Token) throw DistilException.Usage($"{model.Path} is a {Task.Name()} model; entities come from a token classifier (Predict gives labels)");
        var list = texts.ToList();
        var labels = LabelSet.FromNames(Labels);
        var words = list.Select(t => TokenEntities.Words(t ?? throw DistilException.Usage("a text to tag is null"))).ToArray();
        var rows = words.Select(w => TaskDataKinds.EncodeSentence(tokenizer, w.Select(x => x.Word).ToArray(), null, labels, options.MaxSeqLen, "input")).ToArray();
        var logits = model.RunRows(rows.Select(r => (r.InputIds, r.TokenTypeIds)).ToList(), options.BatchSize, tokenizer.Pad);
        int c = Labels.Count;
        return list.Select((text, i) =>
        {
            // The padded batch's (T, C) row-major values: the row's own positions come first.
            var probs = new float[rows[i].InputIds.Length * c];
            for (int p = 0; p < rows[i].InputIds.Length; p++) Softmax(logits[i].AsSpan(p * c, c).ToArray()).CopyTo(probs, p * c);
            return TokenEntities.Decode(text, words[i], rows[i], probs, labels);
        }).ToList();
    }

    public static DistilPredictor Load(string folder, PredictorOptions? options = null)
    {
        options ??= new PredictorOptions();
        if (options.BatchSize < 1) throw DistilException.Usage($"batch size must be at least 1 (got {options.BatchSize})");
        if (!Directory.Exists(folder)) throw DistilException.NotFound($"{folder}: folder not found; make one with `distil export --model DIR --out {folder}`");
        string onnx = Path.Combine(folder, options.OnnxFile);
        if (!File.Exists(onnx))
            throw DistilException.NotFound(WeightFiles.Exists(folder)
                ? $"{folder} is a TorchSharp model folder, not an export; run `distil export --model {folder} --out {folder.TrimEnd('/')}-onnx` first"
                : $"{onnx}: not found; make the folder with `distil export`");
        var tokenizer = TokenizerFolder.Load(folder);
        var ort = new OrtClassifier(onnx, options.Threads);
        try
        {
            var labels = LabelsOf(ort, folder);
            if (ort.Metadata.TryGetValue("distil.max_position_embeddings", out var maxPos) && int.TryParse(maxPos, out int mp) && options.MaxSeqLen > mp)
                options = options with { MaxSeqLen = mp };
            return new DistilPredictor(ort, tokenizer, labels, options);
        }
        catch { ort.Dispose(); throw; }
    }

    static IReadOnlyList<string> LabelsOf(OrtClassifier ort, string folder)
    {
        if (ort.Metadata.TryGetValue("distil.labels", out var json))
            try { return JsonSerializer.Deserialize<string[]>(json) ?? throw new JsonException("null"); }
            catch (JsonException e) { throw DistilException.BadInput($"{ort.Path}: metadata distil.labels is not a JSON list of strings ({e.Message})"); }
        throw DistilException.BadInput($"{ort.Path}: the model has no label metadata (distil.labels); it was not made by `distil export`");
    }

    public IReadOnlyList<Prediction> Predict(IEnumerable<string> texts) => Run(texts.Select(t => (t, (string?)null)).ToList());

    public Prediction Predict(string text) => Predict([text])[0];

    public IReadOnlyList<Prediction> PredictPairs(IEnumerable<(string Text, string Pair)> pairs) => Run(pairs.Select(p => (p.Text, (string?)p.Pair)).ToList());

    /// <summary>Logits (N, labels) of texts or pairs, in their order; batches are formed by length to waste little padding.</summary>
    public float[][] Logits(IReadOnlyList<(string Text, string? Pair)> inputs)
    {
        var rows = inputs.Select(x =>
        {
            var t = tokenizer.Encode(x.Text ?? throw DistilException.Usage("a text to predict is null"), x.Pair, options.MaxSeqLen);
            return (t.InputIds, t.TokenTypeIds);
        }).ToList();
        return model.RunRows(rows, options.BatchSize, tokenizer.Pad);
    }

    IReadOnlyList<Prediction> Run(IReadOnlyList<(string Text, string? Pair)> inputs)
    {
        var logits = Logits(inputs);
        return logits.Select(l =>
        {
            if (l.Length != Labels.Count) throw DistilException.BadInput($"{model.Path}: the model gives {l.Length} logits but has {Labels.Count} labels");
            var p = Softmax(l);
            int best = OrtClassifier.ArgMax(l);
            return new Prediction(Labels[best], best, Labels.Select((name, k) => (name, k)).ToDictionary(x => x.name, x => p[x.k]));
        }).ToList();
    }

    /// <summary>Share of labelled <paramref name="examples"/> whose predicted label is the gold one, and the predicted label ids.</summary>
    public (double Accuracy, int[] Predicted) Accuracy(IReadOnlyList<Example> examples)
    {
        var labels = LabelSet.FromNames(Labels);
        var gold = examples.Select(e => labels.IdOf(e.Label, e.Source)).ToArray();
        var predicted = Logits(examples.Select(e => (e.Text, e.TextPair)).ToList()).Select(OrtClassifier.ArgMax).ToArray();
        return (gold.Length == 0 ? 0 : gold.Zip(predicted, (g, p) => g == p ? 1.0 : 0.0).Average(), predicted);
    }

    static float[] Softmax(float[] logits)
    {
        float max = logits.Max();
        var e = logits.Select(v => MathF.Exp(v - max)).ToArray();
        float sum = e.Sum();
        return e.Select(v => v / sum).ToArray();
    }

    public void Dispose() => model.Dispose();
}
