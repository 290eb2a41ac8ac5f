using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Distil.Native;
using Distil.Onnx;

namespace Distil.Deploy;

/// <summary>The bench's outputs: bench.json (every row and setting), bench.md (the table + ratios) and pareto.png.</summary>
public static class BenchReport
{
    public const string JsonFile = "bench.json", MarkdownFile = "bench.md", PlotFile = "pareto.png";

    /// <summary>Writes the three files into <paramref name="dir"/>; returns the Markdown.</summary>
    public static string Write(IReadOnlyList<BenchRow> rows, BenchOptions o, string dir, JsonObject meta)
    {
        Directory.CreateDirectory(dir);
        var m = MachineInfo.Current;
        var withCpu = meta.DeepClone().AsObject();
        withCpu["cpu"] ??= m.Header();
        withCpu["cpu_model"] ??= m.Model;
        withCpu["vector_extensions"] ??= new JsonArray(m.VectorExtensions.Select(e => (JsonNode?)JsonValue.Create(e)).ToArray());
        withCpu["int8_isa"] ??= m.Int8Isa;
        meta = withCpu;
        var json = new JsonObject
        {
            ["meta"] = meta.DeepClone(),
            ["rows"] = JsonSerializer.SerializeToNode(rows, OnnxExport.ReportJson),
        };
        File.WriteAllText(Path.Combine(dir, JsonFile), json.ToJsonString(OnnxExport.ReportJson));
        string md = Markdown(rows, o, meta);
        File.WriteAllText(Path.Combine(dir, MarkdownFile), md);
        if (rows.Any(r => r.Accuracy != null)) Pareto(rows, o, Path.Combine(dir, PlotFile));
        return md;
    }

    static string F(double v, string format = "F2") => v.ToString(format, CultureInfo.InvariantCulture);

    public static string Markdown(IReadOnlyList<BenchRow> rows, BenchOptions o, JsonObject meta)
    {
        var md = new StringBuilder();
        // The CPU first: int8 and fp32 speed-ups depend on its vector extensions (docs/quantization.md §Targets per ISA).
        md.AppendLine(meta["cpu"]?.GetValue<string>() ?? MachineInfo.Current.Header()).AppendLine();
        md.AppendLine($"`{meta["command"]}`").AppendLine();
        md.AppendLine($"{meta["date_utc"]}, {meta["machine"]}" + (meta["load_average_before"] is { } load ? $" (load average {load} before, {meta["load_average_after"]} after)" : "") + $"; {o.Threads} thread(s) per engine, " + (o.Threads == 1 ? "all rows timed interleaved (one call of each model in turn). " : "one model at a time (ONNX Runtime rows first). ") +
            $"Latency: batch 1, random ids of exactly that length, p50 / p95 of {o.LatencyRuns} runs after {o.Warmup} warm-up runs; " +
            $"throughput: batch {o.ThroughputBatch} x {o.ThroughputSeqLen}, median of {o.ThroughputRuns} runs." +
            (o.DataPath != null ? $" Accuracy: {Path.GetFileName(o.DataPath)}, max length {o.MaxSeqLen}." : "")).AppendLine();
        var seqs = o.LatencySeqLens;
        md.Append("| model | engine | precision | parameters | file MB |");
        foreach (int s in seqs) md.Append($" b1 s{s} p50 / p95 ms |");
        md.AppendLine($" b{o.ThroughputBatch} s{o.ThroughputSeqLen} seq/s | accuracy |");
        md.AppendLine("|---|---|---|---|---|" + string.Concat(seqs.Select(_ => "---|")) + "---|---|");
        foreach (var r in rows)
        {
            md.Append($"| {r.Model} | {r.Engine} | {r.Precision} | {F(r.Parameters / 1e6)}M | {F(r.FileBytes / 1e6, "F1")} |");
            foreach (int s in seqs) md.Append(r.LatencyAt(s) is { } l ? $" {F(l.P50Ms)} / {F(l.P95Ms)} |" : " - |");
            md.AppendLine($" {F(r.SequencesPerSecond, "F1")} | {(r.Accuracy is double a ? F(100 * a) + "%" : "-")} |");
        }

        var ratios = new StringBuilder();
        // A model's rows: TorchSharp, and per ONNX graph form ("kd", "kd (fused)") its fp32 and int8 rows.
        foreach (var group in rows.GroupBy(r => r.Model.Replace(" (fused)", "")))
        {
            var torch = group.FirstOrDefault(r => r.Engine == InferenceBench.TorchSharpEngine);
            foreach (var form in group.Where(r => r.Engine == InferenceBench.OnnxRuntime).GroupBy(r => r.Model))
            {
                var onnx = form.FirstOrDefault(r => r.Precision == "fp32");
                if (onnx == null) continue;
                if (torch != null)
                    ratios.AppendLine($"| {form.Key} | ONNX fp32 vs TorchSharp fp32 |" + string.Concat(seqs.Select(s => $" {Speedup(torch, onnx, s)} |")) +
                        $" {F(onnx.SequencesPerSecond / torch.SequencesPerSecond)}x | {Delta(onnx, torch)} |");
                foreach (var q in form.Where(r => r.Precision.StartsWith("int8", StringComparison.Ordinal)))
                    ratios.AppendLine($"| {form.Key} | ONNX {q.Precision} vs ONNX fp32 |" + string.Concat(seqs.Select(s => $" {Speedup(onnx, q, s)} |")) +
                        $" {F(q.SequencesPerSecond / onnx.SequencesPerSecond)}x | {Delta(q, onnx)} |");
            }
        }
        if (ratios.Length > 0)
        {
            md.AppendLine().AppendLine("Speed-ups (p50 latency ratio, throughput ratio) and accuracy difference in points, same weights:").AppendLine();
            md.AppendLine("| model | comparison |" + string.Concat(seqs.Select(s => $" b1 s{s} |")) + $" b{o.ThroughputBatch} s{o.ThroughputSeqLen} | accuracy |");
            md.AppendLine("|---|---|" + string.Concat(seqs.Select(_ => "---|")) + "---|---|");
            md.Append(ratios);
        }
        return md.ToString();
    }

    /// <summary>How many times faster <paramref name="fast"/> is than <paramref name="slow"/> at batch 1 (p50).</summary>
    static string Speedup(BenchRow slow, BenchRow fast, int seq) =>
        slow.LatencyAt(seq) is { } a && fast.LatencyAt(seq) is { } b ? F(a.P50Ms / b.P50Ms) + "x" : "-";

    static string Delta(BenchRow row, BenchRow reference) =>
        row.Accuracy is double a && reference.Accuracy is double b ? (100 * (a - b)).ToString("+0.00;-0.00;0.00", CultureInfo.InvariantCulture) : "-";

    /// <summary>A point of pareto.png: a row's batch-1 p50 latency (ms) at the longest measured length and its accuracy (%).</summary>
    public sealed record ParetoPoint(BenchRow Row, double X, double Y, bool OnFront);

    /// <summary>
    /// The points pareto.png draws, fastest first: every row with an accuracy and a latency at the longest measured
    /// length; OnFront marks the Pareto front (each point more accurate than every faster one).
    /// </summary>
    public static IReadOnlyList<ParetoPoint> ParetoPoints(IReadOnlyList<BenchRow> rows, BenchOptions o)
    {
        int seq = o.LatencySeqLens.Max();
        var sorted = rows.Where(r => r.Accuracy != null && r.LatencyAt(seq) != null)
            .Select(r => (Row: r, X: r.LatencyAt(seq)!.P50Ms, Y: 100 * r.Accuracy!.Value)).OrderBy(p => p.X).ThenByDescending(p => p.Y).ToList();
        var points = new List<ParetoPoint>();
        double best = double.NegativeInfinity;
        foreach (var p in sorted)
        {
            points.Add(new ParetoPoint(p.Row, p.X, p.Y, p.Y > best));
            best = Math.Max(best, p.Y);
        }
        return points;
    }

    /// <summary>Accuracy vs batch-1 latency at the longest measured length; the Pareto front (no row both faster and more accurate) as a line.</summary>
    static void Pareto(IReadOnlyList<BenchRow> rows, BenchOptions o, string path)
    {
        int seq = o.LatencySeqLens.Max();
        var points = ParetoPoints(rows, o);
        double maxX = points.Max(p => p.X);
        var plot = new ScottPlot.Plot();
        var palette = new ScottPlot.Palettes.Category10();
        int colour = 0;
        var labelled = new List<(double X, double Y)>();
        foreach (var group in points.GroupBy(p => p.Row.Model))
        {
            var color = palette.GetColor(colour++);
            foreach (var p in group)
            {
                // Rows with the same accuracy and close latency (the int8 forms) would print over each other: stack them.
                int stacked = labelled.Count(l => Math.Abs(l.Y - p.Y) < 0.15 && Math.Abs(l.X - p.X) < 0.25 * maxX);
                labelled.Add((p.X, p.Y));
                var marker = plot.Add.Marker(p.X, p.Y, p.Row.Engine == InferenceBench.TorchSharpEngine ? ScottPlot.MarkerShape.OpenSquare
                    : p.Row.Precision == "fp32" ? ScottPlot.MarkerShape.FilledCircle : ScottPlot.MarkerShape.FilledTriangleUp, 10, color);
                var text = plot.Add.Text(p.Row.Label, p.X, p.Y);
                text.LabelFontSize = 11;
                text.LabelFontColor = color;
                text.OffsetX = 6;
                text.OffsetY = -4 - 14 * stacked;
            }
        }
        var front = points.Where(p => p.OnFront).Select(p => (p.X, p.Y)).ToList();
        if (front.Count > 1)
        {
            var line = plot.Add.Scatter(front.Select(p => p.X).ToArray(), front.Select(p => p.Y).ToArray());
            line.MarkerSize = 0;
            line.LinePattern = ScottPlot.LinePattern.Dashed;
            line.Color = ScottPlot.Colors.Gray;
            line.LegendText = "Pareto front";
        }
        plot.XLabel($"batch-1 latency at {seq} tokens, p50 (ms), {o.Threads} thread(s)");
        plot.YLabel("accuracy (%)");
        plot.Title("Accuracy vs latency (square: TorchSharp, circle: ONNX fp32, triangle: ONNX int8)");
        double minY = points.Min(p => p.Y), maxY = points.Max(p => p.Y);
        plot.Axes.SetLimits(0, maxX * 1.35 + 1, Math.Floor(minY - 1.5), Math.Ceiling(maxY + 1));
        plot.SavePng(path, 1000, 600);
    }
}
