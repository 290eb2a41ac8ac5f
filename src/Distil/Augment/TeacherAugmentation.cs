using System.Diagnostics;
using Distil.Checkpoints;
using Distil.Data;
using Distil.Labels;
using Distil.Models;
using Distil.Text;
using Distil.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Distil.Augment;

/// <summary>
/// Augments a data set with a teacher and labels every copy with it: the teacher's masked-LM head when its checkpoint
/// has one (single-piece words), its input word embeddings otherwise (<see cref="WordReplacementAugmenter"/>), then
/// the teacher's class probabilities for each augmented text, through the label store (<see cref="TeacherLabels"/>).
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

    /// <summary>Augmented copies of every example, labelled by the teacher through its label store, in example order.</summary>
    public static List<AugmentedRow> Create(WordReplacementAugmenter augmenter, TeacherLabels teacher, IReadOnlyList<string> labels,
        IReadOnlyList<Example> examples, Action<string>? log = null)
    {
        var clock = Stopwatch.StartNew();
        var drafts = new List<(int Row, Example Source, string Text)>();
        for (int i = 0; i < examples.Count; i++)
        {
            foreach (var copy in augmenter.Augment(examples[i].Text, i)) drafts.Add((i, examples[i], copy));
            if ((i + 1) % 500 == 0) log?.Invoke($"augment: {i + 1}/{examples.Count} examples, {drafts.Count} copies ({clock.Elapsed.TotalSeconds:F0} s)");
        }
        var logits = teacher.Logits(drafts.Select(d => (d.Text, d.Source.TextPair)).ToArray());
        log?.Invoke($"augment: {drafts.Count} copies of {examples.Count} examples labelled by the teacher in {clock.Elapsed.TotalSeconds:F0} s");
        return drafts.Select((d, k) => new AugmentedRow(d.Row, d.Source.Text, d.Text, d.Source.TextPair, labels[TeacherLabels.ArgMax(logits[k])],
            TeacherLabels.Softmax(logits[k]).Select(p => Math.Round((double)p, 6)).ToArray(), d.Source.Domain)).ToList();
    }

    /// <summary>
    /// <paramref name="data"/> with the augmented copies of its training rows appended to the training set, each with
    /// the teacher's argmax as its label; returns how many were added and their texts (TrainSet order). The copies are
    /// made again on every run (seeded, so the same copies); their labels come from the label store. Dev and test are
    /// never augmented.
    /// </summary>
    public static (TaskData Data, IReadOnlyList<(string Text, string? Pair)> Added) Extend(string teacherDir, BertForSequenceClassification teacher, TextTokenizer tokenizer,
        TaskData data, AugmentOptions options, int maxSeqLen, TeacherLabels labels, Device device, Action<string>? log = null)
    {
        options.Validate();
        var augmenter = Augmenter(teacherDir, teacher.bert.embeddings.word_embeddings.weight!, tokenizer, options, maxSeqLen, device, log);
        var rows = Create(augmenter, labels, teacher.Config.Labels, data.Train.Examples, log);
        var extra = ExampleEncoder.Encode(AsExamples(rows), tokenizer, data.Labels, data.Domains, maxSeqLen);
        log?.Invoke($"training on {data.TrainSet.Length} examples + {extra.Length} augmented");
        return (data with { TrainSet = data.TrainSet.Concat(extra).ToArray() }, rows.Select(r => (r.Augmented, r.TextPair)).ToArray());
    }

    /// <summary>The augmented rows as training examples: augmented text, teacher label, original domain.</summary>
    public static IReadOnlyList<Example> AsExamples(IReadOnlyList<AugmentedRow> rows) =>
        rows.Select((r, i) => new Example(r.Augmented, r.TextPair, r.TeacherLabel, r.Domain, $"augmented copy {i + 1} (of row {r.Row + 1})")).ToArray();
}
