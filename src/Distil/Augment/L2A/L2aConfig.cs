using System.Text.Json.Serialization;
using Distil.Data;
using Distil.Pipelines;
using Distil.Training;

namespace Distil.Augment.L2A;

/// <summary>Settings of `distil l2a`. JSON names are the config keys (see docs/l2a.md for why each default).</summary>
public sealed record L2aConfig : IRunConfig
{
    [JsonPropertyName("teacher")] public string? Teacher { get; init; }
    /// <summary>The data-scarce domain (a value of the data's domain column).</summary>
    [JsonPropertyName("target")] public string? Target { get; init; }
    /// <summary>Comma-separated source domains.</summary>
    [JsonPropertyName("sources")] public string? Sources { get; init; }
    /// <summary>Fraction of the target's training rows that are kept (per label, at least one each).</summary>
    [JsonPropertyName("data_portion")] public double DataPortion { get; init; } = 0.05;
    /// <summary>Arms to run, comma-separated: none, eda, tinybert, pool (all candidates, no selector), l2a.</summary>
    [JsonPropertyName("arms")] public string Arms { get; init; } = "none,eda,tinybert,pool,l2a";
    [JsonPropertyName("student")] public string Student { get; init; } = "L2-H384";
    [JsonPropertyName("init")] public string Init { get; init; } = "teacher";
    [JsonPropertyName("temperature")] public double Temperature { get; init; } = 2.0;
    [JsonPropertyName("alpha")] public double Alpha { get; init; } = 0.5;
    /// <summary>N: copies per target example for eda, tinybert and the corrupt-and-reconstruct chain (--augment).</summary>
    [JsonPropertyName("augment_copies")] public int Copies { get; init; } = 4;
    /// <summary>M: refill candidates per word (MLM top-M or embedding neighbours; --augment-candidates).</summary>
    [JsonPropertyName("augment_candidates")] public int Candidates { get; init; } = 10;
    [JsonPropertyName("use_mlm")] public bool UseMlm { get; init; } = true;
    [JsonPropertyName("chain_steps")] public int ChainSteps { get; init; } = 3;
    [JsonPropertyName("mask_fraction")] public double MaskFraction { get; init; } = 0.15;
    /// <summary>Source rows manipulated per target row (one copy each).</summary>
    [JsonPropertyName("cross_per_target")] public int CrossPerTarget { get; init; } = 4;
    [JsonPropertyName("borrow_fraction")] public double BorrowFraction { get; init; } = 0.3;
    [JsonPropertyName("eda_alpha")] public double EdaAlpha { get; init; } = 0.1;
    [JsonPropertyName("discriminator_steps")] public int DiscriminatorSteps { get; init; } = 200;
    /// <summary>Fraction of each generator's samples, the least target-like by the discriminator, that is rejected.</summary>
    [JsonPropertyName("adversarial_drop")] public double AdversarialDrop { get; init; } = 0.25;
    [JsonPropertyName("selector_steps")] public int SelectorSteps { get; init; } = 60;
    [JsonPropertyName("selector_batch")] public int SelectorBatch { get; init; } = 16;
    [JsonPropertyName("selector_lr")] public double SelectorLearningRate { get; init; } = 0.02;
    [JsonPropertyName("reward_scale")] public double RewardScale { get; init; } = 100;
    [JsonPropertyName("keep_threshold")] public double KeepThreshold { get; init; } = 0.5;
    /// <summary>Generators: learned (a masked-LM head on the frozen teacher, trained by MLM then REINFORCE) or fixed
    /// (parameter-free word replacement from the teacher's refill candidates, the ablation). --generator. Learned is the
    /// default: over 3 seeds it leads fixed and every augmentation baseline at 1% and 5% of the target rows and is level
    /// at 20% (bench/results/l2a-learned-grid.md).</summary>
    [JsonPropertyName("generator")] public string Generator { get; init; } = "learned";
    /// <summary>Masked-LM steps of the learned generator's head on source + target text (stage 1).</summary>
    [JsonPropertyName("generator_mlm_steps")] public int GeneratorMlmSteps { get; init; } = 150;
    /// <summary>REINFORCE steps of the learned generator (stage 2; 0 = the masked-LM head only).</summary>
    [JsonPropertyName("generator_rl_steps")] public int GeneratorRlSteps { get; init; } = 40;
    /// <summary>Teacher layer whose output the generator's head reads (0 = the last).</summary>
    [JsonPropertyName("generator_layer")] public int GeneratorLayer { get; init; }
    /// <summary>λ of the generator's neighbour prior: each refill's logit + λ · cos(its word embedding, the replaced word's).</summary>
    [JsonPropertyName("generator_neighbour_weight")] public double GeneratorNeighbourWeight { get; init; } = 10;
    [JsonPropertyName("generator_batch")] public int GeneratorBatch { get; init; } = 16;
    [JsonPropertyName("generator_lr")] public double GeneratorLearningRate { get; init; } = 1e-3;
    [JsonPropertyName("generator_rl_lr")] public double GeneratorRlLearningRate { get; init; } = 2e-4;
    /// <summary>Softmax temperature of the learned generator's draws over its top-M refills (augment_candidates).</summary>
    [JsonPropertyName("generator_temperature")] public double GeneratorTemperature { get; init; } = 1.0;
    /// <summary>Weights of the REINFORCE loss's parts: the MLM regulariser, the discriminator's target-likeness, the scout's dev gain.</summary>
    [JsonPropertyName("generator_mlm_weight")] public double GeneratorMlmWeight { get; init; } = 1.0;
    [JsonPropertyName("generator_adversarial_weight")] public double GeneratorAdversarialWeight { get; init; } = 1.0;
    [JsonPropertyName("generator_student_weight")] public double GeneratorStudentWeight { get; init; } = 1.0;
    /// <summary>Groups per REINFORCE batch, each with its own scout KD step and dev-gain reward (>= 2: the batch mean is the baseline).</summary>
    [JsonPropertyName("generator_groups")] public int GeneratorGroups { get; init; } = 2;
    [JsonPropertyName("data")] public DataSettings Data { get; init; } = new() { DomainColumn = "domain" };
    /// <summary>Label store of the teacher's labels (generated texts, and the arms' rows); null = .distil-cache/labels-KEY next to the training data.</summary>
    [JsonPropertyName("label_store")] public string? LabelStore { get; init; }
    [JsonPropertyName("eval_batch_size")] public int EvalBatchSize { get; init; } = 64;
    [JsonPropertyName("out")] public string? Out { get; init; }
    [JsonPropertyName("device")] public string Device { get; init; } = "cpu";
    [JsonPropertyName("threads")] public int? Threads { get; init; }
    /// <summary>Student training of every arm: the same number of steps for all, so arms differ only in their data.</summary>
    [JsonPropertyName("training")]
    public TrainingOptions Training { get; init; } = new()
    { LearningRate = 1e-4, Epochs = 1000, MaxSteps = 150, BatchSize = 16, EvalEverySteps = 25, SaveEverySteps = 1000 };

    public static readonly string[] ArmNames = { "none", "eda", "tinybert", "pool", "l2a" };

    public IReadOnlyList<string> ArmList => Arms.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    public IReadOnlyList<string> SourceList => (Sources ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    public void Validate()
    {
        void Require(bool ok, string message) { if (!ok) throw DistilException.Usage(message); }
        Require(!string.IsNullOrEmpty(Teacher), "no teacher: pass --teacher DIR (a fine-tuned model folder)");
        Require(!string.IsNullOrEmpty(Out), "no run folder: pass --out DIR");
        Require(!string.IsNullOrEmpty(Target), "no target domain: pass --target DOMAIN (a value of the domain column)");
        Require(SourceList.Count > 0, "no source domains: pass --sources D1,D2");
        Require(!SourceList.Contains(Target), $"the target domain '{Target}' is also listed as a source");
        Require(DataPortion is > 0 and <= 1, $"data_portion {DataPortion} must be in (0, 1]");
        foreach (var a in ArmList) Require(ArmNames.Contains(a), $"arm '{a}' is not one of {string.Join(", ", ArmNames)}");
        Require(ArmList.Count > 0, "no arms: pass --arms none,eda,tinybert,pool,l2a (or a subset)");
        Require(Init is "random" or "teacher", $"init '{Init}' must be 'random' or 'teacher'");
        Require(Copies >= 1 && Candidates >= 1 && ChainSteps >= 1 && CrossPerTarget >= 0, "augment_copies (--augment), augment_candidates and chain_steps must be >= 1, cross_per_target >= 0");
        Require(MaskFraction is > 0 and <= 1 && BorrowFraction is > 0 and <= 1, "mask_fraction and borrow_fraction must be in (0, 1]");
        Require(EdaAlpha is > 0 and < 1, "eda_alpha must be in (0, 1)");
        Require(AdversarialDrop is >= 0 and < 1, "adversarial_drop must be in [0, 1)");
        Require(DiscriminatorSteps >= 1 && SelectorSteps >= 1 && SelectorBatch >= 1, "discriminator_steps, selector_steps and selector_batch must be >= 1");
        Require(SelectorLearningRate > 0 && RewardScale > 0, "selector_lr and reward_scale must be positive");
        Require(KeepThreshold is >= 0 and <= 1, "keep_threshold must be in [0, 1]");
        Require(Generator is "learned" or "fixed", $"generator '{Generator}' must be 'learned' (a trained masked-LM head) or 'fixed' (parameter-free refills)");
        Require(GeneratorMlmSteps >= 1 && GeneratorRlSteps >= 0 && GeneratorLayer >= 0 && GeneratorBatch >= 2 && GeneratorGroups >= 2,
            "generator_mlm_steps must be >= 1, generator_rl_steps >= 0, generator_layer >= 0, generator_batch >= 2 and generator_groups >= 2");
        Require(GeneratorLearningRate > 0 && GeneratorRlLearningRate > 0 && GeneratorTemperature > 0 && GeneratorNeighbourWeight >= 0, "generator_lr, generator_rl_lr and generator_temperature must be positive");
        Require(GeneratorMlmWeight >= 0 && GeneratorAdversarialWeight >= 0 && GeneratorStudentWeight >= 0, "generator_*_weight must be >= 0");
        Require(EvalBatchSize >= 1, "eval_batch_size must be positive");
        Require(!string.IsNullOrEmpty(Data.Dev), "no dev data: pass --dev FILE (its target-domain rows give the selector's reward and pick best/)");
        Require(!string.IsNullOrEmpty(Data.DomainColumn), "no domain column: pass --domain-column (L2A needs to know each row's domain)");
        Data.Validate();
        Training.Validate();
    }
}
