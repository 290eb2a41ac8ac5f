using System.Text.Json.Serialization;

namespace Distil.Training;

/// <summary>Settings of `distil finetune` (and of the demo's fine-tuning stage). JSON names are the config keys.</summary>
public sealed record FineTuneConfig
{
    /// <summary>Teacher folder: config.json, model.safetensors, vocab.txt (an encoder alone gets a new classifier head).</summary>
    [JsonPropertyName("model")] public string? Model { get; init; }
    [JsonPropertyName("train")] public string? Train { get; init; }
    [JsonPropertyName("dev")] public string? Dev { get; init; }
    [JsonPropertyName("test")] public string? Test { get; init; }
    /// <summary>tsv, csv or jsonl; null = from the file extension.</summary>
    [JsonPropertyName("format")] public string? Format { get; init; }
    /// <summary>A GLUE task name (sst2, cola, mrpc, qqp, qnli, rte, mnli) to use that task's file layout and columns.</summary>
    [JsonPropertyName("glue_task")] public string? GlueTask { get; init; }
    [JsonPropertyName("text_column")] public string? TextColumn { get; init; }
    [JsonPropertyName("text_pair_column")] public string? TextPairColumn { get; init; }
    [JsonPropertyName("label_column")] public string? LabelColumn { get; init; }
    [JsonPropertyName("domain_column")] public string? DomainColumn { get; init; }
    [JsonPropertyName("skip_bad_rows")] public bool SkipBadRows { get; init; }
    [JsonPropertyName("max_seq_len")] public int MaxSeqLen { get; init; } = 128;
    /// <summary>"pooler" (HF) or "mean"; null keeps the model's own setting.</summary>
    [JsonPropertyName("pooling")] public string? Pooling { get; init; }
    [JsonPropertyName("eval_batch_size")] public int EvalBatchSize { get; init; } = 64;
    [JsonPropertyName("log_every_steps")] public int LogEverySteps { get; init; } = 10;
    [JsonPropertyName("out")] public string? Out { get; init; }
    [JsonPropertyName("device")] public string Device { get; init; } = "cpu";
    [JsonPropertyName("threads")] public int? Threads { get; init; }
    [JsonPropertyName("training")] public TrainingOptions Training { get; init; } = new();

    public void Validate()
    {
        if (string.IsNullOrEmpty(Model)) throw DistilException.Usage("no model: pass --model DIR (a folder with config.json, model.safetensors, vocab.txt)");
        if (string.IsNullOrEmpty(Train)) throw DistilException.Usage("no training data: pass --train FILE (or a GLUE folder with --glue-task)");
        if (string.IsNullOrEmpty(Out)) throw DistilException.Usage("no run folder: pass --out DIR");
        if (MaxSeqLen < 4) throw DistilException.Usage($"max_seq_len must be at least 4 (got {MaxSeqLen})");
        if (Pooling is not (null or "pooler" or "mean")) throw DistilException.Usage($"pooling '{Pooling}' must be 'pooler' or 'mean'");
        if (EvalBatchSize < 1) throw DistilException.Usage("eval_batch_size must be positive");
        Training.Validate();
    }
}
