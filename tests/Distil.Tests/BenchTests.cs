using System.Text.Json.Nodes;
using Distil.Cli;
using Distil.Deploy;
using Distil.Onnx;
using TorchSharp;
using Xunit;

namespace Distil.Tests;

/// <summary>
/// `distil bench` end to end on tiny models (no timing assertions: only that every number is there and consistent):
/// the same weights give the same parameter count and accuracy on both engines; int8 rows are made and smaller; the
/// JSON, Markdown and PNG are written; bad inputs fail with the documented codes.
/// </summary>
public sealed class BenchTests : IDisposable
{
    readonly TempDir tmp = new();
    public BenchTests() => torch.set_num_threads(1);
    public void Dispose() => tmp.Dispose();

    [Fact]
    public void BenchMeasuresEveryModelOnBothEnginesAndWritesTableJsonAndPlot()
    {
        string model = DeployFixtures.ClassifierFolder(tmp.Path, "mean", seed: 3);
        string data = tmp.File("data.tsv", "text\tlabel\n" + string.Join("\n", DeployFixtures.Sentences.Select((s, i) => $"{s}\tL{i % 3}")));
        string outDir = Path.Combine(tmp.Path, "bench");
        int code = CliApp.Run(["bench", model, "--int8", "integer", "--data", data, "--max-seq-len", "32", "--runs", "3", "--batch-runs", "1",
            "--warmup", "1", "--out", outDir]);
        Assert.Equal(ExitCodes.Ok, code);

        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(outDir, "bench.json")))!;
        var rows = json["rows"]!.AsArray();
        Assert.Equal(3, rows.Count);
        Assert.Equal(new[] { "torchsharp/fp32", "onnxruntime/fp32", "onnxruntime/int8-integer" },
            rows.Select(r => $"{r!["engine"]}/{r["precision"]}"));
        var (ts, fp32, int8) = (rows[0]!, rows[1]!, rows[2]!);
        Assert.Equal(ts["parameters"]!.GetValue<long>(), fp32["parameters"]!.GetValue<long>());
        Assert.Equal(ts["accuracy"]!.GetValue<double>(), fp32["accuracy"]!.GetValue<double>()); // same weights, same predictions
        Assert.True(int8["file_bytes"]!.GetValue<long>() < fp32["file_bytes"]!.GetValue<long>() * 3 / 4);
        foreach (var r in rows)
        {
            Assert.Equal(new[] { 64, 128 }, r!["latency"]!.AsArray().Select(l => l!["seq_len"]!.GetValue<int>()));
            foreach (var l in r["latency"]!.AsArray()) Assert.True(l!["p50_ms"]!.GetValue<double>() <= l["p95_ms"]!.GetValue<double>());
            Assert.Equal(32, r["throughput"]!["batch"]!.GetValue<int>());
            Assert.True(r["sequences_per_second"]!.GetValue<double>() > 0);
            Assert.Equal(DeployFixtures.Sentences.Length, r["accuracy_examples"]!.GetValue<int>());
        }

        string md = File.ReadAllText(Path.Combine(outDir, "bench.md"));
        Assert.Contains("| model | engine | precision |", md);
        Assert.Contains("ONNX fp32 vs TorchSharp fp32", md);
        Assert.Contains("ONNX int8-integer vs ONNX fp32", md);
        var png = File.ReadAllBytes(Path.Combine(outDir, "pareto.png"));
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, png.Take(4));
    }

    [Fact]
    public void ExportFoldersAreMeasuredInOnnxRuntimeOnlyAndBadPathsFail()
    {
        string model = DeployFixtures.ClassifierFolder(tmp.Path, "pooler", seed: 4);
        string onnx = Path.Combine(tmp.Path, "onnx");
        OnnxExport.Export(model, onnx, new ExportOptions { RandomRows = 8 });
        // Two threads: the path that times one model at a time (each session and its pool gone before the next).
        var rows = InferenceBench.Run([onnx, onnx], new BenchOptions { LatencyRuns = 2, ThroughputRuns = 1, Warmup = 0, Threads = 2 }, tmp.Path);
        Assert.Equal(2, rows.Count);
        var row = rows[0];
        Assert.Equal(InferenceBench.OnnxRuntime, row.Engine);
        Assert.Equal("fp32", row.Precision);
        Assert.Null(row.Accuracy);

        Assert.Equal(ExitCodes.InputNotFound, CliApp.Run(["bench", Path.Combine(tmp.Path, "missing"), "--out", Path.Combine(tmp.Path, "b")]));
        Assert.Equal(ExitCodes.InvalidUsage, CliApp.Run(["bench", model, "--int8", "int4", "--out", Path.Combine(tmp.Path, "b")]));
    }
}
