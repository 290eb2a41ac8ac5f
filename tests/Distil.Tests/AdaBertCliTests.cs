using System.Text.Json.Nodes;
using Distil.Checkpoints;
using Distil.Cli;
using Distil.Cli.Commands;
using TorchSharp;
using Xunit;

namespace Distil.Tests;

/// <summary>`distil search` end to end on a tiny fine-tuned teacher: search, derive, retrain, a student eval/predict load, resume, derive-only.</summary>
public class AdaBertCliTests
{
    public AdaBertCliTests() => torch.set_num_threads(1);

    static string Data(string name, int rows, int seed)
    {
        var rng = new Random(seed);
        var w = TinyBert.Words;
        string path = Path.Combine(TempDir.Scratch("ab-data"), name);
        File.WriteAllLines(path, new[] { "text\tlabel" }.Concat(Enumerable.Range(0, rows).Select(i =>
            $"the {w[9 + rng.Next(3)]} was {(i % 2 == 1 ? w[rng.Next(4)] : w[4 + rng.Next(4)])} .\t{i % 2}")));
        return path;
    }

    /// <summary>A tiny encoder fine-tuned on <paramref name="train"/> (mean pooling): the teacher of a search.</summary>
    static string FineTunedTeacher(string root, string train, string dev, int epochs)
    {
        string ft = Path.Combine(root, "ft");
        Assert.Equal(ExitCodes.Ok, CliApp.Run(["finetune", "--model", TinyBert.TeacherFolder(layers: 2), "--train", train, "--dev", dev, "--out", ft,
            "--epochs", epochs.ToString(), "--batch-size", "8", "--lr", "3e-3", "--max-seq-len", "16", "--pooling", "mean", "--threads", "1"]));
        return Path.Combine(ft, "best");
    }

    [Fact]
    public void SearchDerivesRetrainsAndLeavesAStudentThatEvalAndPredictLoad()
    {
        string train = Data("train.tsv", 48, 1), dev = Data("dev.tsv", 16, 2);
        string root = TempDir.Scratch("ab-run");
        string teacher = FineTunedTeacher(root, train, dev, epochs: 4);
        string config = Path.Combine(root, "search.json");
        File.WriteAllText(config, """
            { "search": { "op_costs_ms": [1.0, 1.4, 1.8, 1.1, 1.5, 2.0, 0.3, 0.3, 0.02, 0], "arch_learning_rate": 0.03 },
              "retrain": { "training": { "epochs": 2 } }, "log_every_steps": 2 }
            """);
        string run = Path.Combine(root, "adabert");
        string[] args = ["search", "--teacher", teacher, "--train", train, "--dev", dev, "--config", config, "--out", run,
            "--k-max", "2", "--hidden", "8", "--search-epochs", "2", "--batch-size", "8", "--max-seq-len", "16", "--threads", "1"];
        Assert.Equal(ExitCodes.Ok, CliApp.Run(args));

        string best = Path.Combine(run, "best");
        Assert.Equal("adabert_cnn", ClassifierFolder.ModelType(best));
        var cfg = JsonNode.Parse(File.ReadAllText(Path.Combine(best, "config.json")))!;
        var genotype = cfg["genotype"]!.ToJsonString();
        Assert.Equal(JsonNode.Parse(File.ReadAllText(Path.Combine(run, "genotype.json")))!.ToJsonString(), genotype);
        Assert.DoesNotContain("\"zero\"", genotype);
        Assert.DoesNotContain("Edges", genotype); // only depth and nodes are stored
        foreach (var f in new[] { "report.md", "cell.png", "alpha_ops.png", "alpha_depth.png", "alpha_edges.png", "training.png", "search/done.json", "retrain/done.json" })
            Assert.True(File.Exists(Path.Combine(run, f)), f);
        Assert.Contains("Derived architecture", File.ReadAllText(Path.Combine(run, "report.md")));
        var stages = File.ReadAllLines(Path.Combine(run, "metrics.jsonl")).Select(l => JsonNode.Parse(l)!["stage"]!.GetValue<int>()).Distinct().Order();
        Assert.Equal([1, 2], stages);

        Assert.Equal(ExitCodes.Ok, CliApp.Run(["eval", "--model", best, "--data", dev, "--max-seq-len", "16", "--threads", "1"]));
        var predictions = PredictCommand.Predict(best, [("the movie was great .", null)], 16);
        Assert.Equal(2, predictions[0].Probabilities.Count);
        Assert.Equal(1.0, predictions[0].Probabilities.Values.Sum(), 4);

        // A finished run resumes to the same student without training again; derive-only repeats the genotype.
        var weights = File.ReadAllBytes(Path.Combine(best, "model.safetensors"));
        Assert.Equal(ExitCodes.Ok, CliApp.Run(["search", "--out", run, "--resume", "--threads", "1"]));
        Assert.Equal(weights, File.ReadAllBytes(Path.Combine(best, "model.safetensors")));
        File.Delete(Path.Combine(run, "genotype.json"));
        Assert.Equal(ExitCodes.Ok, CliApp.Run(["search", "--derive-only", run]));
        Assert.Equal(genotype, JsonNode.Parse(File.ReadAllText(Path.Combine(run, "genotype.json")))!.ToJsonString());

        // The identity-only ablation: the same search, retrained with every derived op replaced by identity (same depth,
        // same inputs), in its own folder (a copy of the finished search, as bench/adabert/retrain-variants.sh makes).
        string ablation = Path.Combine(root, "identity");
        TempDir.CopyTree(Path.Combine(run, "search"), Path.Combine(ablation, "search"));
        File.Copy(Path.Combine(run, "config.resolved.json"), Path.Combine(ablation, "config.resolved.json"));
        Assert.Equal(ExitCodes.Ok, CliApp.Run(["search", "--out", ablation, "--resume", "--retrain-cells", "identity", "--threads", "1"]));
        var expected = JsonNode.Parse(genotype)!;
        foreach (var node in expected["nodes"]!.AsArray()) foreach (var edge in node!.AsArray()) edge!["op"] = "identity";
        Assert.Equal(expected.ToJsonString(), JsonNode.Parse(File.ReadAllText(Path.Combine(ablation, "best", "config.json")))!["genotype"]!.ToJsonString());
        Assert.Equal(expected.ToJsonString(), JsonNode.Parse(File.ReadAllText(Path.Combine(ablation, "result.json")))!["genotype"]!.ToJsonString());
        Assert.Equal(ExitCodes.InvalidUsage, CliApp.Run(["search", "--out", Path.Combine(root, "bad-cells"), "--teacher", teacher, "--train", train,
            "--retrain-cells", "conv3", "--threads", "1"]));
        // The pair head needs pairs (this data has one text per row); an unknown head is refused up front.
        Assert.Equal(ExitCodes.InvalidUsage, CliApp.Run(["search", "--out", Path.Combine(root, "pair-on-single"), "--teacher", teacher, "--train", train,
            "--cnn-head", "pair", "--threads", "1"]));
        Assert.Equal(ExitCodes.InvalidUsage, CliApp.Run(["search", "--out", Path.Combine(root, "bad-head"), "--teacher", teacher, "--train", train,
            "--cnn-head", "cls", "--threads", "1"]));
    }

    [Fact]
    public void AugmentRetrainsOnTheTrainingRowsPlusTheirTeacherLabelledCopies()
    {
        string train = Data("train.tsv", 40, 3), dev = Data("dev.tsv", 16, 4);
        string root = TempDir.Scratch("ab-aug");
        string teacher = FineTunedTeacher(root, train, dev, epochs: 2);
        string config = Path.Combine(root, "search.json");
        File.WriteAllText(config, """{ "search": { "op_costs_ms": [1.0, 1.4, 1.8, 1.1, 1.5, 2.0, 0.3, 0.3, 0.02, 0] }, "log_every_steps": 100 }""");
        string run = Path.Combine(root, "adabert");
        Assert.Equal(ExitCodes.Ok, CliApp.Run(["search", "--teacher", teacher, "--train", train, "--dev", dev, "--config", config,
            "--out", run, "--k-max", "2", "--hidden", "8", "--search-epochs", "1", "--retrain-epochs", "2", "--augment", "3", "--batch-size", "8",
            "--max-seq-len", "16", "--threads", "1"]));

        // The copies' labels are in the label store next to the training data; retraining walks original + augmented rows each epoch.
        string store = Assert.Single(Directory.GetDirectories(Path.Combine(Path.GetDirectoryName(train)!, ".distil-cache"), "labels-*"));
        Assert.InRange(Distil.Labels.LabelStore.Open(store).Rows().Count(), 1, 120); // distinct copies only: at most 3 per row
        int retrainRows = JsonNode.Parse(File.ReadAllText(Path.Combine(run, "retrain", "done.json")))!["Result"]!["Rows"]!.GetValue<int>();
        Assert.InRange(retrainRows - 40, 1, 120);
        var retrainSteps = File.ReadAllLines(Path.Combine(run, "metrics.jsonl")).Select(l => JsonNode.Parse(l)!)
            .Where(o => o["stage"]!.GetValue<int>() == 2 && o["type"]!.GetValue<string>() == "train").Max(o => o["step"]!.GetValue<int>());
        Assert.Equal(2 * (int)Math.Ceiling(retrainRows / 8.0), retrainSteps);
        Assert.Contains("teacher-labelled TinyBERT word replacement (N 3", File.ReadAllText(Path.Combine(run, "report.md")));
        Assert.Equal(3, JsonNode.Parse(File.ReadAllText(Path.Combine(run, "result.json")))!["retrain_augment_copies"]!.GetValue<int>());
    }

    [Fact]
    public void TransferRetrainsOnTheRowsPlusTheDistinctTransferSentencesNotInDev()
    {
        string train = Data("train.tsv", 40, 5), dev = Data("dev.tsv", 16, 6);
        string root = TempDir.Scratch("ab-transfer");
        string teacher = FineTunedTeacher(root, train, dev, epochs: 1);
        string devSentence = File.ReadLines(dev).Skip(1).First().Split('\t')[0];
        var w = TinyBert.Words;
        var fresh = Enumerable.Range(0, 12).Select(i => $"{w[8]} {w[9 + i % 3]} {w[12 + i % 2]} {w[i % 8]} {w[(i + 3) % 8]}").Distinct().Take(8).ToArray();
        Assert.Equal(8, fresh.Length); // 40 + 8 rows fill 6 batches exactly: one row more would make a 7th
        string transfer = Path.Combine(root, "corpus.txt");
        File.WriteAllLines(transfer, fresh.Concat([fresh[0].ToUpperInvariant(), devSentence, ""]));
        string config = Path.Combine(root, "search.json");
        File.WriteAllText(config, """{ "search": { "op_costs_ms": [1.0, 1.4, 1.8, 1.1, 1.5, 2.0, 0.3, 0.3, 0.02, 0] }, "log_every_steps": 100 }""");
        string run = Path.Combine(root, "adabert");
        var output = new StringWriter();
        var saved = Console.Out;
        Console.SetOut(output);
        try
        {
            Assert.Equal(ExitCodes.Ok, CliApp.Run(["search", "--teacher", teacher, "--train", train, "--dev", dev, "--config", config,
                "--out", run, "--k-max", "2", "--hidden", "8", "--search-epochs", "1", "--retrain-epochs", "2", "--transfer", transfer, "--batch-size", "8",
                "--max-seq-len", "16", "--threads", "1"]));
        }
        finally { Console.SetOut(saved); }
        // The progress lines name the stage: the search, then the retraining.
        Assert.Matches(@"(?m)^search: \d+ steps", output.ToString());
        Assert.Contains("search retrain: 12 steps", output.ToString());

        // Each retraining epoch walks the 40 rows and the distinct transfer sentences: the upper-cased repeat and the dev sentence are gone.
        var retrainSteps = File.ReadAllLines(Path.Combine(run, "metrics.jsonl")).Select(l => JsonNode.Parse(l)!)
            .Where(o => o["stage"]!.GetValue<int>() == 2 && o["type"]!.GetValue<string>() == "train").Max(o => o["step"]!.GetValue<int>());
        Assert.Equal(2 * (int)Math.Ceiling((40 + fresh.Length) / 8.0), retrainSteps);
        Assert.Contains("teacher-labelled transfer sentences of " + transfer, File.ReadAllText(Path.Combine(run, "report.md")));
        Assert.Equal(transfer, JsonNode.Parse(File.ReadAllText(Path.Combine(run, "result.json")))!["retrain_transfer"]!.GetValue<string>());
        Assert.Equal(ExitCodes.InputNotFound, CliApp.Run(["search", "--teacher", teacher, "--train", train, "--transfer", Path.Combine(root, "none.txt"),
            "--out", Path.Combine(root, "missing")]));
    }

    [Fact]
    public void BadInputsFailWithClearCodes()
    {
        string train = Data("train.tsv", 8, 1);
        string root = TempDir.Scratch("ab-bad");
        Assert.Equal(ExitCodes.InputNotFound, CliApp.Run(["search", "--teacher", Path.Combine(root, "missing"), "--train", train, "--out", Path.Combine(root, "a")]));
        Assert.Equal(ExitCodes.InvalidUsage, CliApp.Run(["search", "--teacher", root, "--train", train, "--k-max", "0", "--out", Path.Combine(root, "b")]));
        Assert.Equal(ExitCodes.InvalidUsage, CliApp.Run(["search", "--train", train, "--out", Path.Combine(root, "c")]));
        Assert.Equal(ExitCodes.InputNotFound, CliApp.Run(["search", "--derive-only", Path.Combine(root, "nothing")]));
    }
}
