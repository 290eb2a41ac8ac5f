using System.Text.Json.Serialization;
using Distil.Augment;
using Distil.Data;
using Distil.Pipelines;
using Distil.Training;

namespace Distil.Distillation;

/// <summary>Settings of `distil distill`. JSON names are the config keys.</summary>
public sealed record DistillConfig : IRunConfig
{
    /// <summary>The fine-tuned teacher: a sequence-classification model folder (e.g. runs/ft/best).</summary>
    [JsonPropertyName("teacher")] public string? Teacher { get; init; }
    /// <summary>Student shape, L{layers}-H{hidden}[-A{heads}][-I{ffn}], e.g. L4-H312.</summary>
    [JsonPropertyName("student")] public string Student { get; init; } = "L4-H312";
    /// <summary>random, or teacher (copy embeddings and every k-th layer; needs the teacher's width).</summary>
    [JsonPropertyName("init")] public string Init { get; init; } = "random";
    /// <summary>kd, distilbert, pkd, tinybert or minilm; ignored when matches are given.</summary>
    [JsonPropertyName("preset")] public string Preset { get; init; } = "kd";
    /// <summary>
    /// A folder with the student's own tokenizer (e.g. a BERT vocab.txt) when it is not the teacher's: each side then
    /// tokenises the text itself, and only sentence-level matches (logits, labels, cls_hidden) are allowed (<see cref="CrossVocabulary"/>).
    /// </summary>
    [JsonPropertyName("student_tokenizer")] public string? StudentTokenizer { get; init; }
    /// <summary>Explicit matches (one stage), replacing the preset's.</summary>
    [JsonPropertyName("matches")] public List<IntermediateMatch>? Matches { get; init; }
    [JsonPropertyName("temperature")] public double Temperature { get; init; } = 2.0;
    /// <summary>Weight of the hard-label cross-entropy in KD terms: alpha * CE + (1 - alpha) * T^2 * soft_ce.</summary>
    [JsonPropertyName("alpha")] public double Alpha { get; init; } = 0.5;
    /// <summary>Teacher logits read from (or added to) the label store when only logits are matched, instead of a teacher forward per step.</summary>
    [JsonPropertyName("cache_teacher_logits")] public bool CacheTeacherLogits { get; init; } = true;
    /// <summary>Teacher hidden states the matches read, computed once and cached next to the data (fp16, see TeacherHiddenCache).</summary>
    [JsonPropertyName("cache_teacher_hidden")] public bool CacheTeacherHidden { get; init; } = true;
    /// <summary>Largest teacher hidden-state cache kept in memory; above it the teacher runs at every step.</summary>
    [JsonPropertyName("teacher_cache_max_mb")] public int TeacherCacheMaxMb { get; init; } = 1024;
    /// <summary>TinyBERT word-replacement augmentation of the training set (copies 0 = off); distils on original + augmented.</summary>
    [JsonPropertyName("augment")] public AugmentOptions Augment { get; init; } = new();
    /// <summary>Unlabelled text (or a label store) whose sentences, labelled by the teacher, join the training rows (path null = off).</summary>
    [JsonPropertyName("transfer")] public TransferOptions Transfer { get; init; } = new();
    /// <summary>Label store of the teacher's labels; null = .distil-cache/labels-KEY next to the training data (docs/labelling.md).</summary>
    [JsonPropertyName("label_store")] public string? LabelStore { get; init; }
    [JsonPropertyName("data")] public DataSettings Data { get; init; } = new();
    [JsonPropertyName("eval_batch_size")] public int EvalBatchSize { get; init; } = 64;
    [JsonPropertyName("log_every_steps")] public int LogEverySteps { get; init; } = 10;
    [JsonPropertyName("out")] public string? Out { get; init; }
    [JsonPropertyName("device")] public string Device { get; init; } = "cpu";
    [JsonPropertyName("threads")] public int? Threads { get; init; }
    [JsonPropertyName("training")] public TrainingOptions Training { get; init; } = new() { LearningRate = 1e-4, Epochs = 5 };
    /// <summary>Extractive QA (SQuAD-format data): windows and answer reading.</summary>
    [JsonPropertyName("qa")] public QaSettings Qa { get; init; } = new();

    public void Validate()
    {
        if (string.IsNullOrEmpty(Teacher)) throw DistilException.Usage("no teacher: pass --teacher DIR (a fine-tuned model folder, e.g. runs/ft/best)");
        if (string.IsNullOrEmpty(Out)) throw DistilException.Usage("no run folder: pass --out DIR");
        if (Init is not ("random" or "teacher")) throw DistilException.Usage($"init '{Init}' must be 'random' or 'teacher'");
        if (EvalBatchSize < 1) throw DistilException.Usage("eval_batch_size must be positive");
        if (TeacherCacheMaxMb < 0) throw DistilException.Usage("teacher_cache_max_mb must be >= 0");
        Data.Validate();
        Augment.Validate();
        Transfer.Validate();
        Training.Validate();
        Qa.Validate();
    }
}
