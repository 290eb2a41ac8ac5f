using System.Text.Json.Serialization;
using Distil.Data;
using Distil.Labels;
using Distil.Models;
using Distil.Text;
using Distil.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Distil.Augment;

/// <summary>
/// The "transfer" section: unlabelled text whose sentences the teacher labels, added to a student's training data
/// (the transfer set of Tang et al. 2019 / Hinton et al. 2015). The file's labels, if any, are never read.
/// </summary>
public sealed record TransferOptions
{
    /// <summary>A TSV/CSV/JSONL file (header with a text column) or plain text (.txt, a sentence per line); null = off.</summary>
    [JsonPropertyName("path")] public string? Path { get; init; }
    /// <summary>Keep at most this many distinct sentences, drawn at random (0 = all).</summary>
    [JsonPropertyName("max_rows")] public int MaxRows { get; init; }
    [JsonPropertyName("seed")] public int Seed { get; init; } = 42;

    public bool Enabled => !string.IsNullOrEmpty(Path);

    public void Validate()
    {
        if (MaxRows < 0) throw DistilException.Usage($"transfer max_rows {MaxRows} must be >= 0 (0 = all)");
        if (Enabled && !File.Exists(Path) && !LabelStore.IsStore(Path!)) throw DistilException.NotFound($"{Path}: transfer file (or label store) not found; check --transfer");
    }
}

/// <summary>
/// Reads a transfer set, drops what must not be trained on (empty lines, duplicates, any sentence of the dev or test
/// set) and labels the rest with the teacher (logits cached next to the training data, like the training rows').
/// </summary>
public static class TransferSet
{
    /// <summary>
    /// Distinct sentences of the file: every line of a .txt file; every text and text-pair value of a tabular file,
    /// each as its own single sentence. Sentences in <paramref name="exclude"/> (compared trimmed, case-insensitive)
    /// are dropped; with max_rows, a seeded random subset in file order.
    /// </summary>
    public static IReadOnlyList<string> ReadSentences(TransferOptions o, IEnumerable<string> exclude, Action<string>? log = null)
    {
        o.Validate();
        string path = o.Path ?? throw DistilException.Usage("no transfer file: pass --transfer FILE");
        // A label store (docs/labelling.md) gives its single-sentence rows; a store of pairs has none to give.
        IEnumerable<string?> raw = LabelStore.IsStore(path) ? LabelStore.Open(path).Rows().Where(r => r.Row.Pair == null).Select(r => (string?)r.Row.Text)
            : System.IO.Path.GetExtension(path).Equals(".txt", StringComparison.OrdinalIgnoreCase)
            ? File.ReadLines(path)
            : DatasetReader.Read(path).Examples.SelectMany(e => new[] { e.Text, e.TextPair });
        var held = new HashSet<string>(exclude.Select(Normalise));
        var seen = new HashSet<string>();
        int dropped = 0;
        var sentences = new List<string>();
        foreach (var s in raw)
        {
            if (string.IsNullOrWhiteSpace(s)) continue;
            string key = Normalise(s);
            if (held.Contains(key)) { dropped++; continue; }
            if (seen.Add(key)) sentences.Add(s.Trim());
        }
        if (sentences.Count == 0) throw DistilException.BadInput($"{path}: no sentences to use as a transfer set (empty, or every sentence is in dev/test)");
        if (dropped > 0) log?.Invoke($"transfer: {dropped} sentences of {path} are in the dev or test set and were dropped");
        if (o.MaxRows > 0 && sentences.Count > o.MaxRows)
        {
            var rng = new Random(o.Seed);
            var keep = Enumerable.Range(0, sentences.Count).OrderBy(_ => rng.Next()).Take(o.MaxRows).Order().ToArray();
            sentences = keep.Select(i => sentences[i]).ToList();
        }
        return sentences;
    }

    static string Normalise(string s) => s.Trim().ToLowerInvariant();

    /// <summary>
    /// The sentences encoded as single-sentence rows whose label is the teacher's argmax, and the teacher's logits
    /// for each (B, C), in sentence order. With <paramref name="store"/> (a label store made by `distil label`) the
    /// logits are the store's: a store of this teacher run by TorchSharp must have this teacher's key, or it is refused.
    /// </summary>
    public static (EncodedExample[] Rows, Tensor TeacherLogits) Label(string teacherDir, EncoderClassifier teacher, TextTokenizer tokenizer,
        IReadOnlyList<string> sentences, int maxSeqLen, string cacheBeside, int batchSize, Device device, Action<string>? log = null, string? store = null)
    {
        if (store != null && LabelStore.IsStore(store)) return FromStore(teacherDir, teacher, tokenizer, sentences, maxSeqLen, store, log);
        var unlabelled = sentences.Select(s =>
        {
            var t = tokenizer.Encode(s, null, maxSeqLen);
            return new EncodedExample(t.InputIds, t.TokenTypeIds, -1, DomainSet.None);
        }).ToArray();
        var logits = TeacherLogitsCache.GetOrCompute(teacherDir, teacher, unlabelled, cacheBeside, batchSize, tokenizer.Pad, device, log);
        var argmax = logits.argmax(1).data<long>().ToArray();
        var rows = unlabelled.Select((e, i) => e with { Label = argmax[i] }).ToArray();
        log?.Invoke($"transfer: {rows.Length} sentences labelled by the teacher ({string.Join(", ", teacher.Shape.Labels.Select((l, c) => $"{l} {argmax.Count(a => a == c)}"))})");
        return (rows, logits);
    }

    static (EncodedExample[] Rows, Tensor TeacherLogits) FromStore(string teacherDir, EncoderClassifier teacher, TextTokenizer tokenizer,
        IReadOnlyList<string> sentences, int maxSeqLen, string storeDir, Action<string>? log)
    {
        var store = LabelStore.Open(storeDir);
        var spec = store.Spec;
        string key = LabelSpec.HashFiles(teacherDir, ["config.json", "model.safetensors", "pytorch_model.bin"]);
        if (spec.Engine == "torch" && spec.TeacherKey != key)
            throw DistilException.BadInput($"{storeDir}: the label store was made by teacher {spec.TeacherPath} (key {spec.TeacherKey}), not by --teacher {teacherDir} (key {key}); label the transfer set with this teacher");
        if (!spec.Labels.SequenceEqual(teacher.Shape.Labels))
            throw DistilException.BadInput($"{storeDir}: the store's labels [{string.Join(", ", spec.Labels)}] are not the teacher's [{string.Join(", ", teacher.Shape.Labels)}]");
        if (spec.Engine != "torch") log?.Invoke($"transfer: logits of {storeDir} come from the {spec.Engine} export {spec.TeacherPath}");
        var logitsOf = new Dictionary<UInt128, float[]>();
        foreach (var (row, l) in store.Rows()) logitsOf.TryAdd(row.Key, l);
        var flat = new List<float>();
        var rows = new List<EncodedExample>();
        foreach (var s in sentences)
        {
            if (!logitsOf.TryGetValue(LabelRow.KeyOf(s, null), out var l)) throw DistilException.BadInput($"{storeDir}: holds no labels for the sentence '{s}'; the store changed while reading it");
            var t = tokenizer.Encode(s, null, maxSeqLen);
            int argmax = Array.IndexOf(l, l.Max());
            rows.Add(new EncodedExample(t.InputIds, t.TokenTypeIds, argmax, DomainSet.None));
            flat.AddRange(l);
        }
        log?.Invoke($"transfer: {rows.Count} sentences with teacher logits from the label store {storeDir}");
        return (rows.ToArray(), tensor(flat.ToArray()).view(rows.Count, -1));
    }
}
