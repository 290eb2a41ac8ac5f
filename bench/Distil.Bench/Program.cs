using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Distil.Bench;
using TorchSharp;

// dotnet run --project bench/Distil.Bench -c Release -- [--threads N] [--steps N] [--warmup N] [--latency-steps N]
//   [--base-steps N] [--base-warmup N] [--shapes minilm,base] [--out FILE.json] [--peer none|/usr/bin/python3] [--memory]
//   ... -- ort-profile ... | summarize KIND ... | import-minilm DIR
// See bench/README.md for what each number means.
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;

if (args.Length > 0 && args[0] == "ort-profile") return OrtProfile.Run(args[1..]); // per-op time in ONNX Runtime (OrtProfile.cs)
if (args.Length > 0 && args[0] == "summarize") return Distil.Bench.Summaries.SummarizeCommand.Run(args[1..]); // bench/results tables (Summaries/)
if (args.Length > 0 && args[0] == "import-minilm") return ImportMiniLm.Run(args[1..]); // the demo's pre-trained teacher (bench/make-teacher.sh)
if (args.Length > 0 && args[0] == "conv-survey") return ConvSurvey.Run(args[1..]); // where float32 conv1d is wrong on this CPU (bench/conv-kernels.sh survey)
if (args.Length > 0 && args[0] == "conv") return ConvKernels.Run(args[1..]); // ShiftedConv1d vs torch's conv1d (bench/conv-kernels.sh)
if (args.Length > 0 && args[0] == "load-formats") return LoadFormats.Run(args[1..]); // WeightFiles.Read time per format (bench/load-formats.sh)

var opts = BenchOptions.Parse(args);
if (opts is null) return 2;

torch.set_num_threads(opts.Threads);
var meta = new JsonObject
{
    ["date_utc"] = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ"),
    ["command"] = "dotnet run --project bench/Distil.Bench -c Release -- " + string.Join(' ', args),
    ["threads"] = opts.Threads,
    ["machine"] = $"{Environment.ProcessorCount} logical cores ({Environment.OSVersion})",
    ["ours"] = $"Distil BertForSequenceClassification, TorchSharp {typeof(torch).Assembly.GetName().Version}, libtorch (MKL), .NET {Environment.Version}",
};

if (opts.Memory)
{
    Console.Error.WriteLine($"memory: training a 2-layer H128 BERT for {opts.MemorySteps} steps through Trainer<T> ...");
    long[] at = new long[] { 1, 10, 50 }.Concat(Enumerable.Range(1, opts.MemorySteps / 100).Select(i => 100L * i)).Append(opts.MemorySteps).Distinct().ToArray();
    var r = MemoryBench.Run(opts.MemorySteps, at, opts.MallocTrimEvery);
    var rss = new JsonArray();
    foreach (var x in r.Samples)
        rss.Add(new JsonObject
        {
            ["step"] = x.Step, ["vm_rss_kb"] = x.RssKb, ["rss_anon_kb"] = x.RssAnonKb, ["rss_file_kb"] = x.RssFileKb,
            ["managed_heap_bytes"] = x.ManagedBytes, ["live_tensors"] = x.LiveTensors,
            ["malloc_in_use_kb"] = x.MallocInUseKb, ["malloc_free_kept_kb"] = x.MallocFreeKb, ["malloc_mmapped_kb"] = x.MallocMmappedKb,
        });
    var json = new JsonObject
    {
        ["meta"] = meta,
        ["memory"] = new JsonObject
        {
            ["model"] = "BertForSequenceClassification L2 H128 heads 2 FFN 512 vocab 1000; batch 16, seq 32, random data; Trainer<T> with AdamW",
            ["steps"] = r.Steps, ["samples"] = rss, ["ratio_last_over_step100"] = r.Ratio,
            ["median_step_ms"] = r.MedianStepMs, ["total_seconds"] = r.TotalSeconds, ["target"] = "ratio <= 1.10",
            ["vm_rss_kb_after_run_and_malloc_trim"] = r.RssKbAfterTrim,
            ["malloc_trim_every_steps"] = r.TrimEvery, ["malloc_trim_median_ms"] = r.MedianTrimMs,
        },
    };
    var md = new StringBuilder();
    md.AppendLine($"Memory, threads {opts.Threads}: RSS after step N of Trainer<T> (MiB).").AppendLine();
    md.AppendLine("| after step | VmRSS | RssAnon | RssFile | malloc in use | malloc free, kept | managed heap | live tensors |").AppendLine("|---|---|---|---|---|---|---|---|");
    foreach (var x in r.Samples)
        md.AppendLine($"| {x.Step} | {x.RssKb / 1024.0:F1} | {x.RssAnonKb / 1024.0:F1} | {x.RssFileKb / 1024.0:F1} | {x.MallocInUseKb / 1024.0:F1} | {x.MallocFreeKb / 1024.0:F1} | {x.ManagedBytes / 1048576.0:F1} | {x.LiveTensors} |");
    md.AppendLine().AppendLine($"VmRSS after the run once glibc returned its free memory (malloc_trim(0)): {r.RssKbAfterTrim / 1024.0:F1} MiB.");
    if (r.TrimEvery > 0) md.AppendLine().AppendLine($"With --malloc-trim-every {r.TrimEvery}: malloc_trim(0) after every {r.TrimEvery} steps (after that step's reading), median {r.MedianTrimMs:F2} ms per call.");
    md.AppendLine().AppendLine($"**RSS step {r.Steps} / step 100 = {r.Ratio:F3}** ({(r.Ratio <= 1.10 ? "within" : "OUTSIDE")} the 10% target); median step {r.MedianStepMs:F1} ms.");
    Output.Write(json, md.ToString(), opts.Out);
    return 0;
}

var all = new List<(Measurement M, Timing Ours)>();
var peerResults = new Dictionary<string, Timing>();
JsonNode? peerMeta = null;
foreach (var shape in opts.Shapes)
{
    bool isBase = shape == Shape.BertBase;
    int warm = isBase ? opts.BaseWarmup : opts.Warmup, steps = isBase ? opts.BaseSteps : opts.Steps;
    var plan = new List<Measurement>
    {
        new(shape.Name, "train_step", 32, 64, warm, steps),
        new(shape.Name, "train_step", 32, 128, warm, steps),
        new(shape.Name, "infer_latency", 1, 64, Math.Max(2, opts.Warmup), opts.LatencySteps),
        new(shape.Name, "infer_latency", 1, 128, Math.Max(2, opts.Warmup), opts.LatencySteps),
        new(shape.Name, "infer_throughput", 32, 128, warm, steps),
    };
    foreach (var (m, t) in ModelBench.Run(shape, plan))
    {
        Console.Error.WriteLine($"ours  {m.Shape} {m.Kind} b{m.Batch} s{m.Seq}: median {t.MedianMs:F1} ms, p95 {t.P95Ms:F1} ms");
        all.Add((m, t));
    }
    GC.Collect();
    if (opts.Peer != "none")
    {
        var (pm, pr) = Peer.Run(opts.Peer, opts.Threads, shape, plan);
        peerMeta ??= pm;
        foreach (var (k, v) in pr) peerResults[k] = v;
    }
}

var results = new JsonArray();
var table = new StringBuilder();
table.AppendLine($"Threads: {opts.Threads}. Times in ms (median of N steps after warm-up; p95 in the JSON).").AppendLine();
table.AppendLine("| shape | measurement | batch x seq | steps | ours median ms | PyTorch median ms | ratio ours/PyTorch |");
table.AppendLine("|---|---|---|---|---|---|---|");
foreach (var (m, ours) in all)
{
    peerResults.TryGetValue(m.Key, out var peer);
    double? ratio = peer is null ? null : ours.MedianMs / peer.MedianMs;
    string label = m.Kind switch
    {
        "train_step" => "train step (fwd+CE+bwd+AdamW)",
        "infer_latency" => "inference latency",
        _ => "inference throughput",
    };
    string Extra(Timing t) => m.Kind == "infer_throughput" ? $" ({m.Batch * 1000.0 / t.MedianMs:F1} seq/s)" : "";
    table.AppendLine($"| {m.Shape} | {label} | {m.Batch}x{m.Seq} | {m.Steps} | {ours.MedianMs:F1}{Extra(ours)} | " +
        $"{(peer is null ? "-" : $"{peer.MedianMs:F1}{Extra(peer)}")} | {(ratio is null ? "-" : $"{ratio:F2}")} |");
    results.Add(new JsonObject
    {
        ["shape"] = m.Shape, ["measurement"] = m.Kind, ["batch"] = m.Batch, ["seq"] = m.Seq, ["warmup"] = m.Warmup, ["steps"] = m.Steps,
        ["ours"] = Output.TimingJson(ours), ["pytorch"] = peer is null ? null : Output.TimingJson(peer), ["ratio_ours_over_pytorch"] = ratio,
    });
}
meta["pytorch"] = peerMeta?.DeepClone();
Output.Write(new JsonObject { ["meta"] = meta, ["results"] = results }, table.ToString(), opts.Out);
return 0;

sealed record BenchOptions(int Threads, int Steps, int Warmup, int LatencySteps, int BaseSteps, int BaseWarmup, Shape[] Shapes,
    string? Out, string Peer, bool Memory, int MemorySteps, int MallocTrimEvery = 0)
{
    public static BenchOptions? Parse(string[] args)
    {
        var o = new BenchOptions(Environment.ProcessorCount, 5, 2, 20, 2, 1, Shape.All, null, "/usr/bin/python3", false, 1000);
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            int Int() { string v = Next(); return int.TryParse(v, out int n) && n >= 0 ? n : throw new ArgumentException($"{args[i - 1]}: '{v}' is not a count"); }
            try
            {
                o = args[i] switch
                {
                    "--threads" => o with { Threads = Math.Max(1, Int()) },
                    "--steps" => o with { Steps = Math.Max(1, Int()) },
                    "--warmup" => o with { Warmup = Int() },
                    "--latency-steps" => o with { LatencySteps = Math.Max(1, Int()) },
                    "--base-steps" => o with { BaseSteps = Math.Max(1, Int()) },
                    "--base-warmup" => o with { BaseWarmup = Int() },
                    "--shapes" => o with
                    {
                        Shapes = Next().Split(',').Select(s => s switch
                        {
                            "minilm" => Shape.MiniLm,
                            "base" => Shape.BertBase,
                            _ => throw new ArgumentException($"unknown shape '{s}' (minilm, base)"),
                        }).ToArray()
                    },
                    "--out" => o with { Out = Next() },
                    "--peer" => o with { Peer = Next() },
                    "--memory" => o with { Memory = true },
                    "--memory-steps" => o with { MemorySteps = Math.Max(100, Int()) },
                    "--malloc-trim-every" => o with { MallocTrimEvery = Int() },
                    "-h" or "--help" => throw new ArgumentException("usage"),
                    _ => throw new ArgumentException($"unknown option '{args[i]}'"),
                };
            }
            catch (ArgumentException e)
            {
                Console.Error.WriteLine(e.Message == "usage" ? "" : "error: " + e.Message);
                Console.Error.WriteLine("usage: Distil.Bench [--threads N] [--steps N] [--warmup N] [--latency-steps N] [--base-steps N] [--base-warmup N]");
                Console.Error.WriteLine("                    [--shapes minilm,base] [--out FILE.json] [--peer none|/usr/bin/python3] [--memory [--memory-steps N] [--malloc-trim-every N]]");
                return null;
            }
        }
        return o;
    }
}

static class Output
{
    public static JsonObject TimingJson(Timing t) => new()
    {
        ["median_ms"] = Math.Round(t.MedianMs, 3), ["p95_ms"] = Math.Round(t.P95Ms, 3),
        ["samples_ms"] = new JsonArray(t.SamplesMs.Select(s => (JsonNode?)JsonValue.Create(Math.Round(s, 3))).ToArray()),
    };

    public static void Write(JsonObject json, string markdown, string? path)
    {
        // Every bench header starts with the CPU and its vector extensions (Distil.Native.MachineInfo).
        string cpu = Distil.Native.MachineInfo.Current.Header();
        if (!markdown.StartsWith("CPU: ", StringComparison.Ordinal)) markdown = cpu + "\n\n" + markdown;
        if (json["meta"] is JsonObject jm && jm["cpu"] is null) jm["cpu"] = cpu;
        string text = json.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
        Console.WriteLine(markdown);
        Console.WriteLine(text);
        if (path != null)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
            File.WriteAllText(path, text + "\n");
            File.WriteAllText(Path.ChangeExtension(path, ".md"), markdown);
            Console.Error.WriteLine($"wrote {path} and {Path.ChangeExtension(path, ".md")}");
        }
    }
}

static class Peer
{
    /// <summary>Runs bench/pytorch_peer.py for one shape and the same plan; returns its meta and timings by key.</summary>
    public static (JsonNode? Meta, Dictionary<string, Timing> Results) Run(string python, int threads, Shape shape, IReadOnlyList<Measurement> plan)
    {
        string script = FindScript() ?? throw new FileNotFoundException("bench/pytorch_peer.py not found above the current or the program's folder");
        var psi = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = false, UseShellExecute = false };
        psi.ArgumentList.Add(script);
        psi.ArgumentList.Add("--threads"); psi.ArgumentList.Add(threads.ToString(CultureInfo.InvariantCulture));
        psi.ArgumentList.Add("--shape"); psi.ArgumentList.Add(JsonSerializer.Serialize(shape));
        psi.ArgumentList.Add("--plan"); psi.ArgumentList.Add(JsonSerializer.Serialize(plan));
        string? blas = FindOpenBlas();
        if (blas != null)
        {
            string old = Environment.GetEnvironmentVariable("LD_LIBRARY_PATH") ?? "";
            psi.Environment["LD_LIBRARY_PATH"] = old.Length == 0 ? blas : blas + ":" + old;
        }
        else Console.Error.WriteLine("warning: no OpenBLAS peer found (run bench/setup-pytorch-peer.sh); PyTorch uses the system BLAS and is NOT a fair baseline");
        psi.Environment["OPENBLAS_NUM_THREADS"] = threads.ToString(CultureInfo.InvariantCulture);
        psi.Environment["OMP_NUM_THREADS"] = threads.ToString(CultureInfo.InvariantCulture);
        Console.Error.WriteLine($"peer: {python} {script} ({shape.Name}, LD_LIBRARY_PATH={blas})");
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {python}");
        string stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"the PyTorch peer failed (exit {p.ExitCode}); see its stderr above");
        var doc = JsonNode.Parse(stdout)!;
        var results = new Dictionary<string, Timing>();
        foreach (var r in doc["results"]!.AsArray())
        {
            var m = new Measurement((string)r!["shape"]!, (string)r["measurement"]!, (int)r["batch"]!, (int)r["seq"]!, 0, 0);
            var samples = r["samples_ms"]!.AsArray().Select(x => (double)x!).ToArray();
            results[m.Key] = Timing.Of(samples);
        }
        return (doc["meta"], results);
    }

    static string? FindScript()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
            for (var d = new DirectoryInfo(start); d != null; d = d.Parent)
            {
                string candidate = Path.Combine(d.FullName, "bench", "pytorch_peer.py");
                if (File.Exists(candidate)) return candidate;
            }
        return null;
    }

    static string? FindOpenBlas()
    {
        string root = Environment.GetEnvironmentVariable("OPENBLAS_PEER_DIR") ?? "/opt/openblas-peer";
        if (!Directory.Exists(root)) return null;
        var lib = Directory.EnumerateFiles(root, "libblas.so.3", SearchOption.AllDirectories).FirstOrDefault();
        return lib is null ? null : Path.GetDirectoryName(lib);
    }
}
