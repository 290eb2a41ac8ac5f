using System.Text.Json.Serialization;
using Distil.Data;
using Distil.Pipelines;
using Distil.Training;

namespace Distil.MetaKD;

/// <summary>
/// Settings of `distil metakd` (docs/metakd.md §Defaults: from the official scripts where they fit a CPU run).
/// teacher_mode x distill picks Meta-KD or a baseline: meta + metakd = Meta-KD; single + tinybert = BERT-s -> TinyBERT-KD;
/// mix + tinybert = BERT-mix -> TinyBERT-KD; meta + tinybert (or kd) = meta-teacher -> plain KD.
/// </summary>
public sealed record MetaKdConfig : IRunConfig
{
    /// <summary>The pre-trained encoder every teacher is fine-tuned from and that gives the prototype embeddings h(x):
    /// key "model" and --model, as in finetune (the C# name is older; "teacher" is a fine-tuned classifier in every command).</summary>
    [JsonPropertyName("model")] public string? Teacher { get; init; }
    /// <summary>Domains to build students for (default: every domain of the training data).</summary>
    [JsonPropertyName("domains")] public string? Domains { get; init; }
    /// <summary>meta (prototype weights + domain-corruption loss), mix (plain CE on all domains), single (one teacher per domain).</summary>
    [JsonPropertyName("teacher_mode")] public string TeacherMode { get; init; } = "meta";
    /// <summary>An already fine-tuned teacher folder to use instead of fine-tuning one (meta or mix mode): e.g. runs/ft/best as
    /// BERT-mix, or RUN/teacher/best of an earlier meta run (its domain_head.safetensors sits next to best/, which metakd needs).
    /// Key "teacher" and --teacher, as in distill, search and l2a.</summary>
    [JsonPropertyName("teacher")] public string? FinetunedTeacher { get; init; }
    /// <summary>metakd (λ-weighted stage 1 + domain term, then soft CE), tinybert (the preset's two stages), kd (one stage, Hinton KD).</summary>
    [JsonPropertyName("distill")] public string Distill { get; init; } = "metakd";
    /// <summary>per-domain (one student per domain, trained on that domain only) or all (one student for all domains).</summary>
    [JsonPropertyName("student_scope")] public string StudentScope { get; init; } = "per-domain";
    [JsonPropertyName("student")] public string Student { get; init; } = "L4-H312";
    /// <summary>model (copy layers of the pre-trained encoder --model, like starting from a general TinyBERT; same width only) or
    /// random. "teacher" (the layers of the fine-tuned teacher, as in distill) is not offered: every method starts from the same student.</summary>
    [JsonPropertyName("init")] public string Init { get; init; } = "model";
    /// <summary>Classifier pooling of the fine-tuned teachers (mean, as the MiniLM teacher; or pooler).</summary>
    [JsonPropertyName("pooling")] public string Pooling { get; init; } = "mean";
    /// <summary>γ₁: weight of the corrupted-domain cross-entropy when training the meta-teacher.</summary>
    [JsonPropertyName("gamma1")] public double Gamma1 { get; init; } = 0.5;
    /// <summary>γ₂: weight of the transferable-domain-knowledge MSE in meta-distillation stage 1.</summary>
    [JsonPropertyName("gamma2")] public double Gamma2 { get; init; } = 0.5;
    /// <summary>Temperature of stage 2 (soft CE on the teacher's predictions; 1 as the original code) and of --distill kd.</summary>
    [JsonPropertyName("temperature")] public double Temperature { get; init; } = 1.0;
    /// <summary>Fraction of each domain's training rows kept (few-shot), after a seeded shuffle.</summary>
    [JsonPropertyName("data_portion")] public double DataPortion { get; init; } = 1.0;
    /// <summary>A domain left out of teacher training (zero-shot); students are then built for this domain only.</summary>
    [JsonPropertyName("holdout_domain")] public string? HoldoutDomain { get; init; }
    [JsonPropertyName("stage1_epochs")] public int Stage1Epochs { get; init; } = 3;
    [JsonPropertyName("stage2_epochs")] public int Stage2Epochs { get; init; } = 3;
    [JsonPropertyName("stage1_lr")] public double Stage1LearningRate { get; init; } = 5e-5;
    [JsonPropertyName("stage2_lr")] public double Stage2LearningRate { get; init; } = 3e-5;
    [JsonPropertyName("data")] public DataSettings Data { get; init; } = new() { MaxSeqLen = 64 };
    [JsonPropertyName("eval_batch_size")] public int EvalBatchSize { get; init; } = 64;
    [JsonPropertyName("log_every_steps")] public int LogEverySteps { get; init; } = 5;
    [JsonPropertyName("out")] public string? Out { get; init; }
    [JsonPropertyName("device")] public string Device { get; init; } = "cpu";
    [JsonPropertyName("threads")] public int? Threads { get; init; }
    /// <summary>Teacher fine-tuning (epochs, lr, batch, seed); the seed also drives students and the few-shot sample.</summary>
    [JsonPropertyName("training")] public TrainingOptions Training { get; init; } = new() { LearningRate = 1e-4, Epochs = 2 };

    public static readonly string[] TeacherModes = { "meta", "mix", "single" }, DistillMethods = { "metakd", "tinybert", "kd" }, Scopes = { "per-domain", "all" };

    public void Validate()
    {
        void Require(bool ok, string message) { if (!ok) throw DistilException.Usage(message); }
        Require(!string.IsNullOrEmpty(Teacher), "no model: pass --model DIR (the pre-trained encoder the teachers are fine-tuned from, with vocab.txt); "
            + "--teacher is an already fine-tuned teacher");
        Require(!string.IsNullOrEmpty(Out), "no run folder: pass --out DIR");
        Require(TeacherModes.Contains(TeacherMode), $"teacher_mode '{TeacherMode}' must be one of {string.Join(", ", TeacherModes)}");
        Require(DistillMethods.Contains(Distill), $"distill '{Distill}' must be one of {string.Join(", ", DistillMethods)}");
        Require(Scopes.Contains(StudentScope), $"student_scope '{StudentScope}' must be one of {string.Join(", ", Scopes)}");
        Require(Init != "pretrained", "--init pretrained is now --init model (copy layers of --model)");
        Require(Init is "model" or "random", $"init '{Init}' must be model (copy layers of --model) or random");
        Require(Pooling is "mean" or "pooler", $"pooling '{Pooling}' must be mean or pooler");
        Require(Distill != "metakd" || TeacherMode == "meta", $"--distill metakd needs the meta-teacher's domain head (teacher_mode meta); with teacher_mode {TeacherMode} use --distill tinybert or kd");
        Require(FinetunedTeacher == null || TeacherMode != "single", "--teacher replaces the one teacher of teacher_mode meta or mix; BERT-s trains one teacher per domain");
        Require(Gamma1 >= 0 && double.IsFinite(Gamma1) && Gamma2 >= 0 && double.IsFinite(Gamma2), $"gamma1 {Gamma1} and gamma2 {Gamma2} must be finite and >= 0");
        Require(Temperature > 0 && double.IsFinite(Temperature), $"temperature {Temperature} must be > 0");
        Require(DataPortion > 0 && DataPortion <= 1, $"data_portion {DataPortion} must be in (0, 1]");
        Require(Stage1Epochs >= 0 && Stage2Epochs >= 1, $"stage1_epochs ({Stage1Epochs}) must be >= 0 and stage2_epochs ({Stage2Epochs}) >= 1");
        Require(Stage1LearningRate > 0 && Stage2LearningRate > 0, "stage1_lr and stage2_lr must be positive");
        Require(EvalBatchSize >= 1, "eval_batch_size must be positive");
        Require(Data.Dev != null, "Meta-KD selects each student by its domain's dev accuracy: pass --dev FILE (with the domain column)");
        Data.Validate();
        Training.Validate();
    }
}
