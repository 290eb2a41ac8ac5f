namespace Distil.Reports;

/// <summary>Loss and dev metric curves of a run as a PNG (what a person would rather look at than read).</summary>
public static class TrainingPlot
{
    public static void Write(string metricsPath, string pngPath, string metric = "accuracy")
    {
        var (train, eval) = MetricsLog.Read(metricsPath);
        // Multi-stage runs restart their step count: plot the last stage (the one that produced best/).
        double? last = train.Concat(eval).Where(r => r.ContainsKey("stage")).Select(r => (double?)r["stage"]).Max();
        if (last is double k)
        {
            train = train.Where(r => r.GetValueOrDefault("stage") == k).ToList();
            eval = eval.Where(r => r.GetValueOrDefault("stage") == k).ToList();
        }
        var plot = new ScottPlot.Plot();
        var steps = train.Where(r => r.ContainsKey("loss")).ToArray();
        if (steps.Length > 0)
        {
            var loss = plot.Add.Scatter(steps.Select(r => r["step"]).ToArray(), steps.Select(r => r["loss"]).ToArray());
            loss.LegendText = "train loss";
            loss.MarkerSize = 0;
        }
        plot.YLabel("train loss");
        plot.XLabel("step");
        var evals = eval.Where(r => r.ContainsKey(metric)).ToArray();
        if (evals.Length > 0)
        {
            var dev = plot.Add.Scatter(evals.Select(r => r["step"]).ToArray(), evals.Select(r => r[metric]).ToArray());
            dev.LegendText = $"dev {metric}";
            dev.Axes.YAxis = plot.Axes.Right;
            plot.Axes.Right.Label.Text = $"dev {metric}";
            plot.Axes.SetLimitsY(0, 1.02, plot.Axes.Right);
        }
        plot.Title("Training");
        plot.ShowLegend();
        plot.SavePng(pngPath, 800, 450);
    }
}
