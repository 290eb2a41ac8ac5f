using System.Text.Json.Serialization;
using Distil.Data;
using Distil.Models;
using Distil.Pipelines;
using Distil.Training;

namespace Distil.Search;

/// <summary>The "search" section: AdaBERT's search space and loss (defaults: docs/adabert.md §Defaults).</summary>
public sealed record SearchOptions
{
    [JsonPropertyName("k_max")] public int KMax { get; init; } = 8;
    [JsonPropertyName("hidden_size")] public int HiddenSize { get; init; } = 128;
    /// <summary>L = (1 - gamma) L_CE + gamma L_KD + beta L_E.</summary>
    [JsonPropertyName("gamma")] public double Gamma { get; init; } = 0.8;
    [JsonPropertyName("beta")] public double Beta { get; init; } = 4.0;
    /// <summary>Collapse guard: steps that update only the weights (alpha frozen, beta 0), as a fraction of the search.</summary>
    [JsonPropertyName("arch_warmup_ratio")] public double ArchWarmupRatio { get; init; } = 0.2;
    /// <summary>Collapse guard: after the arch warm-up, beta ramps linearly from 0 over this fraction of the search.</summary>
    [JsonPropertyName("beta_warmup_ratio")] public double BetaWarmupRatio { get; init; } = 0.3;
    /// <summary>Adam on alpha. Higher than the paper codes' 1e-4/3e-4 because a CPU search runs hundreds of steps, not tens of thousands.</summary>
    [JsonPropertyName("arch_learning_rate")] public double ArchLearningRate { get; init; } = 3e-3;
    [JsonPropertyName("arch_weight_decay")] public double ArchWeightDecay { get; init; } = 1e-3;
    [JsonPropertyName("tau_start")] public double TauStart { get; init; } = 1.0;
    [JsonPropertyName("tau_end")] public double TauEnd { get; init; } = 0.2;
    /// <summary>How measured op latencies become L_E's costs: "softmax" (the paper's form) or "max" (t/t_max; collapses). See <see cref="OpCosts.Normalised"/>.</summary>
    [JsonPropertyName("cost_normalisation")] public string CostNormalisation { get; init; } = "softmax";
    /// <summary>When set, L_E = relu(expected cell latency - budget) / budget instead of the normalised cost.</summary>
    [JsonPropertyName("latency_budget_ms")] public double? LatencyBudgetMs { get; init; }
    [JsonPropertyName("dropout")] public double Dropout { get; init; } = 0.1;
    /// <summary>Pooling over tokens of every head: "mean" (the paper's) or "max" (max over time). Named token_pooling
    /// (--token-pooling) because "pooling" is a BERT classifier's pooler|mean everywhere else.</summary>
    [JsonPropertyName("token_pooling")] public string Pooling { get; init; } = CnnInputs.MeanPooling;
    /// <summary>The heads' input: "pooled" (the paper's) or "pair" (each text of a pair pooled apart, <see cref="CnnInputs.PairHead"/>).</summary>
    [JsonPropertyName("cnn_head")] public string Head { get; init; } = CnnInputs.PooledHead;
    /// <summary>"sampled": run only the sampled op per edge (GDAS-style, ~10x cheaper); "all": run every op (exact ST mixture).</summary>
    [JsonPropertyName("estimator")] public string Estimator { get; init; } = "sampled";
    [JsonPropertyName("probe_epochs")] public int ProbeEpochs { get; init; } = 4;
    [JsonPropertyName("probe_learning_rate")] public double ProbeLearningRate { get; init; } = 5e-3;
    /// <summary>Op latencies in ms (10, op order) instead of measuring them: for tests and for searching for another machine.</summary>
    [JsonPropertyName("op_costs_ms")] public double[]? OpCostsMs { get; init; }

    public void Validate()
    {
        void Require(bool ok, string message) { if (!ok) throw DistilException.Usage(message); }
        Require(KMax is >= 1 and <= 32, $"search.k_max must be in 1..32 (got {KMax})");
        Require(HiddenSize >= 1, $"search.hidden_size must be positive (got {HiddenSize})");
        Require(Gamma is >= 0 and <= 1, $"search.gamma must be in [0, 1] (got {Gamma})");
        Require(Beta >= 0, $"search.beta must be >= 0 (got {Beta})");
        Require(ArchWarmupRatio is >= 0 and < 1 && BetaWarmupRatio is >= 0 and <= 1, "search.arch_warmup_ratio must be in [0, 1) and beta_warmup_ratio in [0, 1]");
        Require(ArchLearningRate > 0, "search.arch_learning_rate must be positive");
        Require(TauStart > 0 && TauEnd > 0, "search.tau_start and tau_end must be positive");
        Require(LatencyBudgetMs is null or > 0, "--latency-budget-ms must be positive");
        Require(CostNormalisation is "softmax" or "max", $"search.cost_normalisation '{CostNormalisation}' must be 'softmax' (the paper's form) or 'max'");
        Require(Pooling is CnnInputs.MeanPooling or CnnInputs.MaxPooling, $"search.token_pooling '{Pooling}' must be 'mean' or 'max'");
        Require(Head is CnnInputs.PooledHead or CnnInputs.PairHead, $"search.cnn_head '{Head}' must be 'pooled' (the paper's) or 'pair' (each text of a pair pooled apart)");
        Require(Estimator is "sampled" or "all", $"search.estimator '{Estimator}' must be 'sampled' or 'all'");
        Require(ProbeEpochs >= 1 && ProbeLearningRate > 0, "search.probe_epochs and probe_learning_rate must be positive");
        if (OpCostsMs != null) OpCosts.Fixed(OpCostsMs);
    }
}

/// <summary>The "retrain" section: the derived student trained with (1 - kd_weight) CE + kd_weight T² soft-CE against the teacher.</summary>
public sealed record RetrainOptions
{
    [JsonPropertyName("kd_weight")] public double KdWeight { get; init; } = 0.8;
    [JsonPropertyName("temperature")] public double Temperature { get; init; } = 1.0;
    [JsonPropertyName("training")] public TrainingOptions Training { get; init; } = new() { Epochs = 5, LearningRate = 1e-3, WarmupRatio = 0.1, WeightDecay = 0.01 };
    /// <summary>
    /// TinyBERT word replacement of the training rows, labelled by the teacher, added to the retraining data only
    /// (copies 0 = off). AdaBERT's main results use such data (docs/adabert.md §Retraining); the search keeps the original rows,
    /// whose probe targets are cached, so its cost does not grow with the augmentation.
    /// </summary>
    [JsonPropertyName("augment")] public Augment.AugmentOptions Augment { get; init; } = new();
    /// <summary>Unlabelled text labelled by the teacher and added to the retraining data only (path null = off).</summary>
    [JsonPropertyName("transfer")] public Augment.TransferOptions Transfer { get; init; } = new();
    /// <summary>
    /// Which cells are retrained: "derived" (the search's genotype) or "identity" (the same depth and edges with every op
    /// replaced by identity: the ablation that shows whether the derived operations earn their cost).
    /// </summary>
    [JsonPropertyName("cells")] public string Cells { get; init; } = "derived";
}

/// <summary>Settings of `distil search`. JSON names are the config keys.</summary>
public sealed record SearchConfig : IRunConfig
{
    [JsonPropertyName("teacher")] public string? Teacher { get; init; }
    [JsonPropertyName("data")] public DataSettings Data { get; init; } = new();
    [JsonPropertyName("search")] public SearchOptions Search { get; init; } = new();
    /// <summary>Optimisation of the supernet weights (Adam; lr, epochs, batch size, clipping 5 as the TF code).</summary>
    [JsonPropertyName("search_training")] public TrainingOptions SearchTraining { get; init; } = new() { Epochs = 10, LearningRate = 1e-3, WarmupRatio = 0, WeightDecay = 3e-4, MaxGradNorm = 5 };
    [JsonPropertyName("retrain")] public RetrainOptions Retrain { get; init; } = new();
    /// <summary>Label store of the teacher's labels (augmented and transfer rows); null = .distil-cache/labels-KEY next to the training data.</summary>
    [JsonPropertyName("label_store")] public string? LabelStore { get; init; }
    [JsonPropertyName("eval_batch_size")] public int EvalBatchSize { get; init; } = 64;
    [JsonPropertyName("log_every_steps")] public int LogEverySteps { get; init; } = 10;
    [JsonPropertyName("out")] public string? Out { get; init; }
    [JsonPropertyName("device")] public string Device { get; init; } = "cpu";
    [JsonPropertyName("threads")] public int? Threads { get; init; }

    public void Validate()
    {
        if (string.IsNullOrEmpty(Teacher)) throw DistilException.Usage("no teacher: pass --teacher DIR (a fine-tuned model folder, e.g. runs/ft/best)");
        if (string.IsNullOrEmpty(Out)) throw DistilException.Usage("no run folder: pass --out DIR");
        if (EvalBatchSize < 1) throw DistilException.Usage("eval_batch_size must be positive");
        if (Retrain.KdWeight is < 0 or > 1 || Retrain.Temperature <= 0) throw DistilException.Usage("retrain.kd_weight must be in [0, 1] and retrain.temperature positive");
        if (Retrain.Cells is not ("derived" or "identity")) throw DistilException.Usage($"retrain.cells must be derived or identity, not '{Retrain.Cells}'");
        Data.Validate();
        Search.Validate();
        SearchTraining.Validate();
        Retrain.Training.Validate();
        Retrain.Augment.Validate();
        Retrain.Transfer.Validate();
    }
}
