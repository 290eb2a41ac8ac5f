using System.Globalization;
using System.Text.Json.Nodes;
using Distil.Distillation;
using Distil.Pipelines;

namespace Distil.Bench.Summaries;

/// <summary>
/// bench/albert.sh's table: WORK/*/result.json (+ command, wall_seconds, config.resolved.json) -> bench/results/albert.{md,json}:
/// the ALBERT student beside the BERT student of the same non-embedding size, and the reading of the two.
/// </summary>
public static class AlbertSummary
{
    public sealed record Run(string Name, string? Command, double WallSeconds, ResolvedDistillConfig Config, Loaded<DistillResultFile> Result)
    {
        public ModelSummary Teacher => Result.Value.Teacher;
        public ModelSummary Student => Result.Value.Student;
    }

    public static IReadOnlyList<Run> Read(string work)
    {
        var runs = new List<Run>();
        foreach (string name in Directory.EnumerateFileSystemEntries(work).Select(p => Path.GetFileName(p)!).Order(StringComparer.Ordinal))
        {
            string d = Path.Combine(work, name);
            if (!File.Exists(Path.Combine(d, "result.json"))) continue;
            string? ReadText(string f) => File.Exists(Path.Combine(d, f)) ? File.ReadAllText(Path.Combine(d, f)).Trim() : null;
            string? wall = ReadText("wall_seconds");
            var cfg = RunFiles.Load<ResolvedConfigFile>(Path.Combine(d, "config.resolved.json")).Value.Config;
            runs.Add(new Run(name, ReadText("command"), string.IsNullOrEmpty(wall) ? double.NaN : double.Parse(wall, CultureInfo.InvariantCulture), cfg,
                RunFiles.Load<DistillResultFile>(Path.Combine(d, "result.json"))));
        }
        return runs;
    }

    static string Acc(ModelSummary m, string split)
    {
        var metrics = split == "Test" ? m.Test : m.Dev;
        return metrics != null && metrics.TryGetValue("accuracy", out double v) ? Py.Fixed(100 * v, 2) : "-";
    }

    public static int Summarize(string[] args)
    {
        var (positional, teacherDir) = SummarizeCommand.TeacherDir(args);
        string resultsDir = "bench/results";
        int r = positional.IndexOf("--results");
        if (r >= 0 && r + 1 < positional.Count) { resultsDir = positional[r + 1]; positional.RemoveRange(r, 2); }
        string work = positional.Count > 0 ? positional[0] : "runs/albert";
        var runs = Read(work);
        string commit = File.Exists(Path.Combine(work, "cli-commit")) ? File.ReadAllText(Path.Combine(work, "cli-commit")).Trim() : "?";
        var lines = new List<string>
        {
            "# ALBERT students on data/uci-sentiment (issue 7)", "",
            "Command: `bench/albert.sh` (one torch thread per run, runs one after another on a 2-core machine shared with other jobs; " +
            $"timings are noisy); `distil` = `DISTIL`, a copy of src/Distil.Cli/bin/Release/net10.0/linux-x64 built from commit {commit}; {SummarizeCommand.UtcNow()}.", "",
        };
        double minT = runs.Count > 0 ? runs.Min(x => x.Teacher.LatencyMs) : 0, maxT = runs.Count > 0 ? runs.Max(x => x.Teacher.LatencyMs) : 0;
        if (runs.Count > 0)
        {
            var t = runs[0].Teacher;
            lines.AddRange([$"Teacher `{teacherDir}` (fine-tuned MiniLM, L6-H384, mean pooling): {Py.Fixed(t.Parameters / 1e6, 2)}M parameters, " +
                $"{Py.Fixed(t.NonEmbeddingParameters / 1e6, 3)}M non-embedding, test {Acc(t, "Test")}%, dev {Acc(t, "Dev")}%, batch-1 " +
                $"{Py.Fixed(minT, 1)} to {Py.Fixed(maxT, 1)} ms as measured in each run " +
                "(the spread is the shared machine's load).", ""]);
        }
        lines.AddRange(["| student | type | preset | init, epochs/stage, lr | params | non-emb params (share of teacher) | dev acc % | test acc % | % of teacher test | batch-1 ms (x teacher's, same run) | train s | wall s |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|"]);
        foreach (var x in runs)
        {
            ModelSummary s = x.Student, t = x.Teacher;
            double share = (double)s.NonEmbeddingParameters / t.NonEmbeddingParameters;
            string rel = s.Test is { Count: > 0 } && t.Test is { Count: > 0 } ? Py.Fixed(100 * s.Test["accuracy"] / t.Test["accuracy"], 1) : "-";
            lines.Add($"| {x.Result.Value.StudentShape} | {x.Result.Value.StudentModelType ?? "bert"} | {x.Result.Value.Preset} | {x.Config.Init}, {x.Config.Training.Epochs}, {Py.G(x.Config.Training.LearningRate)} | {Py.Fixed(s.Parameters / 1e6, 2)}M | " +
                      $"{Py.Fixed(s.NonEmbeddingParameters / 1e6, 3)}M ({Py.Fixed(100 * share, 1)}%) | {Acc(s, "Dev")} | {Acc(s, "Test")} | {rel} | " +
                      $"{Py.Fixed(s.LatencyMs, 1)} ({Py.Fixed(s.LatencyMs / t.LatencyMs, 2)}x) | {Py.Fixed(x.Result.Value.TrainSeconds, 0)} | {Py.Fixed(x.WallSeconds, 0)} |");
        }
        var by = new Dictionary<(string, string), Run>();
        foreach (var x in runs) by[(x.Result.Value.StudentShape, x.Result.Value.Preset)] = x;
        if (by.TryGetValue(("albert-L6-H384-E128", "kd"), out var a) && by.TryGetValue(("L1-H384", "kd"), out var b))
        {
            ModelSummary sa = a.Student, sb = b.Student;
            lines.AddRange(["", "Reading (one seed each, same preset, init, budget and seed): the ALBERT student and the one-layer BERT student have " +
                $"the same non-embedding parameters ({Py.Thousands(sa.NonEmbeddingParameters)} vs {Py.Thousands(sb.NonEmbeddingParameters)}: one layer's weights), " +
                $"the ALBERT student has {Py.Fixed((double)sb.Parameters / sa.Parameters, 1)}x fewer parameters in all ({Py.Fixed(sa.Parameters / 1e6, 2)}M vs " +
                $"{Py.Fixed(sb.Parameters / 1e6, 2)}M: E = 128 factorised embedding) and runs that layer 6 times: its batch-1 latency is " +
                $"{Py.Fixed(sa.LatencyMs / a.Teacher.LatencyMs, 2)}x the 6-layer teacher's measured in the same run, the one-layer student's " +
                $"{Py.Fixed(sb.LatencyMs / b.Teacher.LatencyMs, 2)}x. ALBERT saves parameters, not inference time (docs/albert-sharing.md). Absolute " +
                $"milliseconds swing with the shared machine's load (the teacher measured {Py.Fixed(minT, 0)} to " +
                $"{Py.Fixed(maxT, 0)} ms across runs); compare the ratios. Test accuracy: ALBERT {Acc(sa, "Test")}%, " +
                $"BERT L1 {Acc(sb, "Test")}%, teacher {Acc(a.Teacher, "Test")}%."]);
        }
        if (by.TryGetValue(("albert-L6-H384-E128", "tinybert"), out var tb))
        {
            lines.AddRange(["", $"The same ALBERT student with the tinybert preset ({tb.Config.Training.Epochs} epoch(s) per stage; 1 epoch per stage = the kd runs' 2 epochs " +
                $"of steps): test {Acc(tb.Student, "Test")}%, dev {Acc(tb.Student, "Dev")}%: it collapsed to one class. Seen in its metrics.jsonl: the " +
                "stage-1 loss is dominated by six attention-score MSE terms (4 to 13 each, against 0.25 to 0.7 for the hidden and embedding " +
                "MSE), and stage 2 (soft CE, 66 steps) never leaves the uniform prediction (soft CE stays near ln 2, gradient norms 0.2 to 3). " +
                "Likely cause (not verified): those terms pull ONE shared layer towards six different teacher attention patterns. Not investigated further today: longer stages, G > 1, or " +
                "tinybert without the attention terms are the next things to try; kd is the preset to use for ALBERT students here."]);
        }
        lines.AddRange(["", "Non-embedding parameters: everything but the embedding tables and, for ALBERT, the E -> H map " +
            "(embedding_hidden_mapping_in); a shared layer counts once; the pooler is not counted (mean pooling never runs it).", "",
            "Command lines:", ""]);
        lines.AddRange(runs.Where(x => !string.IsNullOrEmpty(x.Command)).Select(x => $"- `{x.Command}`"));
        Directory.CreateDirectory(resultsDir);
        File.WriteAllText(Path.Combine(resultsDir, "albert.md"), CpuHeader.Prepend(string.Join("\n", lines) + "\n"));
        var json = PyJson.Array(runs.Select(x =>
        {
            var o = new JsonObject
            {
                ["run"] = x.Name, ["command"] = x.Command, ["wall_seconds"] = PyJson.Float(x.WallSeconds), ["init"] = x.Config.Init,
                ["epochs"] = PyJson.Int(x.Config.Training.Epochs), ["learning_rate"] = PyJson.Read(x.Config.Training.LearningRate),
            };
            foreach (var (k, v) in x.Result.Raw.AsObject()) o[k] = v?.DeepClone(); // **result.json, as the run wrote it
            return (JsonNode?)o;
        }));
        File.WriteAllText(Path.Combine(resultsDir, "albert.json"), PyJson.Write(json, 2));
        Console.WriteLine(string.Join("\n", lines));
        return 0;
    }
}
