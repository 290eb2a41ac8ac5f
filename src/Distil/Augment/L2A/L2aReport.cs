using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Distil.Reports;

namespace Distil.Augment.L2A;

/// <summary>report.md and result.json of an L2A run: the arms' table beside the teacher, the selector's reward plot.</summary>
public static class L2aReport
{
    /// <summary>NaN (no test file) is written as "NaN" instead of failing.</summary>
    public static readonly JsonSerializerOptions Json = new() { WriteIndented = true, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };

    public static void Write(L2aConfig c, RunFolder run, L2aResult r, int targetRows, int generated)
    {
        static string Pct(double v) => double.IsNaN(v) ? "-" : (100 * v).ToString("F2", CultureInfo.InvariantCulture) + "%";
        var w = new ReportWriter($"distil l2a: target {c.Target}, {c.DataPortion:P1} of its training data")
            .KeyValues("Run", new[]
            {
                ("teacher", c.Teacher!), ("student", $"{c.Student}, init {c.Init}, kd preset, T {c.Temperature}, alpha {c.Alpha}"),
                ("target", $"{c.Target}: {targetRows} training rows"), ("sources", c.Sources!),
                ("generators", $"{r.Generator}" + (r.Generator == "learned" ? $" (masked-LM head: {c.GeneratorMlmSteps} MLM + {c.GeneratorRlSteps} REINFORCE steps, run/generator/)" : "") + $"; chain: {c.Copies} samples x {c.ChainSteps} steps, mask {c.MaskFraction}; cross: {c.CrossPerTarget} source rows per target row, borrow {c.BorrowFraction}"),
                ("pool", $"{generated} generated, {r.PoolSize} after the discriminator, {r.Selected} selected"),
                ("training", $"{c.Training.MaxSteps} steps per arm, batch {c.Training.BatchSize}, lr {c.Training.LearningRate}, seed {c.Training.Seed}"),
                ("wall time", $"{r.Seconds:F0} s"),
            })
            .KeyValues("Arms (accuracy on the target domain; best/ by target dev)", r.Arms.Select(a =>
                (a.Name, $"train {a.TargetRows} + {a.AugmentedRows} augmented; dev {Pct(a.DevAccuracy)}, test {Pct(a.TestAccuracy)}; teacher test {Pct(a.TeacherTestAccuracy)}; {a.Seconds:F0} s")))
            .Image("selector reward per step", "selector-reward.png")
            .Paragraph("Files: selected.tsv (the selected, teacher-labelled data), candidates.tsv (every candidate with its features and π(keep)), selector.jsonl, arms/NAME/ (each arm's distill run).");
        w.Save(run.ReportPath);
        RunFolder.WriteAtomic(Path.Combine(run.Dir, "result.json"), JsonSerializer.Serialize(new L2aResultFile(c.Target!, c.Sources!, c.DataPortion,
            c.Training.Seed, targetRows, generated, r.PoolSize, r.Selected, r.Seconds, r.Arms, r.Generator), Json));
    }
}

/// <summary>run/result.json of `distil l2a` (read by bench summaries).</summary>
public sealed record L2aResultFile(
    [property: JsonPropertyName("target")] string Target,
    [property: JsonPropertyName("sources")] string Sources,
    [property: JsonPropertyName("data_portion")] double DataPortion,
    [property: JsonPropertyName("seed")] int Seed,
    [property: JsonPropertyName("target_rows")] int TargetRows,
    [property: JsonPropertyName("generated")] int Generated,
    [property: JsonPropertyName("pool")] int Pool,
    [property: JsonPropertyName("selected")] int Selected,
    [property: JsonPropertyName("seconds")] double Seconds,
    [property: JsonPropertyName("arms")] IReadOnlyList<L2aArm> Arms,
    [property: JsonPropertyName("generator")] string Generator = "fixed");
