using System.Text.Json.Nodes;
using Distil.Checkpoints;
using Distil.Cli;
using Distil.Cli.Commands;
using Distil.FineTune;
using Distil.Models;
using TorchSharp;
using Xunit;

namespace Distil.Tests;

/// <summary>
/// The `distil` commands end to end on a tiny random BERT folder and a small sentiment-like file: exit codes,
/// run-folder contents, resume, and the error contract for bad input.
/// </summary>
public class CliTests
{
    static readonly string[] Words = TinyBert.Words;

    public CliTests() => torch.set_num_threads(1);

    /// <summary>Rows "text, label, domain": label 1 when a positive word appears.</summary>
    internal static string Data(string name, int rows, int seed, string? extraLine = null)
    {
        var rng = new Random(seed);
        string path = Path.Combine(TempDir.Scratch("cli-data"), name);
        var lines = new List<string> { "text\tlabel\tdomain" };
        for (int i = 0; i < rows; i++)
        {
            int label = i % 2;
            string sentiment = label == 1 ? Words[rng.Next(4)] : Words[4 + rng.Next(4)];
            lines.Add($"the {Words[9 + rng.Next(3)]} was {sentiment} .\t{label}\t{(i % 3 == 0 ? "a" : "b")}");
        }
        if (extraLine != null) lines.Insert(3, extraLine);
        File.WriteAllLines(path, lines);
        return path;
    }

    static int Run(params string[] args) => CliApp.Run(args);

    [Fact]
    public void FinetuneWritesARunFolderAndEvalAndPredictAgree()
    {
        string teacher = TinyBert.TeacherFolder(), train = Data("train.tsv", 48, 1), dev = Data("dev.tsv", 24, 2);
        string run = Path.Combine(TempDir.Scratch("cli-run"), "ft");
        int code = Run("finetune", "--model", teacher, "--train", train, "--dev", dev, "--test", dev, "--out", run,
            "--epochs", "10", "--batch-size", "8", "--lr", "3e-3", "--max-seq-len", "16", "--threads", "1", "--pooling", "mean");
        Assert.Equal(ExitCodes.Ok, code);
        foreach (string f in new[] { "config.resolved.json", "metrics.jsonl", "report.md", "training.png", "best/config.json", "best/model.safetensors", "best/vocab.txt" })
            Assert.True(File.Exists(Path.Combine(run, f)), $"{f} missing from the run folder");
        var resolved = JsonNode.Parse(File.ReadAllText(Path.Combine(run, "config.resolved.json")))!;
        Assert.Equal(10, resolved["config"]!["training"]!["epochs"]!.GetValue<int>());
        Assert.Equal(0.003, resolved["config"]!["training"]!["learning_rate"]!.GetValue<double>(), 9);
        var best = BertConfig.Load(Path.Combine(run, "best", "config.json"));
        Assert.Equal(new[] { "0", "1" }, best.Labels);
        Assert.Contains("accuracy_a", File.ReadAllText(Path.Combine(run, "report.md")));

        // The task is learnable: best/ beats chance clearly on dev.
        string json = Path.Combine(run, "eval.json");
        Assert.Equal(ExitCodes.Ok, Run("eval", "--model", Path.Combine(run, "best"), "--data", dev, "--max-seq-len", "16", "--metrics-json", json));
        double accuracy = JsonNode.Parse(File.ReadAllText(json))!["accuracy"]!.GetValue<double>();
        Assert.True(accuracy >= 0.75, $"dev accuracy {accuracy}");

        var predictions = PredictCommand.Predict(Path.Combine(run, "best"), new[] { ("the movie was great .", (string?)null), ("the food was awful .", null) }, 16);
        Assert.Equal(new[] { "1", "0" }, predictions.Select(p => p.Label));
        Assert.All(predictions, p => Assert.Equal(1.0, p.Probabilities.Values.Sum(), 4));

        // Same folder again without --resume is refused; with --resume alone it takes the run's settings and
        // continues from the last checkpoint (here: with 2 more epochs).
        Assert.Equal(ExitCodes.InvalidUsage, Run("finetune", "--model", teacher, "--train", train, "--out", run));
        Assert.Equal(ExitCodes.Ok, Run("finetune", "--out", run, "--resume", "--epochs", "12"));
        var steps = File.ReadAllLines(Path.Combine(run, "metrics.jsonl")).Select(l => JsonNode.Parse(l)!)
            .Where(n => n["type"]!.GetValue<string>() == "train").Select(n => n["step"]!.GetValue<int>()).ToArray();
        Assert.Equal(72, steps.Max());
        Assert.Equal(steps.Distinct().Count(), steps.Length); // no step logged twice
    }

    [Fact]
    public void EveryTrainingCommandTakesKeepAndDropCheckpoints()
    {
        var root = CliApp.Build();
        foreach (string name in new[] { "finetune", "distill", "search", "l2a", "metakd" })
        {
            var cmd = root.Subcommands.Single(c => c.Name == name);
            foreach (string option in new[] { "--keep-checkpoints", "--drop-checkpoints" })
                Assert.True(cmd.Options.Any(o => o.Name == option), $"distil {name} has no {option}");
        }
    }

    [Fact]
    public void FinetuneKeepsAsManyCheckpointsAsAskedOrDropsThemAtTheEnd()
    {
        string teacher = TinyBert.TeacherFolder(), train = Data("train.tsv", 32, 1), dev = Data("dev.tsv", 8, 2);
        using var t = new TempDir();
        string[] Args(string run, params string[] more) => new[] { "finetune", "--model", teacher, "--train", train, "--dev", dev, "--out", run,
            "--epochs", "2", "--batch-size", "8", "--max-seq-len", "16", "--threads", "1", "--save-every", "2" }.Concat(more).ToArray();

        string keep = Path.Combine(t.Path, "keep");
        Assert.Equal(ExitCodes.Ok, Run(Args(keep, "--keep-checkpoints", "3")));
        Assert.Equal(new[] { "step-0000004", "step-0000006", "step-0000008" },
            Directory.GetDirectories(Path.Combine(keep, "checkpoints")).Select(Path.GetFileName).Order().ToArray());

        string drop = Path.Combine(t.Path, "drop");
        Assert.Equal(ExitCodes.Ok, Run(Args(drop, "--drop-checkpoints")));
        Assert.False(Directory.Exists(Path.Combine(drop, "checkpoints")));
        Assert.True(File.Exists(Path.Combine(drop, "best", "model.safetensors")));
        var resolved = JsonNode.Parse(File.ReadAllText(Path.Combine(drop, "config.resolved.json")))!;
        Assert.True(resolved["config"]!["training"]!["drop_checkpoints"]!.GetValue<bool>());
    }

    [Fact]
    public void UnknownConfigKeyIsAUsageErrorWithASuggestion()
    {
        string cfg = Path.Combine(TempDir.Scratch("cli-cfg"), "run.json");
        File.WriteAllText(cfg, """{ "model": "m", "training": { "epoch": 2 } }""");
        var e = Assert.Throws<DistilException>(() => ConfigResolver.Resolve<Distil.FineTune.FineTuneConfig>(cfg, new Dictionary<string, JsonNode?>()));
        Assert.Equal(ExitCodes.InvalidUsage, e.ExitCode);
        Assert.Contains("unknown key 'training.epoch'", e.Message);
        Assert.Contains("did you mean 'training.epochs'", e.Message);
        Assert.Equal(ExitCodes.InvalidUsage, Run("finetune", "--config", cfg, "--out", Path.Combine(Path.GetDirectoryName(cfg)!, "r")));
    }

    [Fact]
    public void FlagsOverrideTheConfigFile()
    {
        string cfg = Path.Combine(TempDir.Scratch("cli-cfg"), "run.json");
        File.WriteAllText(cfg, """{ "model": "m", "data": { "max_seq_len": 32 }, "training": { "epochs": 5, "batch_size": 4 } }""");
        var (c, _) = ConfigResolver.Resolve<Distil.FineTune.FineTuneConfig>(cfg, new Dictionary<string, JsonNode?> { ["training.epochs"] = 1 });
        Assert.Equal((1, 4, 32, 0.01), (c.Training.Epochs, c.Training.BatchSize, c.Data.MaxSeqLen, c.Training.WeightDecay));
    }

    [Fact]
    public void BadRowStopsWithFileAndLineUnlessSkipped()
    {
        string teacher = TinyBert.TeacherFolder();
        string train = Data("train.tsv", 16, 1, extraLine: "only one column");
        string run = Path.Combine(TempDir.Scratch("cli-run"), "ft");
        Assert.Equal(ExitCodes.InvalidInput, Run("finetune", "--model", teacher, "--train", train, "--out", run, "--max-steps", "1"));
        Assert.False(Directory.Exists(Path.Combine(run, "best")), "nothing half-done is left behind");
        var e = Assert.Throws<DistilException>(() => Distil.Data.DatasetReader.Read(train));
        Assert.Contains($"{train}:4", e.Message);

        string run2 = Path.Combine(Path.GetDirectoryName(run)!, "ft2");
        Assert.Equal(ExitCodes.Ok, Run("finetune", "--model", teacher, "--train", train, "--out", run2, "--max-steps", "2", "--batch-size", "4", "--skip-bad-rows", "--max-seq-len", "16"));
        Assert.Contains("1 bad rows skipped", File.ReadAllText(Path.Combine(run2, "report.md")));
    }

    [Fact]
    public void MissingInputsHaveTheirExitCodes()
    {
        string run = Path.Combine(TempDir.Scratch("cli-run"), "ft");
        Assert.Equal(ExitCodes.InputNotFound, Run("finetune", "--model", "/nonexistent/model", "--train", "/nonexistent/train.tsv", "--out", run));
        Assert.Equal(ExitCodes.InvalidUsage, Run("finetune", "--train", "x.tsv", "--out", run)); // no --model
    }

    [Fact]
    public void DemoRefusesAnUnknownStepToSkipBeforeDoingAnything()
    {
        string dir = Path.Combine(TempDir.Scratch("cli-demo"), "demo");
        Assert.Equal(ExitCodes.InvalidUsage, Run("demo", "--out", dir, "--skip", "adabert,nosuchstep"));
        Assert.False(Directory.Exists(dir));
    }
}
