using System.Globalization;
using Distil.Checkpoints;
using Distil.Data;
using Distil.Models;
using Distil.Reports;
using TorchSharp;

namespace Distil.FineTune;

/// <summary>report.md of `distil finetune`: the run, the metrics of best/, the training plot and skipped rows.</summary>
internal static class FineTuneReport
{
    public static void Write(FineTuneConfig c, RunFolder run, FineTuneResult r, LoadReport load, TaskData data, bool resumed, string memory)
    {
        var (train, dev, test, labels, domains) = (data.Train, data.Dev, data.Test, data.Labels, data.Domains);
        string plot = "training.png";
        TrainingPlot.Write(run.MetricsPath, Path.Combine(run.Dir, plot));
        string F(double v) => v.ToString("F1", CultureInfo.InvariantCulture);
        var w = new ReportWriter("distil finetune")
            .KeyValues("Run", new[]
            {
                ("model", c.Model!), ("task", data.Task.Name()), ("train", $"{c.Data.Train} ({data.TrainSet.Length} examples, {train.SkippedRows} bad rows skipped)"),
                ("dev", dev != null ? $"{c.Data.Dev} ({dev.Count} examples)" : "none"), ("test", test != null ? $"{c.Data.Test} ({test.Count} examples)" : "none"),
                ("labels", string.Join(", ", labels.Names)), ("domains", domains.Count > 0 ? string.Join(", ", domains.Names) : "none"),
                ("newly initialised", load.Missing.Count > 0 ? string.Join(", ", load.Missing) : "nothing"),
                ("steps", r.Steps.ToString(CultureInfo.InvariantCulture)), ("train time", $"{F(r.TrainSeconds)} s{(resumed ? " (this session, after resume)" : "")}"),
                ("time per epoch", $"{F(r.SecondsPerEpoch)} s"),
                ("settings", $"epochs {c.Training.Epochs}, batch {c.Training.BatchSize}, lr {c.Training.LearningRate}, max_seq_len {c.Data.MaxSeqLen}, pooling {c.Pooling ?? "model default"}, seed {c.Training.Seed}, threads {torch.get_num_threads()}"),
                ("memory", memory),
            })
            .MetricsTable("Metrics of best/", r.Splits.Select(m => (m.Split, m.Metrics)).ToList())
            .Image("loss and dev accuracy", plot);
        if (train.SkippedRows > 0) w.Paragraph("Skipped rows (first reasons):\n\n" + string.Join("\n", train.SkipReasons.Take(10).Select(s => $"- {s}")));
        w.Save(run.ReportPath);
    }
}
