using System.Globalization;
using System.Text.Json.Nodes;
using Distil.Augment.L2A;

namespace Distil.Bench.Summaries;

/// <summary>
/// bench/l2a.sh's table: WORK/*/result.json of `distil l2a` (+ wall_seconds) -> OUT.md and OUT.json: per target and data
/// portion, each arm's student test accuracy, mean ± sample sd over seeds, beside the teacher's; then bench/l2a.notes.md.
/// </summary>
public static class L2aSummary
{
    public static readonly string[] Arms = ["none", "eda", "tinybert", "pool", "l2a"];

    public sealed record Run(Loaded<L2aResultFile> Result, int? WallSeconds)
    {
        public L2aResultFile R => Result.Value;
    }

    public static IReadOnlyList<Run> Read(string work) =>
        Directory.EnumerateDirectories(work).Select(d => Path.GetFileName(d)!).Order(StringComparer.Ordinal)
            .Where(n => File.Exists(Path.Combine(work, n, "result.json")))
            .Select(n =>
            {
                string wall = Path.Combine(work, n, "wall_seconds");
                return new Run(RunFiles.Load<L2aResultFile>(Path.Combine(work, n, "result.json")),
                    File.Exists(wall) ? int.Parse(File.ReadAllText(wall).Trim(), CultureInfo.InvariantCulture) : null);
            }).ToList();

    /// <summary>100 x mean, and ± 100 x sd with more than one value; arms that could not be measured (NaN) are left out.</summary>
    public static string MeanSd(IEnumerable<double> values)
    {
        var v = values.Where(double.IsFinite).ToList();
        if (v.Count == 0) return "-";
        double m = 100 * Py.MeanValue(v);
        return Py.Fixed(m, 2) + (v.Count > 1 ? " ± " + Py.Fixed(100 * Py.Stdev(v), 2) : "");
    }

    /// <summary>str() of a number Python read from a file System.Text.Json wrote (0.05, but 1 for a whole number).</summary>
    static string Str(double x) => Py.ReadsAsInt(x) ? ((long)x).ToString(CultureInfo.InvariantCulture) : Py.Repr(x);

    public static IReadOnlyList<string> Table(IReadOnlyList<Run> runs)
    {
        var keys = runs.Select(r => (r.R.Target, r.R.DataPortion)).Distinct()
            .OrderBy(k => k.Target, StringComparer.Ordinal).ThenBy(k => k.DataPortion).ToList();
        var lines = new List<string>
        {
            "# L2A on data/uci-sentiment (bench/l2a.sh)", "",
            "Student test accuracy (%) on the target domain, mean ± sd over seeds; the teacher is the same for every arm.", "",
            "| target | portion | seeds | target rows | " + string.Join(" | ", Arms) + " | teacher |", "|" + string.Concat(Enumerable.Repeat("---|", Arms.Length + 5)),
        };
        foreach (var key in keys)
        {
            var rows = runs.Where(r => (r.R.Target, r.R.DataPortion) == key).ToList();
            var arms = rows.SelectMany(r => r.R.Arms).ToList();
            lines.Add($"| {key.Target} | {Str(key.DataPortion)} | {rows.Count} | {rows[0].R.TargetRows} | " +
                      string.Join(" | ", Arms.Select(a => MeanSd(arms.Where(x => x.Name == a).Select(x => x.TestAccuracy)))) +
                      $" | {MeanSd(rows.Select(r => r.R.Arms[0].TeacherTestAccuracy))} |");
        }
        lines.AddRange(["", "| run | seed | generated | pool | selected | wall s |", "|---|---|---|---|---|---|"]);
        foreach (var r in runs)
            lines.Add($"| {r.R.Target} {Str(r.R.DataPortion)} | {r.R.Seed} | {r.R.Generated} | {r.R.Pool} | {r.R.Selected} | {(r.WallSeconds is int w ? w.ToString(CultureInfo.InvariantCulture) : "None")} |");
        return lines;
    }

    public static int Summarize(string[] args)
    {
        var a = args.ToList();
        string notes = "bench/l2a.notes.md"; // the reading of the numbers, kept beside the bench script
        int i = a.IndexOf("--notes");
        if (i >= 0 && i + 1 < a.Count) { notes = a[i + 1]; a.RemoveRange(i, 2); }
        if (a.Count < 2) { Console.Error.WriteLine("usage: summarize l2a WORK OUT_PREFIX [--notes FILE]"); return 2; }
        string work = a[0], @out = a[1];
        var runs = Read(work);
        var lines = Table(runs);
        File.WriteAllText(Path.ChangeExtension(@out, ".md"), CpuHeader.Prepend(string.Join("\n", lines) + "\n" + (File.Exists(notes) ? "\n" + File.ReadAllText(notes) : "")));
        var json = PyJson.Array(runs.Select(r =>
        {
            var o = r.Result.Raw.DeepClone().AsObject();
            o["wall_seconds"] = r.WallSeconds is int w ? PyJson.Int(w) : null;
            return (JsonNode?)o;
        }));
        File.WriteAllText(Path.ChangeExtension(@out, ".json"), PyJson.Write(json, 2));
        Console.WriteLine(string.Join("\n", lines));
        return 0;
    }
}
