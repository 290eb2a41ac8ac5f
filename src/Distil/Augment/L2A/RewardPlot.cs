namespace Distil.Augment.L2A;

/// <summary>The selector's reward per step, its moving-average baseline, and the mean π(keep), as a PNG.</summary>
public static class RewardPlot
{
    public static void Write(IReadOnlyList<SelectorStep> history, string pngPath)
    {
        var plot = new ScottPlot.Plot();
        double[] x = history.Select(h => (double)h.Step).ToArray();
        var reward = plot.Add.Scatter(x, history.Select(h => h.Reward).ToArray());
        reward.LegendText = "reward (held-out loss drop x scale)";
        reward.LineWidth = 0;
        var baseline = plot.Add.Scatter(x, history.Select(h => h.Baseline).ToArray());
        baseline.LegendText = "baseline (moving average)";
        baseline.MarkerSize = 0;
        var keep = plot.Add.Scatter(x, history.Select(h => h.MeanKeep).ToArray());
        keep.LegendText = "mean π(keep) of the batch";
        keep.MarkerSize = 0;
        keep.Axes.YAxis = plot.Axes.Right;
        plot.Axes.Right.Label.Text = "π(keep)";
        plot.Axes.SetLimitsY(0, 1.02, plot.Axes.Right);
        plot.XLabel("selector step");
        plot.YLabel("reward");
        plot.Title("L2A reinforced selector");
        plot.ShowLegend();
        plot.SavePng(pngPath, 800, 450);
    }
}
