using System.Text.Json.Serialization;

namespace Distil.Training;

/// <summary>The knobs of the one training loop. JSON names are the config-file keys.</summary>
public sealed record TrainingOptions
{
    [JsonPropertyName("epochs")] public int Epochs { get; init; } = 3;
    [JsonPropertyName("batch_size")] public int BatchSize { get; init; } = 32;
    [JsonPropertyName("learning_rate")] public double LearningRate { get; init; } = 5e-5;
    [JsonPropertyName("weight_decay")] public double WeightDecay { get; init; } = 0.01;
    [JsonPropertyName("warmup_ratio")] public double WarmupRatio { get; init; } = 0.1;
    [JsonPropertyName("max_grad_norm")] public double MaxGradNorm { get; init; } = 1.0;
    [JsonPropertyName("seed")] public int Seed { get; init; } = 42;
    /// <summary>Evaluate every N optimizer steps; 0 = at the end of each epoch.</summary>
    [JsonPropertyName("eval_every_steps")] public int EvalEverySteps { get; init; }
    /// <summary>Write a resumable checkpoint every N steps; 0 = at the end of each epoch.</summary>
    [JsonPropertyName("save_every_steps")] public int SaveEverySteps { get; init; }
    /// <summary>Stop after this many steps in total (0 = run all epochs).</summary>
    [JsonPropertyName("max_steps")] public int MaxSteps { get; init; }
    /// <summary>Resumable checkpoints kept under checkpoints/ (the newest ones).</summary>
    [JsonPropertyName("keep_checkpoints")] public int KeepCheckpoints { get; init; } = 2;
    /// <summary>Delete checkpoints/ once training ran to its end (best/ stays): saves the disk, but --resume then starts over.</summary>
    [JsonPropertyName("drop_checkpoints")] public bool DropCheckpoints { get; init; }
    /// <summary>Metric that picks best/: accuracy, macro_f1, mcc (higher is better) or loss (lower is better); exact or f1 for extractive QA.</summary>
    [JsonPropertyName("select_best_by")] public string SelectBestBy { get; init; } = "accuracy";
    /// <summary>Steps with a NaN/Inf loss or gradient norm that may be skipped (no update, logged, counted) before the run
    /// stops with a numerical fault; 0 (default) = stop at the first.</summary>
    [JsonPropertyName("max_bad_steps")] public int MaxBadSteps { get; init; }
    /// <summary>Memory (MB) the run may use: a run whose estimate (MemoryEstimate) is larger is refused before it starts;
    /// null = the available memory as detected (or DISTIL_MEMORY_LIMIT_MB), 0 = no check.</summary>
    [JsonPropertyName("memory_limit_mb")] public int? MemoryLimitMb { get; init; }

    public void Validate()
    {
        void Require(bool ok, string message) { if (!ok) throw DistilException.Usage(message); }
        Require(Epochs > 0, $"epochs must be positive (got {Epochs})");
        Require(BatchSize > 0, $"batch_size must be positive (got {BatchSize})");
        Require(LearningRate > 0 && double.IsFinite(LearningRate), $"learning_rate must be a positive number (got {LearningRate})");
        Require(WeightDecay >= 0, $"weight_decay must be >= 0 (got {WeightDecay})");
        Require(WarmupRatio is >= 0 and < 1, $"warmup_ratio must be in [0, 1) (got {WarmupRatio})");
        Require(MaxGradNorm > 0, $"max_grad_norm must be positive (got {MaxGradNorm})");
        Require(EvalEverySteps >= 0 && SaveEverySteps >= 0 && MaxSteps >= 0, "eval_every_steps, save_every_steps and max_steps must be >= 0");
        Require(MemoryLimitMb is null or >= 0, $"memory_limit_mb must be >= 0 (0 switches the memory check off; got {MemoryLimitMb})");
        Require(MaxBadSteps >= 0, $"max_bad_steps must be >= 0 (got {MaxBadSteps})");
        Require(KeepCheckpoints >= 1, $"keep_checkpoints must be at least 1 (got {KeepCheckpoints})");
        Require(SelectBestBy is "accuracy" or "macro_f1" or "mcc" or "loss" or "exact" or "f1" or "pearson" or "spearman" or "micro_f1",
            $"select_best_by '{SelectBestBy}' is not one of accuracy, macro_f1, mcc, loss (sequence tasks), f1 (token, extractive QA), exact (extractive QA), pearson, spearman (regression), micro_f1, macro_f1 (multi-label)");
    }

    /// <summary>Linear warm-up to the peak, then linear decay to 0 at the last step (HF's linear schedule).</summary>
    public double LearningRateAt(long step, long totalSteps)
    {
        long warmup = (long)Math.Ceiling(WarmupRatio * totalSteps);
        if (step < warmup) return LearningRate * (step + 1) / warmup;
        return LearningRate * Math.Max(0.0, (double)(totalSteps - step) / Math.Max(1, totalSteps - warmup));
    }
}
