using System.CommandLine;
using System.Text.Json.Nodes;
using Distil.Deploy;
using Distil.Onnx;
using Spectre.Console;

namespace Distil.Cli.Commands;

/// <summary>`distil bench`: size, speed and accuracy of models, each on ONNX Runtime and TorchSharp, as a table and a plot.</summary>
public static class BenchCommand
{
    public static Command Create()
    {
        var models = new Argument<string[]>("RUN_OR_MODEL") { Description = "Run folders (their best/), model folders or export folders", Arity = ArgumentArity.OneOrMore };
        var data = OptionMeanings.Create<string?>("--data", ": labelled, for the accuracy column (and the Pareto plot)");
        var maxLen = new Option<int>("--max-seq-len") { Description = OptionMeanings.Describe("--max-seq-len", "for accuracy (default 128)"), DefaultValueFactory = _ => 128 };
        var outDir = new Option<string>("--out") { Description = OptionMeanings.Describe("--out", ": a folder of bench.json, bench.md, pareto.png (default runs/bench)"), DefaultValueFactory = _ => "runs/bench" };
        var int8 = OptionMeanings.Create<string[]>("--int8", "; also quantize every model folder to these (repeat or comma-separate)");
        var threads = new Option<int>("--threads") { Description = OptionMeanings.Describe("--threads", "per engine (default 1; engines never run at the same time)"), DefaultValueFactory = _ => 1 };
        var runs = new Option<int>("--runs") { Description = "Timed batch-1 runs per length (default 50)", DefaultValueFactory = _ => 50 };
        var batchRuns = new Option<int>("--batch-runs") { Description = "Timed batch-32 runs (default 10)", DefaultValueFactory = _ => 10 };
        var warmup = new Option<int>("--warmup") { Description = "Warm-up runs before each timing (default 5)", DefaultValueFactory = _ => 5 };
        var noTorch = new Option<bool>("--no-torchsharp") { Description = "Measure ONNX Runtime only" };
        var fused = OptionMeanings.Create<bool>("--ort-fused", "; in the export of model folders");
        var cmd = new Command("bench", """
            Measure models the same way: parameters, file size, batch-1 latency p50/p95 at 64 and 128 tokens, throughput at
            batch 32 x 128, accuracy on --data. A model folder is measured in TorchSharp and, exported (and checked), in
            ONNX Runtime, plus int8 variants with --int8; an export folder in ONNX Runtime only. Writes bench.json,
            bench.md and pareto.png (accuracy vs latency) to --out.

            Examples:
              distil bench runs/ft runs/kd --int8 integer --data data/uci-sentiment/test.domain.tsv --max-seq-len 64 --out runs/bench
              distil bench runs/kd/onnx runs/kd/onnx-int8 --no-torchsharp
            """);
        cmd.Arguments.Add(models);
        foreach (var o in new Option[] { data, maxLen, outDir, int8, threads, runs, batchRuns, warmup, noTorch, fused }) cmd.Options.Add(o);
        cmd.SetAction(r =>
        {
            int n = r.GetValue(threads);
            CommonOptions.Setup("cpu", n);
            if (r.GetValue(runs) < 1 || r.GetValue(batchRuns) < 1 || r.GetValue(warmup) < 0) throw DistilException.Usage("--runs and --batch-runs must be at least 1, --warmup at least 0");
            var formats = (r.GetValue(int8) ?? []).SelectMany(s => s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).Select(s => s switch
            {
                "integer" => Int8Format.Integer,
                "contrib" => Int8Format.Contrib,
                "qdq" => Int8Format.Qdq,
                _ => throw DistilException.Usage($"--int8 '{s}' is not known; use integer, contrib or qdq"),
            }).Distinct().ToList();
            var options = new BenchOptions
            {
                DataPath = r.GetValue(data), MaxSeqLen = r.GetValue(maxLen), Threads = n, LatencyRuns = r.GetValue(runs),
                ThroughputRuns = r.GetValue(batchRuns), Warmup = r.GetValue(warmup), Int8Formats = formats, TorchSharp = !r.GetValue(noTorch), OrtFused = r.GetValue(fused),
            };
            string outPath = r.GetValue(outDir)!;
            string scratch = Directory.CreateTempSubdirectory("distil-bench-").FullName;
            string? loadBefore = LoadAverage();
            try
            {
                var rows = InferenceBench.Run(r.GetValue(models)!, options, scratch, line => Console.Error.WriteLine(line));
                var meta = new JsonObject
                {
                    ["command"] = "distil " + string.Join(' ', Environment.GetCommandLineArgs().Skip(1)),
                    ["date_utc"] = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ"),
                    ["machine"] = $"{Environment.ProcessorCount} logical cores, {Environment.OSVersion}, .NET {Environment.Version}",
                    ["threads"] = n,
                    ["distil_version"] = Distil.Version.Value,
                    // Other work on the same cores slows every row; the load average says how busy the machine was.
                    ["load_average_before"] = loadBefore,
                    ["load_average_after"] = LoadAverage(),
                };
                string md = BenchReport.Write(rows, options, outPath, meta);
                Console.WriteLine(md);
                AnsiConsole.MarkupLineInterpolated($"[green]bench[/] {Path.GetFullPath(outPath)}: {BenchReport.JsonFile}, {BenchReport.MarkdownFile}{(rows.Any(x => x.Accuracy != null) ? ", " + BenchReport.PlotFile : "")}");
            }
            finally { try { Directory.Delete(scratch, true); } catch (IOException) { } }
            return ExitCodes.Ok;
        });
        return cmd;
    }

    static string? LoadAverage() => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : null;
}
