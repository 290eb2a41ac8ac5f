using System.Globalization;
using Distil.Data;
using Distil.Reports;

namespace Distil.Distillation;

/// <summary>report.md of `distil distill`: the run, teacher vs student, the student's metrics, the plot and every stage's matches.</summary>
internal static class DistillReport
{
    public static void Write(DistillConfig c, RunFolder run, DistillationPlan plan, DistillResult r, TaskData data, int augmented)
    {
        string plot = "training.png";
        TrainingPlot.Write(run.MetricsPath, Path.Combine(run.Dir, plot));
        string Pct(IReadOnlyDictionary<string, double>? m) => m == null ? "-"
            : m.TryGetValue("accuracy", out var a) ? (100 * a).ToString("F2", CultureInfo.InvariantCulture) + "%"
            : new[] { "f1", "pearson", "micro_f1" }.FirstOrDefault(m.ContainsKey) is string k ? $"{k} " + (100 * m[k]).ToString("F2", CultureInfo.InvariantCulture) : "-";
        var t = r.Teacher;
        var rows = new[] { r.Teacher, r.Student }.Select(m => (m.Name,
            $"{m.Parameters / 1e6:F2}M params ({m.NonEmbeddingParameters / 1e6:F2}M non-embedding, {(double)m.NonEmbeddingParameters / t.NonEmbeddingParameters:P0} of the teacher's); " +
            $"dev {Pct(m.Dev)}, test {Pct(m.Test)}; batch-1 latency {m.LatencyMs:F1} ms ({t.LatencyMs / m.LatencyMs:F1}x faster than the teacher)"));
        var w = new ReportWriter($"distil distill: {plan.Name}")
            .KeyValues("Run", new[]
            {
                ("teacher", c.Teacher!), ("student", $"{c.Student}, init {c.Init}" + (AlbertStudents.IsAlbert(c.Student)
                    ? " (ALBERT: factorised embedding, layers share their group's weights; non-embedding excludes the E->H map)" : "")), ("preset", plan.Name),
                ("train", $"{c.Data.Train} ({data.TrainSet.Length} examples" + (augmented > 0
                    ? $", of which {augmented} augmented: TinyBERT word replacement, N {c.Augment.Copies}, p {c.Augment.P}, M {c.Augment.Candidates}, seed {c.Augment.Seed})" : ")")),
                ("settings", $"epochs {c.Training.Epochs} per stage, batch {c.Training.BatchSize}, lr {c.Training.LearningRate}, T {c.Temperature}, alpha {c.Alpha}, seed {c.Training.Seed}"),
                ("train time", $"{r.TrainSeconds:F1} s"),
            })
            .KeyValues("Teacher and student (latency: TorchSharp, batch 1, median)", rows)
            .MetricsTable("Student (best/) metrics", new List<(string, IReadOnlyDictionary<string, double>)> { ("dev", r.Student.Dev) }
                .Concat(r.Student.Test != null ? new[] { ("test", r.Student.Test) } : Array.Empty<(string, IReadOnlyDictionary<string, double>)>()).ToList())
            .Image("loss and dev accuracy of the last stage", plot);
        for (int k = 0; k < plan.Stages.Count; k++)
            w.Paragraph($"Stage {k + 1} matches:\n\n" + string.Join("\n", plan.Stages[k].Select(m => $"- {m.Summary}, weight {m.Weight:G4}")));
        w.Save(run.ReportPath);
    }
}
