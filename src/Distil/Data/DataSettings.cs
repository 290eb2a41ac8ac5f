using System.Text.Json.Serialization;
using Distil.Text;

namespace Distil.Data;

/// <summary>The "data" section shared by every training command: files, layout, columns, sequence length.</summary>
public sealed record DataSettings
{
    [JsonPropertyName("train")] public string? Train { get; init; }
    [JsonPropertyName("dev")] public string? Dev { get; init; }
    [JsonPropertyName("test")] public string? Test { get; init; }
    /// <summary>tsv, csv or jsonl; null = from the file extension.</summary>
    [JsonPropertyName("format")] public string? Format { get; init; }
    /// <summary>A GLUE task name (sst2, cola, mrpc, qqp, qnli, rte, mnli): that task's file layout and columns.</summary>
    [JsonPropertyName("glue_task")] public string? GlueTask { get; init; }
    [JsonPropertyName("text_column")] public string? TextColumn { get; init; }
    [JsonPropertyName("text_pair_column")] public string? TextPairColumn { get; init; }
    [JsonPropertyName("label_column")] public string? LabelColumn { get; init; }
    [JsonPropertyName("domain_column")] public string? DomainColumn { get; init; }
    [JsonPropertyName("skip_bad_rows")] public bool SkipBadRows { get; init; }
    [JsonPropertyName("max_seq_len")] public int MaxSeqLen { get; init; } = 128;
    /// <summary>sequence (default), token, regression or multi-label (<see cref="Models.TaskKinds"/>; docs/tasks.md).</summary>
    [JsonPropertyName("task")] public string? Task { get; init; }
    /// <summary>Multi-label: a label is predicted when its probability is at least this.</summary>
    [JsonPropertyName("threshold")] public double Threshold { get; init; } = 0.5;

    public void Validate()
    {
        if (string.IsNullOrEmpty(Train)) throw DistilException.Usage("no training data: pass --train FILE (or a GLUE folder with --glue-task)");
        if (MaxSeqLen < 4) throw DistilException.Usage($"max_seq_len must be at least 4 (got {MaxSeqLen})");
        Models.TaskKinds.Parse(Task);
        if (!(Threshold > 0 && Threshold < 1)) throw DistilException.Usage($"threshold {Threshold} must be between 0 and 1");
    }

    public Models.TaskKind Kind => Models.TaskKinds.Parse(Task) ?? Models.TaskKind.Sequence;
}

/// <summary>The splits of a task, read, checked and encoded: labels and domains come from the training split.</summary>
public sealed record TaskData(DatasetFile Train, DatasetFile? Dev, DatasetFile? Test, LabelSet Labels, DomainSet Domains,
    EncodedExample[] TrainSet, EncodedExample[]? DevSet, EncodedExample[]? TestSet)
{
    /// <summary>What the rows are labelled for (sequence unless data.task says otherwise).</summary>
    public Models.TaskKind Task { get; init; } = Models.TaskKind.Sequence;
    /// <summary>Multi-label decision threshold.</summary>
    public double Threshold { get; init; } = 0.5;

    /// <param name="labels">The label order of an existing classifier (distillation); null = from the training split.</param>
    public static TaskData Load(DataSettings d, TextTokenizer tokenizer, LabelSet? labels = null)
    {
        d.Validate();
        if (d.Kind != Models.TaskKind.Sequence) return TaskDataKinds.Load(d, tokenizer, labels);
        var train = Read(d, d.Train!, DataSplit.Train);
        var dev = d.Dev != null || d.GlueTask != null ? Read(d, d.Dev ?? d.Train!, DataSplit.Dev) : null;
        var test = d.Test != null ? Read(d, d.Test, DataSplit.Test) : null;
        labels ??= LabelSet.FromExamples(train.Examples);
        var domains = DomainSet.FromExamples(train.Examples);
        EncodedExample[] Encode(DatasetFile f) => ExampleEncoder.Encode(f.Examples, tokenizer, labels, domains, d.MaxSeqLen);
        return new TaskData(train, dev, test, labels, domains, Encode(train), dev != null ? Encode(dev) : null, test != null ? Encode(test) : null);
    }

    internal static DatasetFile Read(DataSettings d, string path, DataSplit split)
    {
        if (d.GlueTask != null && Directory.Exists(path)) return GlueTasks.Read(path, d.GlueTask, split, d.SkipBadRows);
        var columns = new ColumnMapping(
            d.TextColumn != null ? Column.Parse(d.TextColumn) : null, d.TextPairColumn != null ? Column.Parse(d.TextPairColumn) : null,
            d.LabelColumn != null ? Column.Parse(d.LabelColumn) : null, d.DomainColumn != null ? Column.Parse(d.DomainColumn) : null);
        return DatasetReader.Read(path, columns, d.Format != null ? DataFormats.Parse(d.Format) : null, skipBadRows: d.SkipBadRows);
    }
}
