using System.Text.Json.Nodes;
using Distil.Checkpoints;
using Distil.Cli;
using Xunit;

namespace Distil.Tests;

/// <summary>
/// `distil search` and `distil l2a` with a teacher that is not a BERT: a tiny RoBERTa fine-tuned by `distil finetune`.
/// What they report about the teacher must be what `distil eval` measures on the same rows, and what they build from
/// its tables must follow RoBERTa's layout (positions after padding_idx).
/// </summary>
public sealed class FamilyTeacherCommandTests
{
    static string FineTunedRoberta(string root, string train, string dev)
    {
        string ft = Path.Combine(root, "ft");
        Assert.Equal(ExitCodes.Ok, CliApp.Run(["finetune", "--model", FamilyFineTuneTests.Pretrained("roberta"), "--train", train, "--dev", dev, "--out", ft,
            "--epochs", "4", "--batch-size", "8", "--lr", "1e-2", "--max-seq-len", "16", "--threads", "1"]));
        Assert.Equal("roberta", ClassifierFolder.ModelType(Path.Combine(ft, "best")));
        return Path.Combine(ft, "best");
    }

    static double EvalAccuracy(string model, string data, string root)
    {
        string metrics = Path.Combine(root, $"eval-{Guid.NewGuid():N}.json");
        Assert.Equal(ExitCodes.Ok, CliApp.Run(["eval", "--model", model, "--data", data, "--max-seq-len", "16", "--metrics-json", metrics, "--threads", "1"]));
        return JsonNode.Parse(File.ReadAllText(metrics))!["accuracy"]!.GetValue<double>();
    }

    [Fact]
    public void Search_runs_with_a_roberta_teacher()
    {
        using var t = new TempDir("search-roberta");
        string train = FamilyFineTuneTests.Data("train.tsv", 32, 1), dev = FamilyFineTuneTests.Data("dev.tsv", 12, 2);
        string teacher = FineTunedRoberta(t.Path, train, dev);
        string config = t.File("search.json", """
            { "search": { "op_costs_ms": [1.0, 1.4, 1.8, 1.1, 1.5, 2.0, 0.3, 0.3, 0.02, 0], "arch_learning_rate": 0.03 },
              "retrain": { "training": { "epochs": 1 } }, "log_every_steps": 2 }
            """);
        string run = Path.Combine(t.Path, "adabert");
        var (code, output) = CliCapture.Run("search", "--teacher", teacher, "--train", train, "--dev", dev, "--config", config, "--out", run,
            "--k-max", "2", "--hidden", "8", "--search-epochs", "1", "--batch-size", "8", "--max-seq-len", "16", "--threads", "1");
        Assert.True(code == ExitCodes.Ok, output);

        var result = JsonNode.Parse(File.ReadAllText(Path.Combine(run, "result.json")))!;
        Assert.Equal(EvalAccuracy(teacher, dev, t.Path), result["teacher"]!["Dev"]!["accuracy"]!.GetValue<double>(), 6);
        // The student's tables come from RoBERTa's: its vocabulary, and one position row per token after padding_idx.
        var teacherConfig = JsonNode.Parse(File.ReadAllText(Path.Combine(teacher, "config.json")))!;
        var student = JsonNode.Parse(File.ReadAllText(Path.Combine(run, "best", "config.json")))!;
        Assert.Equal("adabert_cnn", student["model_type"]!.GetValue<string>());
        Assert.Equal(teacherConfig["vocab_size"]!.GetValue<int>(), student["vocab_size"]!.GetValue<int>());
        Assert.Equal(teacherConfig["max_position_embeddings"]!.GetValue<int>() - teacherConfig["pad_token_id"]!.GetValue<int>() - 1,
            student["max_position_embeddings"]!.GetValue<int>());
    }

    [Fact]
    public void L2a_runs_with_a_roberta_teacher()
    {
        using var t = new TempDir("l2a-roberta");
        var rng = new Random(3);
        string Data(string name, int perDomain)
        {
            var rows = new[] { ("a", "movie"), ("b", "phone"), ("c", "food") }.SelectMany(d => Enumerable.Range(0, perDomain).Select(i =>
            {
                bool positive = rng.Next(2) == 0;
                string adj = positive ? TinyBert.Words[rng.Next(4)] : TinyBert.Words[4 + rng.Next(4)];
                return $"the {d.Item2} was {adj} .\t{(positive ? 1 : 0)}\t{d.Item1}";
            }));
            return t.File(name, "text\tlabel\tdomain\n" + string.Join("\n", rows));
        }
        string train = Data("train.tsv", 20), dev = Data("dev.tsv", 8), test = Data("test.tsv", 8);
        string teacher = FineTunedRoberta(t.Path, FamilyFineTuneTests.Data("ft-train.tsv", 32, 1), FamilyFineTuneTests.Data("ft-dev.tsv", 8, 2));
        string run = Path.Combine(t.Path, "l2a");
        var (code, output) = CliCapture.Run("l2a", "--teacher", teacher, "--target", "a", "--sources", "b,c", "--train", train, "--dev", dev,
            "--test", test, "--data-portion", "0.5", "--student", "L1-H16-A2-I32", "--init", "random", "--max-seq-len", "16", "--max-steps", "2", "--eval-every", "2",
            "--batch-size", "8", "--lr", "1e-3", "--selector-steps", "2", "--augment", "1", "--generator", "learned", "--threads", "1", "--out", run);
        Assert.True(code == ExitCodes.Ok, output);

        var result = JsonNode.Parse(File.ReadAllText(Path.Combine(run, "result.json")))!;
        Assert.Equal("fixed", result["generator"]!.GetValue<string>()); // the learned head needs a BERT encoder
        var arms = result["arms"]!.AsArray();
        Assert.Equal(new[] { "none", "eda", "tinybert", "pool", "l2a" }, arms.Select(a => a!["Name"]!.GetValue<string>()));
        // Every arm reports the RoBERTa teacher's accuracy on the target's test rows: what `distil eval` gives on them.
        double teacherTest = EvalAccuracy(teacher, Path.Combine(run, "data", "target-test.tsv"), t.Path);
        Assert.All(arms, a => Assert.Equal(teacherTest, a!["TeacherTestAccuracy"]!.GetValue<double>(), 6));
    }
}
