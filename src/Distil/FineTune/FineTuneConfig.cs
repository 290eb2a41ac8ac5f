using System.Text.Json.Serialization;
using Distil.Data;
using Distil.Pipelines;
using Distil.Training;

namespace Distil.FineTune;

/// <summary>Settings of `distil finetune` (and of the demo's fine-tuning stage). JSON names are the config keys.</summary>
public sealed record FineTuneConfig : IRunConfig
{
    /// <summary>Teacher folder: config.json, model.safetensors, vocab.txt (an encoder alone gets a new classifier head).</summary>
    [JsonPropertyName("model")] public string? Model { get; init; }
    [JsonPropertyName("data")] public DataSettings Data { get; init; } = new();
    /// <summary>"pooler" (HF) or "mean"; null keeps the model's own setting.</summary>
    [JsonPropertyName("pooling")] public string? Pooling { get; init; }
    [JsonPropertyName("eval_batch_size")] public int EvalBatchSize { get; init; } = 64;
    [JsonPropertyName("log_every_steps")] public int LogEverySteps { get; init; } = 10;
    [JsonPropertyName("out")] public string? Out { get; init; }
    [JsonPropertyName("device")] public string Device { get; init; } = "cpu";
    [JsonPropertyName("threads")] public int? Threads { get; init; }
    [JsonPropertyName("training")] public TrainingOptions Training { get; init; } = new();
    /// <summary>Extractive QA (SQuAD-format data): windows and answer reading.</summary>
    [JsonPropertyName("qa")] public QaSettings Qa { get; init; } = new();

    public void Validate()
    {
        if (string.IsNullOrEmpty(Model)) throw DistilException.Usage("no model: pass --model DIR (a folder with config.json, model.safetensors, vocab.txt)");
        if (string.IsNullOrEmpty(Out)) throw DistilException.Usage("no run folder: pass --out DIR");
        Data.Validate();
        if (Pooling is not (null or "pooler" or "mean")) throw DistilException.Usage($"pooling '{Pooling}' must be 'pooler' or 'mean'");
        if (EvalBatchSize < 1) throw DistilException.Usage("eval_batch_size must be positive");
        Training.Validate();
        Qa.Validate();
    }
}
