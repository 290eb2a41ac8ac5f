using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.ML.OnnxRuntime;

namespace Distil.Bench;

/// <summary>
/// Where ONNX Runtime spends a forward pass, per operator type: each model (an export folder's model.onnx) runs in a
/// session with ORT's profiler on (SessionOptions.EnableProfiling), same options as the predictor (ORT_ENABLE_ALL,
/// sequential, --threads), interleaved with the other models run by run; the profile's kernel events of the timed runs
/// (warm-up excluded) are summed by op type (after ORT's fusions, so a fused kernel shows under its own name).
/// <code>
/// dotnet run --project bench/Distil.Bench -c Release -- ort-profile --shape 1x64 --shape 32x128 --runs 50 --out bench/results/int8-profile \
///   fp32=runs/kd/onnx int8=runs/kd/onnx-int8
/// </code>
/// </summary>
public static class OrtProfile
{
    public static int Run(string[] args)
    {
        var models = new List<(string Name, string Path, GraphOptimizationLevel Level)>();
        var shapes = new List<(int Batch, int Seq)>();
        int runs = 50, warmup = 5, threads = 1;
        string? outPrefix = null;
        for (int i = 0; i < args.Length; i++)
        {
            string a = args[i];
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{a} needs a value");
            switch (a)
            {
                case "--shape": var p = Next().Split('x'); shapes.Add((int.Parse(p[0]), int.Parse(p[1]))); break;
                case "--runs": runs = int.Parse(Next()); break;
                case "--warmup": warmup = int.Parse(Next()); break;
                case "--threads": threads = int.Parse(Next()); break;
                case "--out": outPrefix = Next(); break;
                case "--dump": // the nodes of an ONNX file (e.g. ORT's optimized graph from DISTIL_ORT_OPTIMIZED_MODEL), one per line
                    foreach (var n in global::Onnx.ModelProto.Parser.ParseFrom(File.ReadAllBytes(Next())).Graph.Node)
                        Console.WriteLine($"{n.OpType} {n.Domain} [{string.Join(", ", n.Input)}] -> [{string.Join(", ", n.Output)}]");
                    return 0;
                default:
                    // NAME=FOLDER, optionally @basic / @extended / @all (ORT's graph optimisation level; default all, as the predictor)
                    var level = GraphOptimizationLevel.ORT_ENABLE_ALL;
                    if (a.LastIndexOf('@') is int at and > 0)
                    {
                        level = a[(at + 1)..] switch
                        {
                            "basic" => GraphOptimizationLevel.ORT_ENABLE_BASIC,
                            "extended" => GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
                            "all" => GraphOptimizationLevel.ORT_ENABLE_ALL,
                            var l => throw new ArgumentException($"level '{l}': use basic, extended or all"),
                        };
                        a = a[..at];
                    }
                    var kv = a.Split('=', 2);
                    string path = kv.Length == 2 ? kv[1] : a;
                    if (Directory.Exists(path)) path = System.IO.Path.Combine(path, "model.onnx");
                    if (!File.Exists(path)) { Console.Error.WriteLine($"{path}: not found"); return 2; }
                    models.Add((kv.Length == 2 ? kv[0] : System.IO.Path.GetFileName(System.IO.Path.GetDirectoryName(path)!), path, level));
                    break;
            }
        }
        if (models.Count == 0) { Console.Error.WriteLine("usage: ort-profile [--shape BxT]... [--runs N] [--threads N] [--out PREFIX] NAME=FOLDER..."); return 2; }
        if (shapes.Count == 0) shapes.AddRange([(1, 64), (32, 128)]);

        var md = new StringBuilder();
        var json = new JsonObject
        {
            ["command"] = "dotnet run --project bench/Distil.Bench -c Release -- ort-profile " + string.Join(' ', args),
            ["date_utc"] = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ"),
            ["onnxruntime"] = typeof(InferenceSession).Assembly.GetName().Version?.ToString(),
            ["threads"] = threads,
            ["load_average_before"] = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : null,
        };
        var shapesJson = new JsonArray();
        foreach (var (batch, seq) in shapes)
        {
            var profiles = Profile(models, batch, seq, runs, warmup, threads);
            shapesJson.Add(new JsonObject
            {
                ["batch"] = batch, ["seq"] = seq, ["runs"] = runs,
                ["models"] = new JsonArray(profiles.Select(p => (JsonNode)new JsonObject
                {
                    ["name"] = p.Name, ["run_ms_median"] = p.RunMsMedian, ["kernel_ms_per_run"] = p.KernelMs,
                    ["ops"] = new JsonObject(p.ByOp.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)JsonValue.Create(Math.Round(kv.Value, 4))))),
                    ["op_counts"] = new JsonObject(p.Counts.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)JsonValue.Create(kv.Value)))),
                }).ToArray()),
            });
            md.Append(Table(profiles, batch, seq, runs));
        }
        json["shapes"] = shapesJson;
        json["load_average_after"] = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : null;
        Console.WriteLine(md);
        if (outPrefix != null)
        {
            File.WriteAllText(outPrefix + ".md", $"ORT per-op profile (`{json["command"]}`), load average before {json["load_average_before"]}, after {json["load_average_after"]}\n\n" + md);
            File.WriteAllText(outPrefix + ".json", json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        }
        return 0;
    }

    public sealed record ModelProfile(string Name, double RunMsMedian, double KernelMs, Dictionary<string, double> ByOp, Dictionary<string, int> Counts);

    public static List<ModelProfile> Profile(IReadOnlyList<(string Name, string Path, GraphOptimizationLevel Level)> models, int batch, int seq, int runs, int warmup, int threads)
    {
        string dir = Directory.CreateTempSubdirectory("ort-profile-").FullName;
        var sessions = new List<InferenceSession>();
        try
        {
            foreach (var (name, path, level) in models)
            {
                using var o = new SessionOptions
                {
                    IntraOpNumThreads = threads, InterOpNumThreads = 1, ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
                    GraphOptimizationLevel = level,
                    // The prefix first: setting EnableProfiling starts the profiler with the prefix it has at that moment.
                    ProfileOutputPathPrefix = System.IO.Path.Combine(dir, name),
                };
                o.EnableProfiling = true;
                sessions.Add(new InferenceSession(path, o));
            }
            var rng = new Random(batch * 1000 + seq);
            long[] ids = Enumerable.Range(0, batch * seq).Select(_ => (long)rng.Next(1000, 20000)).ToArray();
            long[] mask = Enumerable.Repeat(1L, ids.Length).ToArray(), types = new long[ids.Length];
            long[] shape = [batch, seq];
            var wall = models.Select(_ => new List<double>()).ToArray();
            for (int r = 0; r < warmup + runs; r++)
                for (int k = 0; k < sessions.Count; k++)
                {
                    int m = (r + k) % sessions.Count;
                    using var a = OrtValue.CreateTensorValueFromMemory(ids, shape);
                    using var b = OrtValue.CreateTensorValueFromMemory(mask, shape);
                    using var c = OrtValue.CreateTensorValueFromMemory(types, shape);
                    long t0 = Stopwatch.GetTimestamp();
                    using var outputs = sessions[m].Run(new RunOptions(), ["input_ids", "attention_mask", "token_type_ids"], [a, b, c], ["logits"]);
                    if (r >= warmup) wall[m].Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
                }
            var result = new List<ModelProfile>();
            for (int k = 0; k < sessions.Count; k++)
            {
                string file = sessions[k].EndProfiling();
                result.Add(Summarise(models[k].Name, file, warmup, runs, Median(wall[k])));
            }
            return result;
        }
        finally
        {
            foreach (var s in sessions) s.Dispose();
            try { Directory.Delete(dir, true); } catch (IOException) { }
        }
    }

    /// <summary>Kernel time per op type per timed run: events of kind Node named *_kernel_time inside the timed model_run events.</summary>
    static ModelProfile Summarise(string name, string file, int warmup, int runs, double wallMedian)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(file));
        var events = doc.RootElement.EnumerateArray().ToList();
        var modelRuns = events.Where(e => e.GetProperty("cat").GetString() == "Session" && e.GetProperty("name").GetString() == "model_run")
            .Select(e => (Ts: e.GetProperty("ts").GetInt64(), Dur: e.GetProperty("dur").GetInt64())).OrderBy(e => e.Ts).ToList();
        long timedFrom = modelRuns[warmup].Ts;
        var byOp = new Dictionary<string, double>();
        var counts = new Dictionary<string, int>();
        foreach (var e in events)
        {
            if (e.GetProperty("cat").GetString() != "Node" || e.GetProperty("ts").GetInt64() < timedFrom) continue;
            if (!(e.GetProperty("name").GetString() ?? "").EndsWith("_kernel_time", StringComparison.Ordinal)) continue;
            string op = e.GetProperty("args").GetProperty("op_name").GetString() ?? "?";
            byOp[op] = byOp.GetValueOrDefault(op) + e.GetProperty("dur").GetInt64() / 1000.0 / runs;
            counts[op] = counts.GetValueOrDefault(op) + 1;
        }
        foreach (var k in counts.Keys.ToList()) counts[k] /= runs;
        return new ModelProfile(name, wallMedian, byOp.Values.Sum(), byOp, counts);
    }

    static string Table(IReadOnlyList<ModelProfile> profiles, int batch, int seq, int runs)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"### batch {batch} x {seq} tokens ({runs} timed runs each, interleaved)").AppendLine();
        sb.AppendLine("| op type (after ORT fusion) | " + string.Join(" | ", profiles.Select(p => $"{p.Name} ms/run (nodes)")) + " |");
        sb.AppendLine("|---|" + string.Join("", profiles.Select(_ => "---|")));
        var ops = profiles.SelectMany(p => p.ByOp.Keys).Distinct().OrderByDescending(op => profiles.Max(p => p.ByOp.GetValueOrDefault(op))).ToList();
        foreach (var op in ops)
            sb.AppendLine($"| {op} | " + string.Join(" | ", profiles.Select(p => p.ByOp.TryGetValue(op, out var ms)
                ? string.Create(CultureInfo.InvariantCulture, $"{ms:F3} ({p.Counts[op]}, {100 * ms / p.KernelMs:F0}%)") : "-")) + " |");
        sb.AppendLine("| **sum of kernels** | " + string.Join(" | ", profiles.Select(p => string.Create(CultureInfo.InvariantCulture, $"**{p.KernelMs:F3}**"))) + " |");
        sb.AppendLine("| wall median of Run() | " + string.Join(" | ", profiles.Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.RunMsMedian:F3}"))) + " |");
        if (profiles.Count > 1)
            sb.AppendLine().AppendLine(string.Join("; ", profiles.Skip(1).Select(p => string.Create(CultureInfo.InvariantCulture,
                $"{profiles[0].Name} / {p.Name}: kernels {profiles[0].KernelMs / p.KernelMs:F2}x, wall {profiles[0].RunMsMedian / p.RunMsMedian:F2}x"))));
        return sb.AppendLine().ToString();
    }

    static double Median(List<double> v)
    {
        var s = v.OrderBy(x => x).ToArray();
        return s.Length == 0 ? 0 : s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
    }
}
