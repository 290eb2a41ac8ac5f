using System.Globalization;
using Distil.Models;
using Distil.Text;

namespace Distil.Data;

/// <summary>
/// The splits of a token, regression or multi-label task (docs/tasks.md), as <see cref="TaskData"/> with the rows'
/// targets: per-token labels (<see cref="TokenTargets"/>), a score, or a 0/1 per label (<see cref="EncodedExample.Targets"/>).
/// </summary>
public static class TaskDataKinds
{
    /// <summary>Between the labels of one multi-label row in a TSV/CSV cell; a JSONL list is read as its items joined by it.</summary>
    public const string MultiLabelSeparator = "|";

    /// <summary>The label name of a regression head's single output.</summary>
    public const string ScoreLabel = "score";

    public static TaskData Load(DataSettings d, TextTokenizer tokenizer, LabelSet? labels)
    {
        var kind = d.Kind;
        return kind switch
        {
            TaskKind.Token => LoadTokens(d, tokenizer, labels),
            TaskKind.Regression or TaskKind.MultiLabel => LoadScores(d, kind, tokenizer, labels),
            _ => throw new ArgumentException($"not a task of its own: {kind}"),
        };
    }

    static TaskData LoadTokens(DataSettings d, TextTokenizer tokenizer, LabelSet? labels)
    {
        var scheme = TaggedSentences.DetectScheme(d.Train!);
        TaggedFile Read(string path, IReadOnlyCollection<string>? known) => TaggedSentences.Read(path, scheme, known, d.SkipBadRows);
        // With a model's labels (distillation) every split must stay within them; otherwise the labels are the tags of
        // all given splits (a rare type seen only in dev is an output class that training never sees, not an error),
        // "O" first, then in ordinal order: ids that do not depend on the order of the sentences.
        var train = Read(d.Train!, labels?.Names);
        var dev = d.Dev != null ? Read(d.Dev, labels?.Names) : null;
        var test = d.Test != null ? Read(d.Test, labels?.Names) : null;
        labels ??= TagLabels(new[] { train, dev, test }.OfType<TaggedFile>());
        EncodedExample[] Encode(TaggedFile f) => f.Sentences.Select(s => EncodeSentence(tokenizer, s.Words, s.Tags, labels, d.MaxSeqLen, s.Source)).ToArray();
        return new TaskData(AsFile(train), dev != null ? AsFile(dev) : null, test != null ? AsFile(test) : null, labels, DomainSet.Empty,
            Encode(train), dev != null ? Encode(dev) : null, test != null ? Encode(test) : null)
        { Task = TaskKind.Token, Threshold = d.Threshold };
    }

    /// <summary>The labels of a token task: the tags of all given files, "O" first, then in ordinal order.</summary>
    public static LabelSet TagLabels(IEnumerable<TaggedFile> files) =>
        LabelSet.FromNames(files.SelectMany(f => f.Sentences).SelectMany(s => s.Tags)
            .Distinct(StringComparer.Ordinal).OrderBy(t => t == "O" ? 0 : 1).ThenBy(t => t, StringComparer.Ordinal));

    /// <summary>The labels of a multi-label task: those of all given files' rows, sorted.</summary>
    public static LabelSet MultiLabels(IEnumerable<DatasetFile> files) =>
        LabelSet.FromNames(files.SelectMany(f => f.Examples).SelectMany(Split).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal));

    /// <summary>One tagged sentence as a model row; <paramref name="tags"/> null for unlabelled words.</summary>
    public static EncodedExample EncodeSentence(TextTokenizer tokenizer, IReadOnlyList<string> words, IReadOnlyList<string>? tags, LabelSet labels, int maxSeqLen, string source)
    {
        var ids = tags?.Select(t => labels.IdOf(t, source)).ToArray();
        var a = TokenLabelAlignment.Align(tokenizer, words, ids, maxSeqLen);
        return new EncodedExample(a.InputIds, new long[a.InputIds.Length], -1, DomainSet.None,
            new TokenTargets(a.Labels, a.WordStarts, ids ?? Enumerable.Repeat(-1, words.Count).ToArray()));
    }

    static DatasetFile AsFile(TaggedFile f) =>
        new(f.Path, f.Sentences.Select(s => new Example(string.Join(" ", s.Words), null, null, null, s.Source)).ToArray(), f.Skipped, f.SkipReasons);

    static TaskData LoadScores(DataSettings d, TaskKind kind, TextTokenizer tokenizer, LabelSet? labels)
    {
        var train = TaskData.Read(d, d.Train!, DataSplit.Train);
        var dev = d.Dev != null ? TaskData.Read(d, d.Dev, DataSplit.Dev) : null;
        var test = d.Test != null ? TaskData.Read(d, d.Test, DataSplit.Test) : null;
        if (kind == TaskKind.Regression) labels ??= LabelSet.FromNames([ScoreLabel]);
        else labels ??= MultiLabels(new[] { train, dev, test }.OfType<DatasetFile>()); // as for tags: the labels of all given splits
        if (kind == TaskKind.Regression && labels.Count != 1)
            throw DistilException.BadInput($"a regression model has one output; this one has {labels.Count} labels ({string.Join(", ", labels.Names.Take(5))})");
        var domains = DomainSet.FromExamples(train.Examples);
        EncodedExample[] Encode(DatasetFile f) => f.Examples.Select(e =>
        {
            float[] targets = kind == TaskKind.Regression ? [Score(e)] : MultiHot(e, labels);
            int domain = domains.IdOf(e.Domain, e.Source);
            var t = tokenizer.Encode(e.Text, e.TextPair, d.MaxSeqLen);
            return new EncodedExample(t.InputIds, t.TokenTypeIds, -1, domain, Targets: targets);
        }).ToArray();
        return new TaskData(train, dev, test, labels, domains, Encode(train), dev != null ? Encode(dev) : null, test != null ? Encode(test) : null)
        { Task = kind, Threshold = d.Threshold };
    }

    /// <summary>A regression row's score (its label as a finite number).</summary>
    public static float Score(Example e)
    {
        if (e.Label != null && double.TryParse(e.Label, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && double.IsFinite(v)) return (float)v;
        throw DistilException.BadInput($"{e.Source}: label '{e.Label}' is not a number; a regression task needs a numeric label column");
    }

    static IEnumerable<string> Split(Example e)
    {
        if (e.Label == null) throw DistilException.BadInput($"{e.Source}: the row has no labels; a multi-label row lists its labels separated by '{MultiLabelSeparator}' (or as a JSON list); '{MultiLabelSeparator}' alone (or []) means none");
        return e.Label.Split(MultiLabelSeparator, StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
    }

    /// <summary>A multi-label row's labels as 0/1 per label.</summary>
    public static float[] MultiHot(Example e, LabelSet labels)
    {
        var v = new float[labels.Count];
        foreach (var l in Split(e)) v[labels.IdOf(l, e.Source)] = 1;
        return v;
    }
}
