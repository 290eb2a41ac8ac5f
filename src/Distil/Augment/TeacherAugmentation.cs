using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Distil.Checkpoints;
using Distil.Data;
using Distil.Models;
using Distil.Text;
using Distil.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Distil.Augment;

/// <summary>
/// Augments a data set with a teacher and labels every copy with it: the teacher's masked-LM head when its checkpoint
/// has one (single-piece words), its input word embeddings otherwise (<see cref="WordReplacementAugmenter"/>), then
/// the teacher's class probabilities for each augmented text. <see cref="GetOrCreate"/> caches the file next to the data.
/// </summary>
public static class TeacherAugmentation
{
    /// <summary>The augmenter for a teacher folder: its vocabulary, its word embeddings, its MLM head if any.</summary>
    public static WordReplacementAugmenter Augmenter(string teacherDir, Tensor wordEmbeddings, TextTokenizer tokenizer,
        AugmentOptions options, int maxSeqLen, Device device, Action<string>? log = null)
    {
        // Word replacement reasons in WordPiece terms ("##" continuations, whole-word entries).
        var wordPiece = tokenizer as BertTextTokenizer ?? throw DistilException.BadInput(
            $"{tokenizer.Source}: word-replacement augmentation needs a WordPiece (BERT vocab.txt) teacher, this one is {tokenizer.ModelType}; run without augmentation");
        var vocab = VocabularyInfo.From(wordPiece);
        var neighbours = new EmbeddingNeighbours(wordEmbeddings, vocab);
        MaskedLmRefill? mlm = null;
        // Only a BERT checkpoint has the cls.predictions head MaskedLmRefill runs; other families refill from embeddings.
        if (options.UseMlm && ClassifierFolder.ModelType(teacherDir) == "bert" && ModelFolder.TryLoadMaskedLm(teacherDir) is { } lm)
        {
            lm.to(device);
            mlm = new MaskedLmRefill(lm, wordPiece, vocab, maxSeqLen, device);
        }
        log?.Invoke(mlm != null
            ? "augment: single-piece words from the teacher's masked-LM head, longer words from its word-embedding neighbours"
            : "augment: the teacher has no masked-LM head (cls.predictions.*): every word from its word-embedding neighbours (cosine)");
        return new WordReplacementAugmenter(wordPiece, neighbours, mlm, options);
    }

    /// <summary>Augmented copies of every example, labelled by <paramref name="teacher"/>, in example order.</summary>
    public static List<AugmentedRow> Create(WordReplacementAugmenter augmenter, BertForSequenceClassification teacher, TextTokenizer tokenizer,
        IReadOnlyList<Example> examples, int maxSeqLen, int batchSize, Device device, Action<string>? log = null)
    {
        var clock = Stopwatch.StartNew();
        var drafts = new List<(int Row, Example Source, string Text)>();
        for (int i = 0; i < examples.Count; i++)
        {
            foreach (var copy in augmenter.Augment(examples[i].Text, i)) drafts.Add((i, examples[i], copy));
            if ((i + 1) % 500 == 0) log?.Invoke($"augment: {i + 1}/{examples.Count} examples, {drafts.Count} copies ({clock.Elapsed.TotalSeconds:F0} s)");
        }
        var encoded = drafts.Select(d =>
        {
            var t = tokenizer.Encode(d.Text, d.Source.TextPair, maxSeqLen);
            return new EncodedExample(t.InputIds, t.TokenTypeIds, -1, DomainSet.None);
        }).ToArray();
        var probs = Classifier.PredictProbabilities(teacher, encoded, batchSize, tokenizer.Pad, device);
        var labels = teacher.Config.Labels;
        log?.Invoke($"augment: {drafts.Count} copies of {examples.Count} examples labelled by the teacher in {clock.Elapsed.TotalSeconds:F0} s");
        return drafts.Select((d, k) => new AugmentedRow(d.Row, d.Source.Text, d.Text, d.Source.TextPair,
            labels[Array.IndexOf(probs[k], probs[k].Max())], probs[k].Select(p => Math.Round((double)p, 6)).ToArray(), d.Source.Domain)).ToList();
    }

    /// <summary>
    /// The augmented set of <paramref name="data"/> for this teacher and these options, from the cache next to the data
    /// (.distil-cache/augmented-KEY.tsv) or made and written there. KEY hashes the teacher's files, every row's texts
    /// and domain, the options and max_seq_len, so a change to any of them makes a new file.
    /// </summary>
    public static string GetOrCreate(string teacherDir, BertForSequenceClassification teacher, TextTokenizer tokenizer, DatasetFile data,
        AugmentOptions options, int maxSeqLen, int batchSize, Device device, Action<string>? log = null)
    {
        options.Validate();
        string path = Path.Combine(TeacherLogitsCache.CacheDir(data.Path), $"augmented-{Key(teacherDir, data.Examples, options, maxSeqLen)}.tsv");
        if (File.Exists(path))
        {
            log?.Invoke($"augmented set from cache {path}");
            return path;
        }
        var augmenter = Augmenter(teacherDir, teacher.bert.embeddings.word_embeddings.weight!, tokenizer, options, maxSeqLen, device, log);
        var rows = Create(augmenter, teacher, tokenizer, data.Examples, maxSeqLen, batchSize, device, log);
        // The training run reads the set from this file, so it must be written; the error says where it is kept.
        try { AugmentedSet.Write(path, teacher.Config.Labels, rows); }
        catch (DistilException e) when (WriteFault.Translate(e, path, remedy: "(augmented sets are cached in .distil-cache next to the training data)") is DistilException d) { throw d; }
        log?.Invoke($"augmented set ({rows.Count} rows) written to {path}");
        return path;
    }

    /// <summary>
    /// <paramref name="data"/> with the augmented copies of its training rows appended to the training set (from the
    /// cache or made now); returns how many were added. Dev and test are never augmented.
    /// </summary>
    public static (TaskData Data, int Added) Extend(string teacherDir, BertForSequenceClassification teacher, TextTokenizer tokenizer, TaskData data,
        AugmentOptions options, int maxSeqLen, int batchSize, Device device, Action<string>? log = null)
    {
        string path = GetOrCreate(teacherDir, teacher, tokenizer, data.Train, options, maxSeqLen, batchSize, device, log);
        var (_, rows) = AugmentedSet.Read(path);
        var extra = ExampleEncoder.Encode(AsExamples(path, rows), tokenizer, data.Labels, data.Domains, maxSeqLen);
        log?.Invoke($"training on {data.TrainSet.Length} examples + {extra.Length} augmented");
        return (data with { TrainSet = data.TrainSet.Concat(extra).ToArray() }, extra.Length);
    }

    /// <summary>The augmented rows as training examples: augmented text, teacher label, original domain.</summary>
    public static IReadOnlyList<Example> AsExamples(string path, IReadOnlyList<AugmentedRow> rows) =>
        rows.Select((r, i) => new Example(r.Augmented, r.TextPair, r.TeacherLabel, r.Domain, $"{path}:{i + 3}")).ToArray();

    public static string Key(string teacherDir, IReadOnlyList<Example> examples, AugmentOptions o, int maxSeqLen)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        void Text(string? s) { sha.AppendData(Encoding.UTF8.GetBytes(s ?? "\u0000null")); sha.AppendData(new byte[] { 0xFF }); }
        Text("augment-v1");
        foreach (string f in new[] { "config.json", "model.safetensors", "vocab.txt" })
        {
            string file = Path.Combine(teacherDir, f);
            if (!File.Exists(file)) { Text("missing " + f); continue; }
            using var s = File.OpenRead(file);
            sha.AppendData(SHA256.HashData(s));
        }
        Text(string.Create(CultureInfo.InvariantCulture, $"{o.Copies}|{o.P:R}|{o.Candidates}|{o.Seed}|{o.Distinct}|{o.UseMlm}|{maxSeqLen}"));
        foreach (var e in examples) { Text(e.Text); Text(e.TextPair); Text(e.Domain); }
        return Convert.ToHexString(sha.GetHashAndReset())[..16].ToLowerInvariant();
    }
}
