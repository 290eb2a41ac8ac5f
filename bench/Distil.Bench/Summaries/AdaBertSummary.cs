using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Distil.Augment.L2A;
using Distil.Distillation;
using Distil.Pipelines;
using Distil.Search;

namespace Distil.Bench.Summaries;

/// <summary>
/// bench/adabert/run.sh's table: the result.json of `distil search` runs (one per seed) -> RESULTS.{json,table.md}
/// (RESULTS defaults to bench/results/adabert) with the issue's targets. A run's RUN.time (run.sh's /usr/bin/time line)
/// adds its CPU seconds: single-threaded, that is its wall time on a quiet machine, the fair figure for the 30-minute
/// target when the machine is shared.
/// </summary>
public static partial class AdaBertSummary
{
    public sealed record ProcessTime(double Wall, double Cpu);

    public sealed record Run(string Path, Loaded<SearchResultFile> Result, ProcessTime? Time)
    {
        public SearchResultFile R => Result.Value;
    }

    [GeneratedRegex(@"([0-9.]+) wall s, ([0-9.]+) user s, ([0-9.]+) sys s")]
    private static partial Regex TimeLine();

    public static ProcessTime? CpuSeconds(string run)
    {
        string f = run.TrimEnd('/') + ".time";
        if (!File.Exists(f)) return null;
        var m = TimeLine().Match(File.ReadAllText(f));
        if (!m.Success) return null;
        double P(int g) => double.Parse(m.Groups[g].Value, CultureInfo.InvariantCulture);
        return new ProcessTime(P(1), P(2) + P(3));
    }

    /// <summary>100 x accuracy (NaN when the split is missing); an int in Python when the accuracy was one (0 or 1).</summary>
    static (double Value, bool IsInt) Acc(ModelSummary m, string split)
    {
        var metrics = split == "Test" ? m.Test : m.Dev;
        if (metrics is not { Count: > 0 }) return (double.NaN, false);
        double v = metrics["accuracy"];
        return (100 * v, Py.ReadsAsInt(v));
    }

    static JsonNode Node((double Value, bool IsInt) x) => PyJson.Of(x);

    static ((double Value, bool IsInt) Mean, double Sd) MeanSd(IReadOnlyList<(double Value, bool IsInt)> xs) =>
        (Py.Mean(xs.Select(x => x.Value).ToList(), xs.Select(x => x.IsInt).ToList()), xs.Count > 1 ? Py.Stdev(xs.Select(x => x.Value).ToList()) : 0.0);

    static JsonArray Pair(((double Value, bool IsInt) Mean, double Sd) ms) => PyJson.Array([Node(ms.Mean), PyJson.Float(ms.Sd)]);

    static JsonArray Raw(IEnumerable<Run> runs, Func<JsonNode, JsonNode?> pick) => PyJson.Array(runs.Select(r => pick(r.Result.Raw)?.DeepClone()));

    static string F(double x, int d) => Py.Fixed(x, d);

    public static int Summarize(string[] args)
    {
        if (args.Length == 0) { Console.Error.WriteLine("usage: summarize adabert RUN... (RESULTS=prefix, default bench/results/adabert)"); return 2; }
        string prefix = Environment.GetEnvironmentVariable("RESULTS") is { Length: > 0 } p ? p : "bench/results/adabert";
        var runs = args.Select(r => new Run(r, RunFiles.Load<SearchResultFile>(Path.Combine(r, "result.json")), CpuSeconds(r))).ToList();
        var t = runs[0].R.Teacher;
        var teacherTest = Acc(t, "Test");
        var studentTest = runs.Select(r => Acc(r.R.Student, "Test")).ToList();
        var studentDev = runs.Select(r => Acc(r.R.Student, "Dev")).ToList();
        var parameters = runs.Select(r => r.R.Student.Parameters / 1e6).ToList();
        var lat = runs.Select(r => r.R.Student.LatencyMs).ToList();
        var tlat = runs.Select(r => r.R.Teacher.LatencyMs).ToList();
        var speed = tlat.Zip(lat, (a, b) => a / b).ToList();
        var testMs = MeanSd(studentTest);
        var devMs = MeanSd(studentDev);

        var summary = new JsonObject
        {
            ["teacher"] = new JsonObject
            {
                ["test_accuracy"] = Node(teacherTest), ["dev_accuracy"] = Node(Acc(t, "Dev")), ["parameters_m"] = PyJson.Float(t.Parameters / 1e6),
                ["latency_ms_per_run"] = Raw(runs, j => j["teacher"]!["LatencyMs"]),
            },
            ["student"] = new JsonObject
            {
                ["test_accuracy_mean_std"] = Pair(testMs), ["dev_accuracy_mean_std"] = Pair(devMs),
                ["parameters_m"] = PyJson.Array(parameters.Select(x => (JsonNode?)PyJson.Float(x))), ["latency_ms"] = Raw(runs, j => j["student"]!["LatencyMs"]),
                ["speedup_vs_teacher"] = PyJson.Array(speed.Select(x => (JsonNode?)PyJson.Float(x))),
                ["share_of_teacher_test_accuracy"] = PyJson.Float(testMs.Mean.Value / teacherTest.Value),
            },
            ["search_seconds"] = Raw(runs, j => j["search_seconds"]), ["retrain_seconds"] = Raw(runs, j => j["retrain_seconds"]),
            ["runs"] = PyJson.Array(runs.Select(r => (JsonNode?)new JsonObject
            {
                ["run"] = r.Path, ["seed"] = r.Result.Raw["seed"]!.DeepClone(), ["genotype"] = r.R.GenotypeText,
                ["test_accuracy"] = Node(Acc(r.R.Student, "Test")), ["dev_accuracy"] = Node(Acc(r.R.Student, "Dev")),
                ["parameters"] = r.Result.Raw["student"]!["Parameters"]!.DeepClone(), ["latency_ms"] = r.Result.Raw["student"]!["LatencyMs"]!.DeepClone(),
                ["teacher_latency_ms"] = r.Result.Raw["teacher"]!["LatencyMs"]!.DeepClone(), ["search_seconds"] = r.Result.Raw["search_seconds"]!.DeepClone(),
                ["retrain_seconds"] = r.Result.Raw["retrain_seconds"]!.DeepClone(), ["search_step"] = r.Result.Raw["search_step"]!.DeepClone(),
                ["search_dev_accuracy"] = r.Result.Raw["search_dev_accuracy"]!.DeepClone(),
                // Each run's own: measured per machine and load, they steer the search, so a rerun pins them to repeat it.
                ["op_costs_ms"] = r.Result.Raw["op_costs_ms"]?.DeepClone(),
                ["process_time"] = r.Time is { } tm ? new JsonObject { ["wall"] = PyJson.Float(tm.Wall), ["cpu"] = PyJson.Float(tm.Cpu) } : null,
                ["retrain_augment_copies"] = r.Result.Raw["retrain_augment_copies"]?.DeepClone() ?? PyJson.Int(0),
            })),
            ["op_costs_ms"] = runs[0].Result.Raw["op_costs_ms"]?.DeepClone(), ["machine"] = runs[0].Result.Raw["machine"]?.DeepClone(),
            ["latency_seq_len"] = runs[0].Result.Raw["latency_seq_len"]?.DeepClone(),
        };

        double m = testMs.Mean.Value, s = testMs.Sd;
        var md = new List<string>
        {
            $"| model | params | test acc | dev acc | batch-1 latency (TorchSharp, seq {runs[0].R.LatencySeqLen}, median) | speed-up |",
            "|---|---|---|---|---|---|",
            $"| teacher (MiniLM L6-H384, fine-tuned) | {F(t.Parameters / 1e6, 2)}M | {F(teacherTest.Value, 2)}% | {F(Acc(t, "Dev").Value, 2)}% | {string.Join(" / ", tlat.Select(v => F(v, 1)))} ms | 1x |",
            $"| AdaBERT CNN, {runs.Count} seed(s) | {string.Join(" / ", parameters.Select(x => F(x, 2)))} M | **{F(m, 2)} ± {F(s, 2)}%** ({F(100 * m / teacherTest.Value, 1)}% of the teacher) | " +
            $"{F(devMs.Mean.Value, 2)} ± {F(devMs.Sd, 2)}% | {string.Join(" / ", lat.Select(v => F(v, 2)))} ms | {string.Join(" / ", speed.Select(v => F(v, 1) + "x"))} |",
            "",
            "| seed | genotype | test acc | params | search s | retrain s | whole process: wall s / CPU s |",
            "|---|---|---|---|---|---|---|",
        };
        foreach (var r in runs)
            md.Add($"| {r.R.Seed} | {r.R.GenotypeText} | {F(Acc(r.R.Student, "Test").Value, 2)}% | {F(r.R.Student.Parameters / 1e6, 2)}M | {F(r.R.SearchSeconds, 0)} | " +
                   $"{F(r.R.RetrainSeconds, 0)} | {(r.Time is { } tm ? $"{F(tm.Wall, 0)} / {F(tm.Cpu, 0)}" : "-")} |");
        Console.WriteLine(string.Join("\n", md));

        // The issue's targets, stated plainly (every number above is from the runs given on the command line).
        double share = 100 * m / teacherTest.Value;
        var total = runs.Select(r => r.R.SearchSeconds + r.R.RetrainSeconds).ToList();
        var cpu = runs.Where(r => r.Time != null).Select(r => r.Time!.Cpu).ToList();
        var targets = new List<(string Target, string Status, string Measured)>
        {
            ($"test accuracy >= 95% of the teacher's (>= {F(0.95 * teacherTest.Value, 2)}%)", share >= 95 ? "met" : "NOT met", $"{F(m, 2)}% mean = {F(share, 1)}% of the teacher"),
            ("batch-1 speed-up >= 10x (same process, same runtime)", speed.Min() >= 10 ? "met" : "NOT met", string.Join(" / ", speed.Select(v => F(v, 1) + "x"))),
            ("search + retrain <= 30 min on this machine", total.Max() <= 1800 ? "met" : "NOT met", string.Join(" / ", total.Select(v => F(v, 0))) + " s wall"),
        };
        if (cpu.Count == runs.Count)
            targets.Add(("whole run <= 30 min of CPU time (single thread: the quiet machine's wall time)", cpu.Max() <= 1800 ? "met" : "NOT met", string.Join(" / ", cpu.Select(v => F(v, 0))) + " CPU s"));
        targets.Add(("3 seeds", runs.Count >= 3 ? "met" : "NOT met", $"{runs.Count} finished"));
        summary["targets"] = PyJson.Array(targets.Select(x => (JsonNode?)new JsonObject { ["target"] = x.Target, ["status"] = x.Status, ["measured"] = x.Measured }));
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(prefix))!);
        File.WriteAllText(prefix + ".json", PyJson.Write(summary, 2));
        var tmd = new List<string> { "", "| target | status | measured |", "|---|---|---|" };
        tmd.AddRange(targets.Select(x => $"| {x.Target} | {x.Status} | {x.Measured} |"));
        Console.WriteLine(string.Join("\n", tmd));
        File.WriteAllText(prefix + ".table.md", CpuHeader.Prepend(string.Join("\n", md) + "\n" + string.Join("\n", tmd) + "\n"));
        return 0;
    }
}

/// <summary>`summarize adabert-variant NAME RUN`: one line per retraining variant (bench/adabert/retrain-variants.sh).</summary>
public static class AdaBertVariant
{
    public static int Summarize(string[] args)
    {
        if (args.Length != 2) { Console.Error.WriteLine("usage: summarize adabert-variant NAME RUN"); return 2; }
        var r = RunFiles.Load<SearchResultFile>(Path.Combine(args[1], "result.json")).Value;
        Console.WriteLine($"{args[0],-16} dev {Py.Fixed(100 * r.Student.Dev["accuracy"], 2)}  test {Py.Fixed(100 * r.Student.Test!["accuracy"], 2)}  " +
                          $"retrain {Py.Fixed(r.RetrainSeconds, 0)} s  {r.GenotypeText}");
        return 0;
    }
}
