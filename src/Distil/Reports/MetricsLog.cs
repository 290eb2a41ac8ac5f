using System.Globalization;
using System.Text.Json.Nodes;
using Distil.Checkpoints;
using Distil.Training;

namespace Distil.Reports;

/// <summary>
/// Appends one JSON object per logged step and per evaluation to metrics.jsonl. On resume, the lines written
/// after the checkpoint that is resumed from are dropped, so the file never holds a step twice.
/// </summary>
public sealed class MetricsLog : TrainerCallback
{
    readonly string path;
    readonly int logEvery;
    readonly int? stage;

    /// <param name="stage">Multi-stage methods (TinyBERT) log every stage to one file, each row tagged with its stage.</param>
    public MetricsLog(string path, int logEverySteps = 10, int? stage = null)
    {
        this.path = path;
        logEvery = Math.Max(1, logEverySteps);
        this.stage = stage;
    }

    public override void OnTrainBegin(TrainerState state)
    {
        if (!File.Exists(path)) return;
        var kept = File.ReadAllLines(path).Where(l =>
        {
            try
            {
                var row = JsonNode.Parse(l);
                bool sameStage = (int?)row?["stage"]?.GetValue<double>() == stage;
                return !sameStage || (row?["step"]?.GetValue<double>() ?? 0) <= state.GlobalStep;
            }
            catch (System.Text.Json.JsonException) { return false; } // a line cut by a kill
        });
        RunFolder.WriteAtomic(path, string.Concat(kept.Select(l => l + "\n")));
    }

    public override void OnStepEnd(TrainerState state, StepReport r)
    {
        if (r.Step % logEvery != 0 && r.Step != r.TotalSteps) return;
        var o = new JsonObject
        {
            ["type"] = "train", ["step"] = r.Step, ["epoch"] = r.Epoch,
            ["loss"] = Round(r.Loss), ["learning_rate"] = r.LearningRate, ["grad_norm"] = Round(r.GradNorm),
            ["examples_per_second"] = Round(r.ExamplesPerSecond),
        };
        foreach (var (k, v) in r.Terms) o[k] = Round(v);
        Append(o);
    }

    /// <summary>Every skipped step is logged (not only every log_every_steps-th): they are rare and a user must see them.</summary>
    public override void OnStepSkipped(TrainerState state, SkippedStep s) => Append(new JsonObject
    {
        ["type"] = "skipped", ["step"] = s.Step, ["epoch"] = s.Epoch, ["batch_in_epoch"] = s.BatchInEpoch,
        ["reason"] = $"{s.What} is {s.Value.ToString(CultureInfo.InvariantCulture)}", ["skipped_steps"] = s.SkippedSoFar,
    });

    public override void OnEvaluate(TrainerState state, IReadOnlyDictionary<string, double> metrics, bool isBest)
    {
        var o = new JsonObject { ["type"] = "eval", ["step"] = state.GlobalStep, ["is_best"] = isBest };
        // A diverged model's dev loss is Infinity or NaN, which JSON numbers cannot hold: written as a string, as a skipped row's reason.
        foreach (var (k, v) in metrics) o[k] = double.IsFinite(v) ? Round(v) : v.ToString(CultureInfo.InvariantCulture);
        Append(o);
    }

    void Append(JsonObject o)
    {
        if (stage is int k) o["stage"] = k;
        // A line cut by a full disk is dropped on --resume (OnTrainBegin), like one cut by a kill.
        WriteFault.Guard(path, null, () => File.AppendAllText(path, o.ToJsonString() + "\n"),
            kept: "the lines before are intact (a cut last line is dropped on --resume), and so are the checkpoints");
    }

    static double Round(double v) => Math.Round(v, 6);

    /// <summary>Reads metrics.jsonl back: (train rows, eval rows) as dictionaries of numbers.</summary>
    public static (List<Dictionary<string, double>> Train, List<Dictionary<string, double>> Eval) Read(string path)
    {
        var train = new List<Dictionary<string, double>>();
        var eval = new List<Dictionary<string, double>>();
        if (!File.Exists(path)) return (train, eval);
        foreach (string line in File.ReadLines(path))
        {
            if (JsonNode.Parse(line) is not JsonObject o || o["type"]?.GetValue<string>() == "skipped") continue;
            var row = new Dictionary<string, double>();
            foreach (var (k, v) in o)
                if (v is JsonValue jv && jv.TryGetValue(out double d)) row[k] = d;
            (o["type"]?.GetValue<string>() == "eval" ? eval : train).Add(row);
        }
        return (train, eval);
    }
}
