using System.Text.Json;
using System.Text.Json.Serialization;

namespace Distil.Training;

/// <summary>Where training stands; saved with every checkpoint as trainer_state.json (HF's name).</summary>
public sealed class TrainerState
{
    [JsonPropertyName("global_step")] public long GlobalStep { get; set; }
    [JsonPropertyName("total_steps")] public long TotalSteps { get; set; }
    /// <summary>The next batch to train: (epoch, batch index in that epoch's order).</summary>
    [JsonPropertyName("epoch")] public int Epoch { get; set; }
    [JsonPropertyName("batch_in_epoch")] public int BatchInEpoch { get; set; }
    [JsonPropertyName("best_metric")] public double? BestMetric { get; set; }
    [JsonPropertyName("best_step")] public long? BestStep { get; set; }
    /// <summary>Steps skipped so far for a NaN/Inf loss or gradient (training.max_bad_steps).</summary>
    [JsonPropertyName("skipped_steps")] public long SkippedSteps { get; set; }
    /// <summary>Evaluations so far. Per-step losses live in metrics.jsonl only: a row per step here would grow every
    /// checkpoint (and memory) with the length of the run.</summary>
    [JsonPropertyName("log_history")] public List<Dictionary<string, double>> LogHistory { get; set; } = new();

    /// <summary>Set by a callback to end training after the current step (HF's TrainerControl).</summary>
    [JsonIgnore] public bool ShouldStop { get; set; }

    // Named NaN/Infinity: a diverged model's eval loss in log_history must not make the checkpoint unwritable (--skip-nonfinite).
    static readonly JsonSerializerOptions Json = new() { WriteIndented = true, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals };
    public string ToJson() => JsonSerializer.Serialize(this, Json);
    public static TrainerState FromJson(string json, string source) =>
        JsonSerializer.Deserialize<TrainerState>(json, Json) ?? throw DistilException.BadInput($"{source}: empty trainer state");
}

/// <summary>One optimizer step as callbacks see it.</summary>
public sealed record StepReport(long Step, long TotalSteps, int Epoch, double Loss, IReadOnlyDictionary<string, double> Terms,
    double LearningRate, double GradNorm, int Examples, double ExamplesPerSecond);

/// <summary>A step that was skipped for a non-finite loss or gradient norm: no optimizer update, gradients zeroed.</summary>
public sealed record SkippedStep(long Step, int Epoch, int BatchInEpoch, string What, double Value, long SkippedSoFar);

/// <summary>Observers of the loop (HF's TrainerCallback): progress, logs, best model. They steer only through state.ShouldStop.</summary>
public abstract class TrainerCallback
{
    /// <summary>A pipeline of several trainings (search then retrain, teachers then students) names the next one.</summary>
    public virtual void OnStageBegin(string stage) { }
    public virtual void OnTrainBegin(TrainerState state) { }
    public virtual void OnStepEnd(TrainerState state, StepReport step) { }
    /// <summary>Instead of OnStepEnd for a step skipped under training.max_bad_steps.</summary>
    public virtual void OnStepSkipped(TrainerState state, SkippedStep skipped) { }
    public virtual void OnEvaluate(TrainerState state, IReadOnlyDictionary<string, double> metrics, bool isBest) { }
    public virtual void OnSave(TrainerState state, string checkpointDir) { }
    public virtual void OnTrainEnd(TrainerState state) { }
}
