using System.Globalization;
using System.Text;

namespace Distil.Reports;

/// <summary>report.md of a run: what was run, the headline metrics per split (and per domain), the plot.</summary>
public sealed class ReportWriter
{
    readonly StringBuilder md = new();

    public ReportWriter(string title) => md.AppendLine($"# {title}").AppendLine();

    public ReportWriter Paragraph(string text)
    {
        md.AppendLine(text).AppendLine();
        return this;
    }

    public ReportWriter KeyValues(string heading, IEnumerable<(string Key, string Value)> rows)
    {
        md.AppendLine($"## {heading}").AppendLine().AppendLine("| | |").AppendLine("|---|---|");
        foreach (var (k, v) in rows) md.AppendLine($"| {k} | {v} |");
        md.AppendLine();
        return this;
    }

    /// <summary>One row per split, one column per metric (the union of the splits' metric names, in first-seen order).</summary>
    public ReportWriter MetricsTable(string heading, IReadOnlyList<(string Split, IReadOnlyDictionary<string, double> Metrics)> splits)
    {
        var names = splits.SelectMany(s => s.Metrics.Keys).Distinct().ToArray();
        md.AppendLine($"## {heading}").AppendLine();
        md.AppendLine("| split | " + string.Join(" | ", names) + " |");
        md.AppendLine("|---|" + string.Concat(names.Select(_ => "---|")));
        foreach (var (split, m) in splits)
            md.AppendLine($"| {split} | " + string.Join(" | ", names.Select(n => m.TryGetValue(n, out var v) ? Format(n, v) : "")) + " |");
        md.AppendLine();
        return this;
    }

    public ReportWriter Image(string alt, string relativePath)
    {
        md.AppendLine($"![{alt}]({relativePath})").AppendLine();
        return this;
    }

    public void Save(string path) => RunFolder.WriteAtomic(path, md.ToString());

    static string Format(string metric, double v) =>
        metric.Contains("loss") || metric.Contains("seconds") || metric == "mcc" ? v.ToString("F4", CultureInfo.InvariantCulture)
        : metric == "examples" ? v.ToString("F0", CultureInfo.InvariantCulture)
        : (100 * v).ToString("F2", CultureInfo.InvariantCulture) + "%";
}
