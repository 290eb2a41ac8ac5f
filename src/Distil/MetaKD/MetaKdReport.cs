using System.Globalization;
using System.Text;
using Distil.Reports;

namespace Distil.MetaKD;

/// <summary>report.md of a `distil metakd` run: settings, the per-domain table in the paper's layout, a bar chart.</summary>
public static class MetaKdReport
{
    /// <summary>Paper layout: one row per "Teacher → Student", one column per domain, then Avg (test accuracy, %).</summary>
    public static string Table(IReadOnlyList<string> domains, IEnumerable<(string Name, IReadOnlyDictionary<string, string> Cells)> rows)
    {
        var sb = new StringBuilder("| Teacher → Student | " + string.Join(" | ", domains) + " | Avg |\n|---|" + string.Concat(domains.Select(_ => "---|")) + "---|\n");
        foreach (var (name, cells) in rows)
            sb.Append($"| {name} | ").Append(string.Join(" | ", domains.Append("Avg").Select(d => cells.TryGetValue(d, out var v) ? v : "-"))).Append(" |\n");
        return sb.ToString();
    }

    public static string Pct(double v) => double.IsNaN(v) ? "-" : (100 * v).ToString("F1", CultureInfo.InvariantCulture);

    public static IReadOnlyDictionary<string, string> Cells(MetaKdRow row) =>
        row.Accuracy.ToDictionary(p => p.Key, p => Pct(p.Value)).Append(new("Avg", Pct(row.Average))).ToDictionary();

    public static void Write(MetaKdConfig c, RunFolder run, MetaKdResult r)
    {
        string plot = "accuracy.png";
        Plot(r, Path.Combine(run.Dir, plot));
        string F(double s) => s.ToString("F0", CultureInfo.InvariantCulture);
        var w = new ReportWriter($"distil metakd: {r.Student.Name}")
            .KeyValues("Run", new[]
            {
                ("encoder (teachers fine-tuned from it)", c.Teacher!), ("teacher", $"{r.Teacher.Name} ({c.TeacherMode}{(c.FinetunedTeacher != null ? $", reused {c.FinetunedTeacher}" : "")})"),
                ("student", $"{c.Student}, init {c.Init}, {c.StudentScope}"), ("distillation", c.Distill),
                ("data", $"{c.Data.Train}: {r.Settings["train_rows"]} rows used (portion {c.DataPortion}){(c.HoldoutDomain != null ? $"; zero-shot: teacher trained without {c.HoldoutDomain}" : "")}"),
                ("settings", $"teacher {c.Training.Epochs} epochs lr {c.Training.LearningRate}; stage 1 {c.Stage1Epochs} epochs lr {c.Stage1LearningRate}; stage 2 {c.Stage2Epochs} epochs lr {c.Stage2LearningRate}; batch {c.Training.BatchSize}; max_seq_len {c.Data.MaxSeqLen}; gamma1 {c.Gamma1}, gamma2 {c.Gamma2}, T {c.Temperature}; seed {c.Training.Seed}"),
                ("wall time", $"teacher {F(r.Teacher.Seconds)} s, students {F(r.Student.Seconds)} s, whole run {F(r.TotalSeconds)} s (this session)"),
            })
            .Paragraph("## Test accuracy per domain (%)\n\n" + Table(r.Domains, new[] { (r.Teacher.Name + " (teacher)", Cells(r.Teacher)), (r.Student.Name, Cells(r.Student)) }))
            .Image("test accuracy per domain", plot)
            .Paragraph("Per-example weights: `prototype_scores.tsv` (column `weight` = transferability t(x)) and, for Meta-KD, " +
                       "`lambda.tsv` (t, the teacher's gold-label probability p_gold and λ = (1+t)/(1+exp((1-p_gold)²))). " +
                       "Each stage has its own folder with metrics.jsonl and training.png; `--resume` skips finished stages.");
        w.Save(run.ReportPath);
    }

    static void Plot(MetaKdResult r, string path)
    {
        var plot = new ScottPlot.Plot();
        var rows = new[] { r.Teacher, r.Student };
        var bars = new List<ScottPlot.Bar>();
        for (int d = 0; d < r.Domains.Count; d++)
            for (int k = 0; k < rows.Length; k++)
                bars.Add(new ScottPlot.Bar
                {
                    Position = d * (rows.Length + 1) + k, Value = 100 * rows[k].Accuracy.GetValueOrDefault(r.Domains[d]),
                    FillColor = k == 0 ? ScottPlot.Colors.SteelBlue : ScottPlot.Colors.Orange,
                });
        plot.Add.Bars(bars);
        plot.Axes.Bottom.SetTicks(r.Domains.Select((_, d) => d * (rows.Length + 1) + 0.5).ToArray(), r.Domains.ToArray());
        plot.YLabel("test accuracy (%)");
        plot.Title($"blue: {r.Teacher.Name}, orange: {r.Student.Name}");
        plot.Axes.SetLimitsY(0, 100);
        plot.SavePng(path, 800, 450);
    }
}
