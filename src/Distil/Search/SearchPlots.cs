using System.Text.Json.Nodes;
using Distil.Models;
using ScottPlot;

namespace Distil.Search;

/// <summary>The report's pictures: op and depth probabilities over the search (heat-maps) and the derived cell.</summary>
public static class SearchPlots
{
    sealed record AlphaRow(long Step, double[][] Ops, double[] Depth);

    static List<AlphaRow> Read(string alphaLog) => File.Exists(alphaLog)
        ? File.ReadLines(alphaLog).Select(l => JsonNode.Parse(l)!).Select(o => new AlphaRow(o["step"]!.GetValue<long>(),
            o["ops"]!.AsArray().Select(r => r!.AsArray().Select(v => v!.GetValue<double>()).ToArray()).ToArray(),
            o["depth"]!.AsArray().Select(v => v!.GetValue<double>()).ToArray())).ToList()
        : new List<AlphaRow>();

    /// <summary>Heat-maps over the search: softmax(alpha) per op (mean over the 9 edges) and softmax(alpha_depth) per depth.</summary>
    public static void AlphaOverTraining(string alphaLog, string opsPng, string depthPng)
    {
        var rows = Read(alphaLog);
        if (rows.Count == 0) return;
        var ops = new double[SearchSpace.Ops.Count, rows.Count];
        for (int c = 0; c < rows.Count; c++)
            for (int o = 0; o < SearchSpace.Ops.Count; o++)
                ops[o, c] = rows[c].Ops.Average(edge => edge[o]);
        Heat(ops, SearchSpace.Ops.ToArray(), rows[^1].Step, "op probability (mean over edges) during the search", "search step", opsPng);
        int kMax = rows[0].Depth.Length;
        var depth = new double[kMax, rows.Count];
        for (int c = 0; c < rows.Count; c++)
            for (int k = 0; k < kMax; k++) depth[k, c] = rows[c].Depth[k];
        Heat(depth, Enumerable.Range(1, kMax).Select(k => $"{k} cells").ToArray(), rows[^1].Step, "depth probability during the search", "search step", depthPng);
    }

    /// <summary>Final softmax(alpha): one row per edge, one column per op.</summary>
    public static void FinalAlpha(float[][] alpha, string png)
    {
        var probs = alpha.Select(r => { double m = r.Max(); var e = r.Select(v => Math.Exp(v - m)).ToArray(); double s = e.Sum(); return e.Select(v => v / s).ToArray(); }).ToArray();
        var data = new double[probs.Length, SearchSpace.Ops.Count];
        for (int e = 0; e < probs.Length; e++)
            for (int o = 0; o < SearchSpace.Ops.Count; o++) data[e, o] = probs[e][o];
        var plot = new Plot();
        var edgeNames = SearchSpace.Edges.Select(e => $"{Genotype.Name(e.Source)} -> {Genotype.Name(e.Target)}").ToArray();
        Grid(plot, data, edgeNames, SearchSpace.Ops.Count);
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            Enumerable.Range(0, SearchSpace.Ops.Count).Select(o => o + 0.5).ToArray(), SearchSpace.Ops.ToArray());
        plot.Title($"final op probabilities per edge (softmax alpha, all cells); dark {Min(data):F3} .. bright {Max(data):F3}");
        plot.SavePng(png, 900, 500);
    }

    static void Heat(double[,] data, string[] rowNames, long lastStep, string title, string xLabel, string png)
    {
        var plot = new Plot();
        Grid(plot, data, rowNames, lastStep);
        plot.XLabel(xLabel);
        plot.Title($"{title}; dark {Min(data):F3} .. bright {Max(data):F3}");
        plot.SavePng(png, 900, 450);
    }

    static double Min(double[,] d) => d.Cast<double>().Min();
    static double Max(double[,] d) => d.Cast<double>().Max();

    /// <summary>
    /// A heat-map drawn as rectangles (explicit geometry: row r spans y in [rows - r - 1, rows - r], columns share the
    /// width evenly), Viridis colours scaled from the smallest to the largest value.
    /// </summary>
    static void Grid(Plot plot, double[,] data, string[] rowNames, double width)
    {
        int rows = data.GetLength(0), cols = data.GetLength(1);
        double lo = Min(data), hi = Max(data), w = width / cols;
        var map = new ScottPlot.Colormaps.Viridis();
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
            {
                var rect = plot.Add.Rectangle(c * w, (c + 1) * w, rows - r - 1, rows - r);
                var color = map.GetColor(hi > lo ? (data[r, c] - lo) / (hi - lo) : 0.5);
                rect.FillColor = color;
                rect.LineColor = color;
            }
        plot.Axes.Left.TickGenerator = Ticks(rowNames, rows);
        plot.Axes.SetLimits(0, width, 0, rows);
    }

    /// <summary>Row r of a heat-map is drawn at the top first: its centre is at y = rows - r - 0.5.</summary>
    static ScottPlot.TickGenerators.NumericManual Ticks(string[] names, int rows) =>
        new(Enumerable.Range(0, names.Length).Select(r => rows - r - 0.5).ToArray(), names);

    /// <summary>The derived cell as a graph: inputs on the left, the 3 nodes, the blended output; each edge labelled with its op.</summary>
    public static void Cell(Genotype g, string png)
    {
        var plot = new Plot();
        var at = new Dictionary<int, Coordinates>
        {
            [0] = new(0, 1.2), [1] = new(0, -1.2), [2] = new(2.5, 1.0), [3] = new(4.5, -1.0), [4] = new(6.5, 1.0),
        };
        var output = new Coordinates(8.5, 0);
        foreach (var (edge, target) in g.Edges)
        {
            var a = at[edge.Input];
            var b = at[target];
            var arrow = plot.Add.Arrow(a, b);
            arrow.ArrowLineWidth = 1.5f;
            var mid = new Coordinates((a.X + b.X) / 2, (a.Y + b.Y) / 2 + (edge.Input == 0 && target == 4 ? 0.45 : 0));
            var label = plot.Add.Text(edge.Op, mid);
            label.LabelFontSize = 13;
            label.LabelBackgroundColor = Colors.White;
            label.LabelAlignment = Alignment.MiddleCenter;
        }
        foreach (int j in new[] { 2, 3, 4 })
        {
            var arrow = plot.Add.Arrow(at[j], output);
            arrow.ArrowLineColor = Colors.Gray;
            arrow.ArrowFillColor = Colors.Gray;
        }
        foreach (var (node, c) in at.Append(new KeyValuePair<int, Coordinates>(-1, output)))
        {
            plot.Add.Marker(c, MarkerShape.FilledCircle, 42, node < 0 ? Colors.Orange : node < 2 ? Colors.LightGray : Colors.LightBlue);
            var t = plot.Add.Text(node < 0 ? "out" : Genotype.Name(node), c);
            t.LabelFontSize = 14;
            t.LabelBold = true;
            t.LabelAlignment = Alignment.MiddleCenter;
        }
        plot.Axes.SetLimits(-1, 9.5, -2.2, 2.2);
        plot.HideGrid();
        plot.Axes.Frameless();
        plot.Title($"derived cell (x{g.Depth}: every cell has this topology; out = softmax-weighted sum of n2, n3, n4)");
        plot.SavePng(png, 1000, 420);
    }
}
