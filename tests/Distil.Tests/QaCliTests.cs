using System.Text.Json;
using System.Text.Json.Nodes;
using Distil.Checkpoints;
using Distil.Cli;
using Distil.Data;
using TorchSharp;
using Xunit;

namespace Distil.Tests;

/// <summary>`distil finetune` / `eval` / `predict` on SQuAD-format data, end to end on a tiny random BERT folder.</summary>
public class QaCliTests
{
    public QaCliTests() => torch.set_num_threads(1);

    /// <summary>Questions whose answer is the one sentiment word of a shuffled context (learnable by a tiny model).</summary>
    internal static string Squad(string name, int questions, int seed)
    {
        var rng = new Random(seed);
        var filler = new[] { "the", "movie", "phone", "food", "was", "is", "a" };
        var sentiment = new[] { "good", "great", "love", "awful", "poor", "hate" };
        var data = new JsonArray();
        for (int q = 0; q < questions; q++)
        {
            var words = Enumerable.Range(0, 10).Select(_ => filler[rng.Next(filler.Length)]).ToList();
            string answer = sentiment[rng.Next(sentiment.Length)];
            int at = rng.Next(words.Count + 1);
            words.Insert(at, answer);
            string context = string.Join(' ', words);
            int start = string.Join(' ', words.Take(at)).Length + (at > 0 ? 1 : 0);
            data.Add(new JsonObject
            {
                ["title"] = "t",
                ["paragraphs"] = new JsonArray(new JsonObject
                {
                    ["context"] = context,
                    ["qas"] = new JsonArray(new JsonObject
                    {
                        ["id"] = $"{name}-{q}", ["question"] = "the ?",
                        ["answers"] = new JsonArray(new JsonObject { ["text"] = answer, ["answer_start"] = start }),
                    }),
                }),
            });
        }
        string path = Path.Combine(TempDir.Scratch("qa-cli"), name);
        File.WriteAllText(path, new JsonObject { ["version"] = "1.1", ["data"] = data }.ToJsonString());
        return path;
    }

    [Fact]
    public void Finetune_learns_spans_and_eval_and_predict_read_best()
    {
        string teacher = TinyBert.TeacherFolder(), train = Squad("train.json", 48, 1), dev = Squad("dev.json", 16, 2);
        string run = Path.Combine(TempDir.Scratch("qa-cli-run"), "qa");
        // max-seq-len 12 with doc-stride 3: a context of 11 tokens needs 2-3 windows, so answers straddle windows.
        int code = CliApp.Run(["finetune", "--model", teacher, "--train", train, "--dev", dev, "--test", dev, "--out", run,
            "--epochs", "8", "--batch-size", "8", "--lr", "5e-3", "--max-seq-len", "12", "--doc-stride", "3", "--threads", "1"]);
        Assert.Equal(ExitCodes.Ok, code);
        foreach (string f in new[] { "report.md", "metrics.jsonl", "best/config.json", "best/model.safetensors", "best/vocab.txt", "result.json" })
            Assert.True(File.Exists(Path.Combine(run, f)), $"{f} missing from the run folder");
        string best = Path.Combine(run, "best");
        Assert.True(QaFolder.IsQa(best));
        var result = JsonNode.Parse(File.ReadAllText(Path.Combine(run, "result.json")))!;
        var devMetrics = result["Splits"]!.AsArray().First(s => s!["Split"]!.GetValue<string>() == "dev")!["Metrics"]!;
        double f1 = devMetrics["f1"]!.GetValue<double>();
        // One sentiment word among ten filler words: a span picked at random would rarely be right; the model learns it.
        Assert.True(f1 > 60, $"dev F1 {f1} after training");

        // eval on best/ gives what the run reported for dev (best/ as saved is what is measured).
        string json = Path.Combine(run, "eval.json");
        Assert.Equal(ExitCodes.Ok, CliApp.Run(["eval", "--model", best, "--data", dev, "--max-seq-len", "12", "--doc-stride", "3", "--metrics-json", json]));
        var evalMetrics = JsonSerializer.Deserialize<Dictionary<string, double>>(File.ReadAllText(json))!;
        Assert.Equal(f1, evalMetrics["f1"], 6);
        Assert.Equal(devMetrics["exact"]!.GetValue<double>(), evalMetrics["exact"], 6);

        // predict: the answer is the context's text at its character span.
        var squad = SquadReader.Read(dev);
        var q = squad.Questions[0];
        var output = new StringWriter();
        var saved = Console.Out;
        Console.SetOut(output);
        try { Assert.Equal(ExitCodes.Ok, CliApp.Run(["predict", "--model", best, "--text", q.Question, "--pair", q.Context, "--max-seq-len", "12", "--doc-stride", "3", "--json"])); }
        finally { Console.SetOut(saved); }
        var line = JsonNode.Parse(output.ToString().Trim().Split('\n').Last())!;
        int start = line["start"]!.GetValue<int>(), end = line["end"]!.GetValue<int>();
        Assert.Equal(q.Context[start..end], line["answer"]!.GetValue<string>());
        Assert.InRange(line["score"]!.GetValue<double>(), 0, 1);
        // A question without its context is refused with what to give.
        Assert.Equal(ExitCodes.InvalidUsage, CliApp.Run(["predict", "--model", best, "--text", q.Question]));

        // distill, kd preset, student = the teacher's copy (--init teacher, same shape) and a learning rate too small to
        // move it: the student must score what the teacher scores.
        string kd = Path.Combine(TempDir.Scratch("qa-cli-kd"), "kd");
        Assert.Equal(ExitCodes.Ok, CliApp.Run(["distill", "--teacher", best, "--student", "L1-H16-A2-I32", "--init", "teacher", "--preset", "kd",
            "--train", train, "--dev", dev, "--out", kd, "--max-steps", "1", "--lr", "1e-12", "--max-seq-len", "12", "--doc-stride", "3", "--threads", "1"]));
        var kdResult = JsonNode.Parse(File.ReadAllText(Path.Combine(kd, "result.json")))!;
        Assert.Equal(kdResult["teacher"]!["Dev"]!["f1"]!.GetValue<double>(), kdResult["student"]!["Dev"]!["f1"]!.GetValue<double>(), 6);
        Assert.True(QaFolder.IsQa(Path.Combine(kd, "best")));
        Assert.Contains("span_hard_ce", File.ReadAllText(Path.Combine(kd, "metrics.jsonl")));
        Assert.Contains("span_soft_ce", File.ReadAllText(Path.Combine(kd, "metrics.jsonl")));

        // tinybert: stage 1 intermediate matches on the encoders as for sentences, stage 2 span KD; a random student.
        string tiny = Path.Combine(TempDir.Scratch("qa-cli-tiny"), "tiny");
        Assert.Equal(ExitCodes.Ok, CliApp.Run(["distill", "--teacher", best, "--student", "L1-H8-A2-I16", "--preset", "tinybert",
            "--train", train, "--dev", dev, "--out", tiny, "--max-steps", "2", "--max-seq-len", "12", "--doc-stride", "3", "--threads", "1"]));
        Assert.True(File.Exists(Path.Combine(tiny, "stage-2", "done.json")));
        Assert.True(QaFolder.IsQa(Path.Combine(tiny, "best")));
    }

    [Fact]
    public void Finetune_scores_best_with_dropout_off()
    {
        // A teacher with heavy dropout: scoring best/ with the module left in training mode gives a random thinning of
        // it, and the run's dev figures then differ from `distil eval` on the same folder.
        string source = TinyBert.TeacherFolder(), teacher = Path.Combine(TempDir.Scratch("qa-dropout-teacher"), "teacher");
        Directory.CreateDirectory(teacher);
        foreach (string f in Directory.GetFiles(source)) File.Copy(f, Path.Combine(teacher, Path.GetFileName(f)));
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(teacher, "config.json")))!;
        config["hidden_dropout_prob"] = 0.5;
        config["attention_probs_dropout_prob"] = 0.5;
        File.WriteAllText(Path.Combine(teacher, "config.json"), config.ToJsonString());
        string train = Squad("train.json", 24, 1), dev = Squad("dev.json", 16, 2), run = Path.Combine(TempDir.Scratch("qa-dropout-run"), "qa");
        Assert.Equal(ExitCodes.Ok, CliApp.Run(["finetune", "--model", teacher, "--train", train, "--dev", dev, "--out", run,
            "--epochs", "1", "--batch-size", "8", "--lr", "5e-3", "--max-seq-len", "12", "--doc-stride", "3", "--threads", "1"]));
        var devMetrics = JsonNode.Parse(File.ReadAllText(Path.Combine(run, "result.json")))!["Splits"]!.AsArray()
            .First(s => s!["Split"]!.GetValue<string>() == "dev")!["Metrics"]!;
        string json = Path.Combine(run, "eval.json");
        Assert.Equal(ExitCodes.Ok, CliApp.Run(["eval", "--model", Path.Combine(run, "best"), "--data", dev, "--max-seq-len", "12", "--doc-stride", "3", "--metrics-json", json]));
        var evalMetrics = JsonSerializer.Deserialize<Dictionary<string, double>>(File.ReadAllText(json))!;
        Assert.Equal(evalMetrics["loss"], devMetrics["loss"]!.GetValue<double>(), 6);
        Assert.Equal(evalMetrics["f1"], devMetrics["f1"]!.GetValue<double>(), 6);
    }
}
