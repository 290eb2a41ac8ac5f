using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Distil.Sweeps;

/// <summary>One group of trials (same settings, different seeds): the metric's mean and sample sd, the cost's mean.</summary>
public sealed record SweepGroup(string Group, int Trials, int Done, double? Mean, double? Sd, double? Cost)
{
    public bool OnFront { get; init; }
}

/// <summary>
/// The sweep's table: per group, mean +- sd (sample standard deviation, n - 1; 0 for one seed) of the metric over
/// the done trials, the mean cost, and whether the group is on the Pareto front (no other group has a higher mean
/// metric at a lower or equal mean cost).
/// </summary>
public static class SweepSummary
{
    public static IReadOnlyList<SweepGroup> Summarise(IReadOnlyList<SweepTrial> trials, string? metric, string? cost)
    {
        var groups = new List<SweepGroup>();
        foreach (var g in trials.GroupBy(t => t.Group))
        {
            var done = g.Where(t => t.IsDone).ToList();
            var values = metric == null ? [] : done.Select(t => Read(t, metric)).OfType<double>().ToList();
            var costs = cost == null ? [] : done.Select(t => Read(t, cost)).OfType<double>().ToList();
            groups.Add(new SweepGroup(g.Key, g.Count(), done.Count,
                values.Count > 0 ? values.Average() : null, values.Count > 0 ? Sd(values) : null, costs.Count > 0 ? costs.Average() : null));
        }
        return groups.Select(g => g with
        {
            OnFront = g.Mean is double m && g.Cost is double c &&
                      !groups.Any(o => o != g && o.Mean is double om && o.Cost is double oc && oc <= c && om >= m && (oc < c || om > m)),
        }).ToList();
    }

    public static double Sd(IReadOnlyList<double> v)
    {
        if (v.Count < 2) return 0;
        double mean = v.Average();
        return Math.Sqrt(v.Sum(x => (x - mean) * (x - mean)) / (v.Count - 1));
    }

    /// <summary>A number at a dotted path of a trial's result.json (keys compared case-insensitively), or null.</summary>
    public static double? Read(SweepTrial t, string path)
    {
        JsonNode? node;
        try { node = JsonNode.Parse(File.ReadAllText(Path.Combine(t.RunDir, SweepTrial.ResultFile))); }
        catch (Exception e) when (e is JsonException or IOException) { return null; }
        foreach (var part in path.Split('.'))
        {
            if (node is not JsonObject o) return null;
            node = o.FirstOrDefault(p => string.Equals(p.Key, part, StringComparison.OrdinalIgnoreCase)).Value;
        }
        return node is JsonValue v && v.TryGetValue<double>(out var d) ? d : null;
    }

    public static string Markdown(IReadOnlyList<SweepGroup> groups, string? metric, string? cost)
    {
        static string F(double? x, string fmt) => x is double d ? d.ToString(fmt, CultureInfo.InvariantCulture) : "-";
        var b = new StringBuilder();
        b.AppendLine($"| settings | done | {metric ?? "metric"} (mean ± sd) | {(cost != null ? cost + " | Pareto |" : "")}");
        b.AppendLine($"|---|---|---|{(cost != null ? "---|---|" : "")}");
        foreach (var g in groups)
            b.AppendLine($"| {g.Group} | {g.Done}/{g.Trials} | {(g.Mean is null ? "-" : $"{F(g.Mean, "F4")} ± {F(g.Sd, "F4")}")} |" +
                         (cost != null ? $" {F(g.Cost, "G6")} | {(g.OnFront ? "yes" : "")} |" : ""));
        return b.ToString();
    }
}
