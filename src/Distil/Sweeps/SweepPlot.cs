namespace Distil.Sweeps;

/// <summary>Cost against metric, one point per group with its sd as an error bar, the Pareto front joined by a line.</summary>
public static class SweepPlot
{
    public static void WritePareto(IReadOnlyList<SweepGroup> groups, string metric, string cost, string pngPath)
    {
        var points = groups.Where(g => g.Mean.HasValue && g.Cost.HasValue).ToList();
        var plot = new ScottPlot.Plot();
        foreach (var g in points)
        {
            var s = plot.Add.Scatter(new[] { g.Cost!.Value }, new[] { g.Mean!.Value });
            s.LegendText = g.Group;
            s.MarkerSize = 8;
            if (g.Sd is double sd && sd > 0) plot.Add.ErrorBar(new[] { g.Cost.Value }, new[] { g.Mean.Value }, new[] { sd });
        }
        var front = points.Where(g => g.OnFront).OrderBy(g => g.Cost).ToList();
        if (front.Count > 1)
        {
            var line = plot.Add.Scatter(front.Select(g => g.Cost!.Value).ToArray(), front.Select(g => g.Mean!.Value).ToArray());
            line.LegendText = "Pareto front";
            line.MarkerSize = 0;
        }
        plot.XLabel(cost);
        plot.YLabel(metric);
        plot.Title("Sweep: mean over seeds, sd as bars");
        plot.ShowLegend();
        plot.SavePng(pngPath, 900, 500);
    }
}
