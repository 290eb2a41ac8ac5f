using System.Text.Json.Nodes;
using Distil.Checkpoints;
using Distil.Cli;
using TorchSharp;
using Xunit;

namespace Distil.Tests;

/// <summary>`distil distill` end to end on a tiny fine-tuned teacher: every preset runs, best/ loads, bad plans fail early.</summary>
public class DistillCliTests
{
    public DistillCliTests() => torch.set_num_threads(1);

    static string Data(string name, int rows, int seed)
    {
        var rng = new Random(seed);
        var w = TinyBert.Words;
        string path = Path.Combine(TempDir.Scratch("kd-data"), name);
        File.WriteAllLines(path, new[] { "text\tlabel" }.Concat(Enumerable.Range(0, rows).Select(i =>
            $"the {w[9 + rng.Next(3)]} was {(i % 2 == 1 ? w[rng.Next(4)] : w[4 + rng.Next(4)])} .\t{i % 2}")));
        return path;
    }

    /// <summary>A teacher fine-tuned by the real command (two layers, so students can be shallower).</summary>
    static (string Teacher, string Train, string Dev) FineTunedTeacher()
    {
        string encoder = TinyBert.TeacherFolder(layers: 2);
        string train = Data("train.tsv", 48, 1), dev = Data("dev.tsv", 16, 2);
        string run = Path.Combine(TempDir.Scratch("kd-teacher"), "ft");
        Assert.Equal(ExitCodes.Ok, CliApp.Run(new[] { "finetune", "--model", encoder, "--train", train, "--dev", dev, "--out", run,
            "--epochs", "6", "--batch-size", "8", "--lr", "3e-3", "--max-seq-len", "16", "--pooling", "mean", "--threads", "1" }));
        return (Path.Combine(run, "best"), train, dev);
    }

    [Fact]
    public void EveryPresetRunsAndLeavesALoadableStudent()
    {
        var (teacher, train, dev) = FineTunedTeacher();
        foreach (var (preset, student) in new[] { ("kd", "L1-H16-A2-I32"), ("distilbert", "L1-H16-A2-I32"), ("pkd", "L1-H8-A2-I16"),
                                                  ("tinybert", "L1-H8-A2-I16"), ("minilm", "L1-H8-A2-I16") })
        {
            string run = Path.Combine(TempDir.Scratch("kd-run"), preset);
            int code = CliApp.Run(new[] { "distill", "--teacher", teacher, "--student", student, "--preset", preset, "--train", train, "--dev", dev,
                "--out", run, "--epochs", "1", "--batch-size", "8", "--max-seq-len", "16", "--lr", "1e-3", "--threads", "1" });
            Assert.True(code == ExitCodes.Ok, $"{preset} exited with {code}");
            var (model, _) = ModelFolder.LoadForClassification(Path.Combine(run, "best"));
            using (model) Assert.Equal(1, model.Config.NumHiddenLayers);
            string report = File.ReadAllText(Path.Combine(run, "report.md"));
            Assert.Contains("batch-1 latency", report);
            Assert.Contains("non-embedding", report);
            int stages = preset is "tinybert" or "minilm" ? 2 : 1;
            for (int k = 1; k <= stages; k++) Assert.True(File.Exists(Path.Combine(run, $"stage-{k}", "done.json")), $"{preset} stage {k}");
        }
    }

    [Fact]
    public void KdFromTheTeacherWidthLearnsTheTaskWithTheLogitsOfTheLabelStore()
    {
        var (teacher, train, dev) = FineTunedTeacher();
        string run = Path.Combine(TempDir.Scratch("kd-run"), "kd");
        Assert.Equal(ExitCodes.Ok, CliApp.Run(new[] { "distill", "--teacher", teacher, "--student", "L1-H16-A2-I32", "--init", "teacher",
            "--train", train, "--dev", dev, "--out", run, "--epochs", "4", "--batch-size", "8", "--max-seq-len", "16", "--lr", "3e-3", "--threads", "1" }));
        // The teacher's logits of every training row are in the label store next to the data, once each.
        var store = Distil.Labels.LabelStore.Open(Assert.Single(Directory.GetDirectories(Path.Combine(Path.GetDirectoryName(train)!, ".distil-cache"), "labels-*")));
        Assert.Equal(Distil.Data.DatasetReader.Read(train).Examples.Select(e => e.Text).Distinct().Order(), store.Rows().Select(r => r.Row.Text).Order());
        var evalRow = File.ReadAllLines(Path.Combine(run, "metrics.jsonl")).Select(l => JsonNode.Parse(l)!).Last(n => n["type"]!.GetValue<string>() == "eval");
        Assert.True(evalRow["accuracy"]!.GetValue<double>() >= 0.75, $"student dev accuracy {evalRow["accuracy"]}");
    }

    [Fact]
    public void APlanThatCannotWorkFailsBeforeTraining()
    {
        var (teacher, train, dev) = FineTunedTeacher();
        string run = Path.Combine(TempDir.Scratch("kd-run"), "bad");
        // tinybert matches attention head by head: a student with another head count is refused up front.
        Assert.Equal(ExitCodes.InvalidUsage, CliApp.Run(new[] { "distill", "--teacher", teacher, "--student", "L1-H16-A4-I32", "--preset", "tinybert",
            "--train", train, "--out", run, "--threads", "1" }));
        Assert.False(Directory.Exists(Path.Combine(run, "stage-1")), "no training started");
        Assert.Equal(ExitCodes.InvalidUsage, CliApp.Run(new[] { "distill", "--teacher", teacher, "--student", "L3-H16-A2-I32", "--init", "teacher",
            "--train", train, "--out", run + "2", "--threads", "1" })); // deeper than the teacher
        Assert.Equal(ExitCodes.InvalidUsage, CliApp.Run(new[] { "distill", "--teacher", teacher, "--preset", "fancy", "--train", train, "--out", run + "3" }));
    }
}
