using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;

namespace Distil.Bench.Summaries;

/// <summary>
/// For bench/metakd/run.sh runs that did not finish (the shared 2-core machine ran out of time), measures what did
/// finish with `distil eval`: each finished student (students/&lt;domain&gt;/done.json) on its domain's test rows, and the
/// teacher of that domain on the same rows. Writes &lt;run&gt;/results-partial.json in the schema of results.json
/// ("Partial": true); `summarize metakd` marks those rows. BERT-s students may also come from single-tinybert-&lt;domain&gt;
/// runs (the same distillation started per domain). DISTIL (default: dotnet run of src/Distil.Cli) runs the evaluations;
/// MIX_TEACHER (default: the bench teacher) is the BERT-mix teacher of mix-tinybert.
/// </summary>
public static class MetaKdPartial
{
    public static int Summarize(string[] args)
    {
        if (args.Length < 2) { Console.Error.WriteLine("usage: summarize metakd-partial OUT_DIR SEED"); return 2; }
        string @out = args[0], seed = args[1];
        string[] distil = (Environment.GetEnvironmentVariable("DISTIL") ?? "dotnet run --project src/Distil.Cli -c Release --no-build --")
            .Split(' ', StringSplitOptions.RemoveEmptyEntries);
        string mixTeacher = Environment.GetEnvironmentVariable("MIX_TEACHER") ?? SummarizeCommand.DefaultTeacher;
        string @base = Path.Combine(@out, $"s{seed}"), dataDir = Path.Combine(@out, "test-by-domain");
        Directory.CreateDirectory(dataDir);
        var lines = File.ReadAllText("data/uci-sentiment/test.domain.tsv").TrimEnd('\n').Split('\n');
        string header = lines[0];
        int col = Array.IndexOf(header.Split('\t'), "domain");
        var rows = lines[1..];
        foreach (string d in rows.Select(r => r.Split('\t')[col]).Distinct().Order(StringComparer.Ordinal))
            File.WriteAllText(Path.Combine(dataDir, $"{d}.tsv"), string.Join("\n", rows.Where(r => r.Split('\t')[col] == d).Prepend(header)) + "\n");

        var cache = new Dictionary<(string, string), double>();
        double Accuracy(string model, string domain)
        {
            var key = (Path.GetFullPath(model), domain);
            if (cache.TryGetValue(key, out double a)) return a;
            string tmp = Path.Combine(dataDir, $"eval-{cache.Count}-{domain}.json");
            var psi = new ProcessStartInfo(distil[0]) { RedirectStandardOutput = true };
            foreach (string x in distil[1..].Concat(["eval", "--model", model, "--data", Path.Combine(dataDir, $"{domain}.tsv"), "--max-seq-len", "64", "--threads", "1", "--metrics-json", tmp]))
                psi.ArgumentList.Add(x);
            using var p = Process.Start(psi)!;
            p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0) throw new InvalidOperationException($"distil eval --model {model} failed (exit {p.ExitCode})");
            return cache[key] = RunFiles.LoadEval(tmp)["accuracy"];
        }

        // run -> (teacher name, teacher folder per domain, student name, student run folders)
        var runs = new (string Run, string Teacher, Func<string, string> TeacherDir, string Student, string[] Sources)[]
        {
            ("meta-metakd", "Meta-teacher", _ => $"{@base}/meta-metakd/teacher/best", "Meta-teacher → Meta-distillation (Meta-KD)", ["meta-metakd"]),
            ("meta-tinybert", "Meta-teacher", _ => $"{@base}/meta-metakd/teacher/best", "Meta-teacher → TinyBERT-KD", ["meta-tinybert"]),
            ("mix-tinybert", "BERT-mix", _ => mixTeacher, "BERT-mix → TinyBERT-KD", ["mix-tinybert"]),
            ("single-tinybert", "BERT-s", d => $"{@base}/single-tinybert/teacher-{d}/best", "BERT-s → TinyBERT-KD",
                ["single-tinybert", "single-tinybert-amazon", "single-tinybert-imdb", "single-tinybert-yelp"]),
            ("zs-imdb-meta-metakd", "Meta-teacher", _ => $"{@base}/zs-imdb-meta-metakd/teacher/best", "Meta-teacher → Meta-distillation (Meta-KD)", ["zs-imdb-meta-metakd"]),
            ("zs-imdb-mix-tinybert", "BERT-mix", _ => $"{@base}/zs-imdb-mix-tinybert/teacher/best", "BERT-mix → TinyBERT-KD", ["zs-imdb-mix-tinybert"]),
        };
        foreach (var (run, tname, tdir, sname, sources) in runs)
        {
            if (File.Exists(Path.Combine(@base, run, "result.json")) || File.Exists(Path.Combine(@base, run, "results.json"))) continue;
            var students = new Dictionary<string, (string Best, JsonNode Seconds)>();
            foreach (string src in sources)
            {
                string dir = Path.Combine(@base, src, "students");
                if (!Directory.Exists(dir)) continue;
                foreach (string d in Directory.EnumerateDirectories(dir).Order(StringComparer.Ordinal))
                {
                    string done = Path.Combine(d, "done.json");
                    if (File.Exists(done)) students.TryAdd(Path.GetFileName(d), (Path.Combine(d, "best"), (PyJson.Load(done)["Seconds"] ?? PyJson.Load(done)["seconds"])!));
                }
            }
            if (students.Count == 0) continue;
            var domains = students.Keys.Order(StringComparer.Ordinal).ToList();
            var teacher = new JsonObject();
            foreach (string d in domains) if (Directory.Exists(tdir(d))) teacher[d] = PyJson.Read(Accuracy(tdir(d), d));
            var student = new JsonObject();
            foreach (string d in domains) student[d] = PyJson.Read(Accuracy(students[d].Best, d));
            // sum() of the stage seconds as Python adds them: an int while every term is one.
            var secs = students.Values.Select(s => double.Parse(s.Seconds.ToJsonString(), CultureInfo.InvariantCulture)).ToList();
            bool intSum = students.Values.All(s => s.Seconds.ToJsonString().All(c => char.IsAsciiDigit(c) || c == '-'));
            double sum = secs.Aggregate(0.0, (a, b) => a + b);
            var result = new JsonObject
            {
                ["Domains"] = PyJson.Array(domains.Select(d => (JsonNode?)JsonValue.Create(d))), ["Partial"] = true,
                ["Teacher"] = new JsonObject { ["Name"] = tname, ["Kind"] = "teacher", ["Accuracy"] = teacher, ["Seconds"] = PyJson.Int(0) },
                ["Student"] = new JsonObject { ["Name"] = sname, ["Kind"] = "student", ["Accuracy"] = student, ["Seconds"] = intSum ? PyJson.Int((long)sum) : PyJson.Float(sum) },
                ["Settings"] = new JsonObject { ["seed"] = PyJson.Int(int.Parse(seed, CultureInfo.InvariantCulture)) },
                ["Labels"] = new JsonObject { ["teacher_mode"] = run.Split('-')[0], ["teacher_source"] = tdir(domains[0]), ["distill"] = run.Split('-')[^1] },
                ["TotalSeconds"] = PyJson.Int(0),
            };
            File.WriteAllText(Path.Combine(@base, run, "results-partial.json"), PyJson.Write(result, 1, ensureAscii: false));
            Console.WriteLine($"{run} teacher {PyDict(teacher)} student {PyDict(student)}");
        }
        return 0;
    }

    /// <summary>Python's repr of a {str: float} dict, as the script printed its progress.</summary>
    static string PyDict(JsonObject o) => "{" + string.Join(", ", o.Select(kv => $"'{kv.Key}': {PyJson.Write(kv.Value, 0)}")) + "}";
}
