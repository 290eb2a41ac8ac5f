using Distil.Pipelines;
using Spectre.Console;

namespace Distil.Cli;

/// <summary>The teacher-vs-student table every comparing command prints: size, dev and test accuracy, batch-1 latency.</summary>
public static class ModelTable
{
    /// <param name="nonEmbedding">The header of the non-embedding parameter column (what "outside the tables" means for the model).</param>
    /// <param name="latencyDigits">Decimals of the latency (sub-millisecond CNN students need 2).</param>
    public static void Print(IEnumerable<ModelSummary> rows, string nonEmbedding = "non-embedding", int latencyDigits = 1)
    {
        // Extractive QA rows have SQuAD F1 (already in percent); token, regression and multi-label rows their headline metric.
        static string Pct(IReadOnlyDictionary<string, double>? m) =>
            m == null ? "-" : m.TryGetValue("accuracy", out var a) ? $"{100 * a:F2}%"
            : m.ContainsKey("exact") && m.TryGetValue("f1", out var f1) ? $"F1 {f1:F2}"
            : Headline(m) is var (k, v) ? $"{k} {100 * v:F2}" : "-";
        var table = new Table().AddColumns("model", "parameters", nonEmbedding, "dev acc", "test acc", "batch-1 ms");
        foreach (var m in rows)
            table.AddRow(Markup.Escape(m.Name), $"{m.Parameters / 1e6:F2}M", $"{m.NonEmbeddingParameters / 1e6:F2}M", Pct(m.Dev), Pct(m.Test),
                m.LatencyMs.ToString("F" + latencyDigits, System.Globalization.CultureInfo.InvariantCulture));
        AnsiConsole.Write(table);
    }

    /// <summary>The headline metric of a token, regression or multi-label split (entity F1, Pearson, micro F1).</summary>
    public static (string Key, double Value)? Headline(IReadOnlyDictionary<string, double> m) =>
        new[] { "f1", "pearson", "micro_f1" }.Where(m.ContainsKey).Select(k => ((string, double)?)(k, m[k])).FirstOrDefault();
}
