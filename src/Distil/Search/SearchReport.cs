using System.Globalization;
using Distil.Data;
using Distil.Models;
using Distil.Reports;

namespace Distil.Search;

/// <summary>report.md of `distil search`: the run, teacher vs AdaBERT student, the derived cell and alpha heat-maps, op costs, probes.</summary>
internal static class SearchReport
{
    static string F(double v, string f = "F2") => v.ToString(f, CultureInfo.InvariantCulture);

    public static void Write(SearchConfig c, RunFolder run, SearchRunResult r, TaskData data, string alphaLog)
    {
        SearchPlots.AlphaOverTraining(alphaLog, Path.Combine(run.Dir, "alpha_ops.png"), Path.Combine(run.Dir, "alpha_depth.png"));
        SearchPlots.FinalAlpha(r.Search.Alpha, Path.Combine(run.Dir, "alpha_edges.png"));
        SearchPlots.Cell(r.Genotype, Path.Combine(run.Dir, "cell.png"));
        TrainingPlot.Write(run.MetricsPath, Path.Combine(run.Dir, "training.png"));
        string Pct(IReadOnlyDictionary<string, double>? m) => m != null && m.TryGetValue("accuracy", out var a) ? F(100 * a) + "%" : "-";
        var t = r.Teacher;
        var o = c.Search;
        var w = new ReportWriter("distil search: AdaBERT (differentiable architecture search of a CNN student)")
            .KeyValues("Run", new[]
            {
                ("teacher", c.Teacher!), ("train", $"{c.Data.Train} ({data.TrainSet.Length} examples), max length {c.Data.MaxSeqLen}"),
                ("search space", $"up to {o.KMax} cells, hidden {o.HiddenSize}, 3 nodes, 9 edges x 10 ops, alpha shared by all cells, {o.Pooling} pooling over tokens"),
                ("loss", $"(1 - {o.Gamma}) CE + {o.Gamma} probe KD + beta L_E, beta {o.Beta}" + (o.LatencyBudgetMs is double b ? $" (latency budget {b} ms)" : $" (measured op cost, {o.CostNormalisation} normalised)")),
                ("search", $"{c.SearchTraining.Epochs} epochs, batch {c.SearchTraining.BatchSize}, weights Adam lr {c.SearchTraining.LearningRate}, alpha Adam lr {o.ArchLearningRate}, " +
                           $"alpha frozen for the first {o.ArchWarmupRatio:P0} of steps, beta ramp over {o.BetaWarmupRatio:P0}, tau {o.TauStart} -> {o.TauEnd}, estimator {o.Estimator}, seed {c.SearchTraining.Seed}"),
                ("retrain", $"{c.Retrain.Training.Epochs} epochs, batch {c.Retrain.Training.BatchSize}, lr {c.Retrain.Training.LearningRate}, (1 - {c.Retrain.KdWeight}) CE + {c.Retrain.KdWeight} KD (T {c.Retrain.Temperature})"
                    + (c.Retrain.Augment.Copies > 0 ? $"; training rows + teacher-labelled TinyBERT word replacement (N {c.Retrain.Augment.Copies}, p {c.Retrain.Augment.P}, M {c.Retrain.Augment.Candidates})" : "; training rows")
                    + (c.Retrain.Transfer.Enabled ? $" + teacher-labelled transfer sentences of {c.Retrain.Transfer.Path}" + (c.Retrain.Transfer.MaxRows > 0 ? $" (at most {c.Retrain.Transfer.MaxRows})" : "") : "")),
                ("wall time", $"search {F(r.Search.Seconds, "F0")} s, retrain {F(r.RetrainSeconds, "F0")} s"),
                ("selected", $"search step {r.Search.Step}" + (r.Search.DevAccuracy is double d ? $" (supernet dev accuracy {F(100 * d)}%)" : "")),
            })
            .KeyValues("Teacher and AdaBERT student (latency: TorchSharp, batch 1, median of 50)", new[] { t, r.Student }.Select(m => (m.Name,
                $"{F(m.Parameters / 1e6)}M params ({F(m.NonEmbeddingParameters / 1e6)}M outside the embedding tables); dev {Pct(m.Dev)}, test {Pct(m.Test)}; " +
                $"batch-1 latency {F(m.LatencyMs)} ms ({F(t.LatencyMs / m.LatencyMs, "F1")}x faster than the teacher)")))
            .Paragraph($"**Derived architecture**: {r.Genotype.Depth} cells; " + r.Genotype)
            .Image("derived cell", "cell.png")
            .Image("op probabilities during the search", "alpha_ops.png")
            .Image("depth probabilities during the search", "alpha_depth.png")
            .Image("final op probabilities per edge", "alpha_edges.png")
            .KeyValues("Measured op cost (batch 1, ms)", SearchSpace.Ops.Select((op, i) => (op, $"{F(r.Costs.Milliseconds[i], "F3")} ms (normalised {F(r.Costs.Normalised(o.CostNormalisation)[i], "F3")})")))
            .KeyValues("Teacher probes (accuracy per layer; 0 = embeddings)", r.Probes.TrainAccuracy.Select((a, j) => ($"layer {j}",
                $"train {F(100 * a)}%" + (r.Probes.DevAccuracy != null ? $", dev {F(100 * r.Probes.DevAccuracy[j])}%" : ""))))
            .MetricsTable("Student (best/) metrics", new List<(string, IReadOnlyDictionary<string, double>)> { ("dev", r.Student.Dev) }
                .Concat(r.Student.Test != null ? new[] { ("test", r.Student.Test) } : Array.Empty<(string, IReadOnlyDictionary<string, double>)>()).ToList())
            .Image("retraining: loss and dev accuracy", "training.png");
        w.Save(run.ReportPath);
    }
}
