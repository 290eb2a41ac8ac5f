using System.Text.Json.Nodes;
using Distil.MetaKD;

namespace Distil.Bench.Summaries;

/// <summary>
/// The paper-layout tables of bench/results/metakd.md: the results.json of every `distil metakd` run under
/// OUT_DIR/s&lt;seed&gt;/&lt;run&gt;/ (bench/metakd/run.sh), plus results-partial.json of runs that did not finish, -> RESULTS_PREFIX.{md,json}.
/// Each cell is the mean over seeds ± the sample standard deviation when there is more than one seed.
/// </summary>
public static class MetaKdTable
{
    static readonly (string Title, string[] Runs)[] Settings =
    [
        ("Full training data", ["single-tinybert", "mix-tinybert", "meta-tinybert", "meta-kd", "meta-metakd"]),
        ("Few-shot: 10% of each domain's training rows (teachers 10 epochs, students 7 + 15: the full data's student step budget)",
            ["p10-single-tinybert", "p10-mix-tinybert", "p10-meta-metakd"]),
        ("Zero-shot: teachers trained without imdb, students distilled on imdb", ["zs-imdb-mix-tinybert", "zs-imdb-meta-metakd"]),
    ];

    /// <summary>Runs by name, then by seed (both in the order first seen in the sorted file list).</summary>
    public static List<(string Name, List<(string Seed, MetaKdRun Run)> Seeds)> Read(string outDir)
    {
        IEnumerable<string> Files(string file) =>
            SafeDirs(outDir).Where(s => Path.GetFileName(s).StartsWith('s'))
                .SelectMany(s => SafeDirs(s).Select(r => Path.Combine(s, Path.GetFileName(r), file)))
                .Where(File.Exists).Order(StringComparer.Ordinal);
        // result.json since distil 0.2.0 (the stage runner); results.json of runs made before.
        var paths = Files("result.json").Concat(Files("results.json")).OrderBy(p => Path.GetDirectoryName(p), StringComparer.Ordinal).ToList();
        // Runs that did not finish: what `summarize metakd-partial` measured of them (only the domains whose student finished).
        paths.AddRange(Files("results-partial.json").Where(p => !File.Exists(Path.Combine(Path.GetDirectoryName(p)!, "results.json")) && !File.Exists(Path.Combine(Path.GetDirectoryName(p)!, "result.json"))));
        var runs = new List<(string Name, List<(string Seed, MetaKdRun Run)> Seeds)>();
        foreach (string path in paths)
        {
            string run = Path.GetDirectoryName(path)!, seed = Path.GetFileName(Path.GetDirectoryName(run)!)[1..], name = Path.GetFileName(run);
            int i = runs.FindIndex(r => r.Name == name);
            if (i < 0) { runs.Add((name, new())); i = runs.Count - 1; }
            var seeds = runs[i].Seeds;
            int j = seeds.FindIndex(s => s.Seed == seed);
            var loaded = RunFiles.LoadMetaKd(path);
            if (j < 0) seeds.Add((seed, loaded)); else seeds[j] = (seed, loaded);
        }
        return runs;
    }

    static IEnumerable<string> SafeDirs(string d) => Directory.Exists(d)
        ? Directory.EnumerateDirectories(d).Where(x => !Path.GetFileName(x).StartsWith('.'))
        : [];

    /// <summary>A cell: "93.6" for one seed, "93.6 ± 1.2" for several; and its numbers for the JSON.</summary>
    public static (string Text, JsonObject? Numbers) Cell(IEnumerable<(double Value, bool IsInt)?> values)
    {
        var v = values.Where(x => x != null).Select(x => x!.Value).ToList();
        if (v.Count == 0) return ("-", null);
        var mean = Py.Mean(v.Select(x => x.Value).ToList(), v.Select(x => x.IsInt).ToList());
        if (v.Count == 1) return (Py.Fixed(100 * mean.Value, 1), new JsonObject { ["mean"] = PyJson.Of(mean), ["n"] = PyJson.Int(1) });
        double sd = Py.Stdev(v.Select(x => x.Value).ToList());
        var min = v.Aggregate((a, b) => b.Value < a.Value ? b : a);
        var max = v.Aggregate((a, b) => b.Value > a.Value ? b : a);
        return ($"{Py.Fixed(100 * mean.Value, 1)} ± {Py.Fixed(100 * sd, 1)}", new JsonObject
        {
            ["mean"] = PyJson.Of(mean), ["min"] = PyJson.Of(min), ["max"] = PyJson.Of(max), ["n"] = PyJson.Int(v.Count), ["stdev"] = PyJson.Float(sd),
        });
    }

    static (double, bool) Num(double x) => (x, Py.ReadsAsInt(x));

    public static int Summarize(string[] args)
    {
        var a = args.ToList();
        string notes = "bench/metakd/notes.md"; // hand-written findings appended to the table
        int ni = a.IndexOf("--notes");
        if (ni >= 0 && ni + 1 < a.Count) { notes = a[ni + 1]; a.RemoveRange(ni, 2); }
        if (a.Count < 1) { Console.Error.WriteLine("usage: summarize metakd OUT_DIR [RESULTS_PREFIX] [--notes FILE]"); return 2; }
        string outDir = a[0], prefix = a.Count > 1 ? a[1] : "bench/results/metakd";
        var runs = Read(outDir);
        var md = new List<string>
        {
            "# Meta-KD on data/uci-sentiment (3 domains) with the MiniLM encoder\n",
            "Test accuracy (%) per domain, paper layout (docs/metakd.md §Results). Produced by `bench/metakd/run.sh runs/metakd SEED` " +
            "then `dotnet run --project bench/Distil.Bench -c Release -- summarize metakd runs/metakd` (the whole grid: `bench/metakd/grid.sh runs/metakd`); each cell is the " +
            "mean over the seeds listed ± the sample standard deviation when there are several. Per-run reports: runs/metakd/s<seed>/<run>/report.md.\n",
        };
        var tables = new JsonArray();
        foreach (var (title, names) in Settings)
        {
            var present = names.Where(n => runs.Any(r => r.Name == n)).ToList();
            if (present.Count == 0) continue;
            List<(string Seed, MetaKdRun Run)> SeedsOf(string n) => runs.First(r => r.Name == n).Seeds;
            var domains = new List<string>();
            foreach (var n in present)
                foreach (var (_, r) in SeedsOf(n))
                    foreach (var d in r.Result.Domains)
                        if (!domains.Contains(d)) domains.Add(d);
            var rows = new List<(string Label, Dictionary<string, string> Cells, Dictionary<string, JsonObject?> Nums, List<string> Seeds, (double Value, bool IsInt) Secs, string Run)>();
            var seenTeachers = new HashSet<string>();
            // A teacher reused by several runs (--teacher) is listed once, from the run that trained it.
            var trainedFirst = present.OrderBy(n => -Py.MeanValue(SeedsOf(n).Select(s => s.Run.Result.Teacher.Seconds).ToList())).ToList();
            foreach (string kind in new[] { "Teacher", "Student" })
                foreach (var n in kind == "Teacher" ? trainedFirst : present)
                {
                    var seeds = SeedsOf(n);
                    MetaKdRow Row(MetaKdRun r) => kind == "Teacher" ? r.Result.Teacher : r.Result.Student;
                    string name = Row(seeds[0].Run).Name;
                    if (kind == "Teacher" && !seenTeachers.Add(name)) continue;
                    var cells = new Dictionary<string, string>();
                    var nums = new Dictionary<string, JsonObject?>();
                    foreach (var d in domains)
                        (cells[d], nums[d]) = Cell(seeds.Select(s => Row(s.Run).Accuracy.TryGetValue(d, out double v) ? ((double, bool)?)Num(v) : null));
                    var avgs = seeds.Where(s => domains.All(d => Row(s.Run).Accuracy.ContainsKey(d)))
                        .Select(s => (Nullable<(double, bool)>)Py.Mean(domains.Select(d => Row(s.Run).Accuracy[d]).ToList()));
                    (cells["Avg"], nums["Avg"]) = Cell(avgs);
                    string label = kind == "Teacher" ? $"{name} (teacher)" : name;
                    if (seeds.Any(s => s.Run.Partial)) label += " ‡";
                    rows.Add((label, cells, nums, seeds.Select(s => s.Seed).Order(StringComparer.Ordinal).ToList(), Py.Mean(seeds.Select(s => Row(s.Run).Seconds).ToList()), n));
                }
            md.Add($"## {title}\n");
            md.Add("| Teacher → Student | " + string.Join(" | ", domains) + " | Avg | seeds | wall s (mean) |");
            md.Add("|---|" + string.Concat(Enumerable.Repeat("---|", domains.Count + 3)));
            var tableRows = new JsonArray();
            foreach (var row in rows)
            {
                md.Add($"| {row.Label} | " + string.Join(" | ", domains.Append("Avg").Select(d => row.Cells[d])) + $" | {string.Join(',', row.Seeds)} | {Py.Fixed(row.Secs.Value, 0)} |");
                var acc = new JsonObject();
                foreach (var d in domains.Append("Avg")) acc[d] = row.Nums[d];
                tableRows.Add(new JsonObject
                {
                    ["name"] = row.Label, ["run"] = row.Run, ["seeds"] = PyJson.Array(row.Seeds.Select(s => (JsonNode?)JsonValue.Create(s))),
                    ["accuracy"] = acc, ["seconds_mean"] = PyJson.Of(row.Secs),
                });
            }
            md.Add("");
            tables.Add(new JsonObject { ["title"] = title, ["domains"] = PyJson.Array(domains.Select(d => (JsonNode?)JsonValue.Create(d))), ["rows"] = tableRows });
        }
        if (runs.Any(r => r.Seeds.Any(s => s.Run.Partial)))
            md.Add("‡ = the run did not finish on the shared machine before the deadline; its cells are the students that did finish, " +
                   "measured by `dotnet run --project bench/Distil.Bench -c Release -- summarize metakd-partial runs/metakd 42` (`distil eval` on each domain's test rows); " +
                   "a missing cell is a student that was not trained in time, and Avg is left out when a domain is missing.\n");
        md.Add("## Runs\n");
        md.Add("| run | seed | teacher | distill | train rows | teacher s | students s | whole run s |");
        md.Add("|---|---|---|---|---|---|---|---|");
        foreach (var (n, seeds) in runs.OrderBy(r => r.Name, StringComparer.Ordinal))
            foreach (var (s, r) in seeds.OrderBy(x => x.Seed, StringComparer.Ordinal))
            {
                var x = r.Result;
                if (r.Partial) { md.Add($"| {n} ‡ | {s} | {x.Labels["teacher_source"]} | | | | {Py.Fixed(x.Student.Seconds, 0)} | |"); continue; }
                md.Add($"| {n} | {s} | {x.Labels["teacher_mode"]} ({x.Labels["teacher_source"]}) | {x.Labels["distill"]} | {(long)x.Settings["train_rows"]} | " +
                       $"{Py.Fixed(x.Teacher.Seconds, 0)} | {Py.Fixed(x.Student.Seconds, 0)} | {Py.Fixed(x.TotalSeconds, 0)} |");
            }
        if (File.Exists(notes)) md.Add(File.ReadAllText(notes));
        var runsJson = new JsonObject();
        foreach (var (n, seeds) in runs)
        {
            var o = new JsonObject();
            foreach (var (s, r) in seeds) o[s] = r.Raw.DeepClone();
            runsJson[n] = o;
        }
        var js = new JsonObject { ["tables"] = tables, ["runs"] = runsJson };
        File.WriteAllText(prefix + ".md", CpuHeader.Prepend(string.Join("\n", md) + "\n"));
        File.WriteAllText(prefix + ".json", PyJson.Write(js, 1, ensureAscii: false));
        Console.WriteLine(string.Join("\n", md));
        return 0;
    }
}
