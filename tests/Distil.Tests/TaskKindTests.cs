using System.Text.Json;
using Distil.Checkpoints;
using Distil.Cli;
using Distil.Cli.Commands;
using Distil.Distillation;
using Distil.Models;
using Distil.Training;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Distil.Tests;

/// <summary>
/// Token, regression and multi-label tasks (docs/tasks.md): the losses of each head and their KD terms against hand
/// values, eval metrics through the CLI on hand-made models and data, a malformed CoNLL row named by file:line, and
/// finetune → distill → eval → predict end to end on tiny models.
/// </summary>
public sealed class TaskKindTests
{
    public TaskKindTests() => torch.set_num_threads(1);

    static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));

    static double[] LogSoftmax(params double[] x)
    {
        double m = x.Max(), lse = m + Math.Log(x.Sum(v => Math.Exp(v - m)));
        return x.Select(v => v - lse).ToArray();
    }

    [Fact]
    public void Supervised_losses_follow_hf_per_head()
    {
        // Token: cross-entropy over the positions whose label is not -100.
        using var tl = tensor(new float[] { 9, -9, 1, 0, 0, 2 }, [1, 3, 2]);
        using var tlab = tensor(new long[] { -100, 0, 1 }, [1, 3]);
        double token = -(LogSoftmax(1, 0)[0] + LogSoftmax(0, 2)[1]) / 2;
        Assert.Equal(token, TaskHeads.Loss(TaskKind.Token, tl, tlab).item<float>(), 5);
        // Regression: MSE of the single output.
        using var rl = tensor(new float[] { 1, 2 }, [2, 1]);
        using var rlab = tensor(new float[] { 0, 4 }, [2, 1]);
        Assert.Equal(2.5, TaskHeads.Loss(TaskKind.Regression, rl, rlab).item<float>(), 5);
        // Multi-label: BCE with logits, mean over rows and labels.
        using var ml = tensor(new float[] { 2, -1 }, [1, 2]);
        using var mlab = tensor(new float[] { 1, 1 }, [1, 2]);
        Assert.Equal(-(Math.Log(Sigmoid(2)) + Math.Log(Sigmoid(-1))) / 2, TaskHeads.Loss(TaskKind.MultiLabel, ml, mlab).item<float>(), 5);
    }

    [Fact]
    public void Kd_losses_of_each_head_match_hand_values()
    {
        const double T = 2;
        // Token soft CE: position 0 only (the mask leaves out the padded position 1).
        using var s = tensor(new float[] { 1, 0, 5, 5 }, [1, 2, 2]);
        using var t = tensor(new float[] { 0, 1, -3, 3 }, [1, 2, 2]);
        using var mask = tensor(new long[] { 1, 0 }, [1, 2]);
        var p = LogSoftmax(0 / T, 1 / T).Select(Math.Exp).ToArray();
        var logQ = LogSoftmax(1 / T, 0 / T);
        double softCe = -(p[0] * logQ[0] + p[1] * logQ[1]);
        var ce = new IntermediateMatch(0, 0, MatchFeatures.Logits, MatchLosses.SoftCe, 1, T);
        Assert.Equal(softCe, TaskKdLosses.Compute(TaskKind.Token, ce, s, t, mask).item<float>(), 5);
        var kl = ce with { Loss = MatchLosses.Kl };
        double klValue = p[0] * (Math.Log(p[0]) - logQ[0]) + p[1] * (Math.Log(p[1]) - logQ[1]);
        Assert.Equal(klValue, TaskKdLosses.Compute(TaskKind.Token, kl, s, t, mask).item<float>(), 5);

        // Regression: MSE to the teacher's score, whatever T.
        using var rs = tensor(new float[] { 1, 3 }, [2, 1]);
        using var rt = tensor(new float[] { 2, 2 }, [2, 1]);
        using var rowMask = ones(2, 3, dtype: int64);
        Assert.Equal(1.0, TaskKdLosses.Compute(TaskKind.Regression, ce, rs, rt, rowMask).item<float>(), 5);

        // Multi-label: BCE of sigmoid(s/T) against sigmoid(t/T), mean over labels.
        using var ms = tensor(new float[] { 0.5f, -1 }, [1, 2]);
        using var mt = tensor(new float[] { 2, 0 }, [1, 2]);
        double[] pt = [Sigmoid(2 / T), Sigmoid(0)], qs = [Sigmoid(0.5 / T), Sigmoid(-1 / T)];
        double bce = -Enumerable.Range(0, 2).Average(k => pt[k] * Math.Log(qs[k]) + (1 - pt[k]) * Math.Log(1 - qs[k]));
        Assert.Equal(bce, TaskKdLosses.Compute(TaskKind.MultiLabel, ce, ms, mt, rowMask).item<float>(), 5);
        double entropy = -Enumerable.Range(0, 2).Average(k => pt[k] * Math.Log(pt[k]) + (1 - pt[k]) * Math.Log(1 - pt[k]));
        Assert.Equal(bce - entropy, TaskKdLosses.Compute(TaskKind.MultiLabel, kl, ms, mt, rowMask).item<float>(), 5);

        // Gold labels through the same entry: the head's supervised loss.
        var hard = new IntermediateMatch(0, 0, MatchFeatures.Labels, MatchLosses.HardCe, 1);
        Assert.Equal(1.0, TaskKdLosses.Compute(TaskKind.Regression, hard, rs, rt, rowMask).item<float>(), 5);
    }

    /// <summary>A model folder whose classifier ignores the input: weight 0, the given bias (or a random head when bias is null).</summary>
    internal static string HandModel(TaskKind task, string[] labels, float[]? bias)
    {
        string encoder = TinyBert.TeacherFolder();
        var config = BertConfig.Load(Path.Combine(encoder, "config.json")).WithLabels(labels) with { ProblemType = task.ProblemType() };
        torch.manual_seed(11);
        using EncoderClassifier model = task == TaskKind.Token ? new BertForTokenClassification(config) : new BertForSequenceClassification(config) { Task = task };
        if (bias != null)
            using (no_grad())
            {
                var named = model.named_parameters().ToDictionary(x => x.name, x => x.parameter);
                named["classifier.weight"].zero_();
                named["classifier.bias"].copy_(tensor(bias));
            }
        string dir = Path.Combine(TempDir.Scratch("hand-model"), "model");
        ModelFolder.Save(dir, model, encoder);
        return dir;
    }

    static Dictionary<string, double> Eval(string model, string data, params string[] extra)
    {
        string json = Path.Combine(TempDir.Scratch("eval"), "m.json");
        var (code, output) = CliCapture.Run(["eval", "--model", model, "--data", data, "--metrics-json", json, "--threads", "1", .. extra]);
        Assert.True(code == ExitCodes.Ok, output);
        return JsonSerializer.Deserialize<Dictionary<string, double>>(File.ReadAllText(json))!;
    }

    static string Write(string name, string text)
    {
        string path = Path.Combine(TempDir.Scratch("task-data"), name);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void Eval_scores_a_token_model_by_entities()
    {
        // Every word predicted B-X. Gold: (X, 0, 0) in sentence 1, (Y, 0, 1) in sentence 2; predicted: 5 one-word X
        // entities, 1 right: precision 1/5, recall 1/2, F1 2/7; words right 1 of 5.
        string model = HandModel(TaskKind.Token, ["O", "B-X", "B-Y", "I-Y"], [0, 5, 0, 0]);
        var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(model, "config.json"))).RootElement;
        Assert.Equal("BertForTokenClassification", config.GetProperty("architectures")[0].GetString());
        string data = Write("hand.conll", "good B-X\nmovie O\n\nbad B-Y\ngreat I-Y\n. O\n");
        var m = Eval(model, data);
        Assert.Equal(0.2, m["precision"], 6);
        Assert.Equal(0.5, m["recall"], 6);
        Assert.Equal(2.0 / 7, m["f1"], 6);
        Assert.Equal(0.2, m["token_accuracy"], 6);
        Assert.Equal(2, m["examples"]);

        // predict: entities with type, text and character span.
        var found = PredictCommand.PredictEntities(model, ["good  movie."], 16);
        Assert.Equal([("X", "good", 0, 4), ("X", "movie", 6, 11), ("X", ".", 11, 12)], found[0].Entities.Select(e => (e.Type, e.Text, e.Start, e.End)));
        double pX = Math.Exp(5) / (Math.Exp(5) + 3);
        Assert.All(found[0].Entities, e => Assert.Equal(pX, e.Score, 5));
    }

    [Fact]
    public void Eval_scores_a_multi_label_model_at_the_threshold()
    {
        // Probabilities sigmoid(2) = .88, sigmoid(-2) = .12, sigmoid(.5) = .62 for every row.
        string model = HandModel(TaskKind.MultiLabel, ["A", "B", "C"], [2, -2, 0.5f]);
        string data = Write("hand.jsonl", """
            {"text": "good movie", "labels": ["A"], "domain": "d1"}
            {"text": "bad movie", "labels": ["A", "B"], "domain": "d1"}
            {"text": "great phone", "labels": [], "domain": "d2"}
            """);
        var m = Eval(model, data);
        // At 0.5 {A, C} per row: tp 2, fp 4, fn 1 -> micro F1 4/9; per label F1 A 0.8, B 0, C 0 -> macro 0.8/3.
        Assert.Equal(4.0 / 9, m["micro_f1"], 6);
        Assert.Equal(0.8 / 3, m["macro_f1"], 6);
        Assert.Equal(0, m["subset_accuracy"], 6);
        Assert.Equal(4.0 / 7, m["micro_f1_d1"], 6); // d1: tp 2, fp 2, fn 1 -> P 1/2, R 2/3
        var high = Eval(model, data, "--threshold", "0.7");
        Assert.Equal(2.0 / 3, high["micro_f1"], 6); // {A}: tp 2, fp 1, fn 1
        Assert.Equal(1.0 / 3, high["subset_accuracy"], 6);
    }

    [Fact]
    public void Eval_of_a_regression_model_agrees_with_its_predictions()
    {
        string model = HandModel(TaskKind.Regression, ["score"], bias: null);
        Assert.Equal("regression", JsonDocument.Parse(File.ReadAllText(Path.Combine(model, "config.json"))).RootElement.GetProperty("problem_type").GetString());
        string[] texts = ["good movie", "bad phone", "great food .", "awful movie !", "the phone was fine"];
        double[] gold = [1, 2.5, 0, 4, 3];
        string data = Write("hand.tsv", "text\tlabel\n" + string.Concat(texts.Select((t, i) => $"{t}\t{gold[i]}\n")));
        var m = Eval(model, data);
        var predicted = PredictCommand.Predict(model, texts.Select(t => (t, (string?)null)).ToArray(), 16).Select(p => (double)p.Logits[0]).ToArray();
        double mp = predicted.Average(), mg = gold.Average();
        double pearson = predicted.Zip(gold).Sum(x => (x.First - mp) * (x.Second - mg)) /
                         Math.Sqrt(predicted.Sum(x => (x - mp) * (x - mp)) * gold.Sum(x => (x - mg) * (x - mg)));
        Assert.Equal(pearson, m["pearson"], 4);
        Assert.Equal(predicted.Zip(gold).Average(x => (x.First - x.Second) * (x.First - x.Second)), m["mse"], 4);
    }

    [Fact]
    public void A_malformed_conll_row_is_named_by_file_and_line()
    {
        string encoder = TinyBert.TeacherFolder();
        string train = Write("train.conll", "good B-X\nmovie O\n\nbad I-Y\n");
        var (code, output) = CliCapture.Run("finetune", "--model", encoder, "--task", "token", "--train", train, "--out", Path.Combine(TempDir.Scratch("bad"), "run"), "--threads", "1");
        Assert.Equal(ExitCodes.InvalidInput, code);
        Assert.Contains("train.conll:4", output);
        Assert.Contains("I-Y", output);
        string noTag = Write("notag.conll", "good B-X\nmovie\n");
        (code, output) = CliCapture.Run("finetune", "--model", encoder, "--task", "token", "--train", noTag, "--out", Path.Combine(TempDir.Scratch("bad"), "run"), "--threads", "1");
        Assert.Equal(ExitCodes.InvalidInput, code);
        Assert.Contains("notag.conll:2", output);
    }

    [Fact]
    public void Token_labels_come_from_every_split_and_a_models_labels_bound_them()
    {
        var tokenizer = Distil.Text.TokenizerFolder.Load(TinyBert.TeacherFolder());
        string train = Write("train.conll", "good B-X\nmovie O\n"), dev = Write("dev.conll", "bad B-Y\nmovie I-Y\n");
        var data = Distil.Data.TaskData.Load(new Distil.Data.DataSettings { Task = "token", Train = train, Dev = dev, MaxSeqLen = 16 }, tokenizer);
        Assert.Equal(["O", "B-X", "B-Y", "I-Y"], data.Labels.Names);
        Assert.Equal(new long[] { -100, 2, 3, -100 }, data.DevSet![0].Tokens!.Labels);
        var e = Assert.Throws<DistilException>(() => Distil.Data.TaskData.Load(new Distil.Data.DataSettings { Task = "token", Train = train, Dev = dev, MaxSeqLen = 16 },
            tokenizer, Distil.Data.LabelSet.FromNames(["O", "B-X"])));
        Assert.Contains("dev.conll:1", e.Message);
    }

    static string TaggedData(string name, int sentences, int seed)
    {
        // "good"/"great"/"love" are B-POS, "bad"/"awful"/"hate" are B-NEG, the rest O.
        var rng = new Random(seed);
        var w = TinyBert.Words;
        var lines = new List<string>();
        for (int i = 0; i < sentences; i++)
        {
            lines.Add($"the O\n{w[9 + rng.Next(3)]} O\nwas O");
            lines.Add(i % 2 == 0 ? $"{w[rng.Next(2)]} B-POS" : $"{w[4 + rng.Next(2)]} B-NEG");
            lines.Add(". O\n");
        }
        return Write(name, string.Join("\n", lines));
    }

    [Fact]
    public void Token_task_finetunes_distils_and_evaluates_end_to_end()
    {
        string encoder = TinyBert.TeacherFolder(layers: 2);
        string train = TaggedData("train.conll", 40, 1), dev = TaggedData("dev.conll", 12, 2);
        string ft = Path.Combine(TempDir.Scratch("tok-ft"), "ft");
        var (code, output) = CliCapture.Run("finetune", "--model", encoder, "--task", "token", "--train", train, "--dev", dev, "--out", ft,
            "--epochs", "8", "--batch-size", "8", "--lr", "5e-3", "--max-seq-len", "16", "--threads", "1");
        Assert.True(code == ExitCodes.Ok, output);
        string teacher = Path.Combine(ft, "best");
        var teacherDev = Eval(teacher, dev);
        Assert.True(teacherDev["f1"] > 0.9, $"teacher entity F1 {teacherDev["f1"]}");

        foreach (var preset in new[] { "kd", "tinybert" })
        {
            string kd = Path.Combine(TempDir.Scratch("tok-kd"), preset);
            (code, output) = CliCapture.Run("distill", "--teacher", teacher, "--student", "L1-H16-A2-I32", "--init", "teacher", "--preset", preset, "--train", train, "--dev", dev,
                "--out", kd, "--epochs", "4", "--batch-size", "8", "--lr", "5e-3", "--max-seq-len", "16", "--threads", "1");
            Assert.True(code == ExitCodes.Ok, output);
            var (student, _) = TaskModels.Load(Path.Combine(kd, "best"));
            using (student)
            {
                Assert.IsType<BertForTokenClassification>(student);
                Assert.Equal(1, student.Shape.NumHiddenLayers);
            }
            Assert.Contains("f1", File.ReadAllText(Path.Combine(kd, "report.md")));
            var studentDev = Eval(Path.Combine(kd, "best"), dev);
            Assert.True(studentDev["f1"] > 0.5, $"{preset} student entity F1 {studentDev["f1"]}");
        }

        // --task must agree with the teacher's head.
        (code, output) = CliCapture.Run("distill", "--teacher", teacher, "--task", "regression", "--train", train, "--out", Path.Combine(TempDir.Scratch("tok-kd"), "bad"), "--threads", "1");
        Assert.Equal(ExitCodes.InvalidUsage, code);
        Assert.Contains("token model", output);
    }

    [Fact]
    public void Regression_and_multi_label_finetune_and_distil()
    {
        string encoder = TinyBert.TeacherFolder(layers: 2);
        var w = TinyBert.Words;
        var rng = new Random(5);
        var rows = Enumerable.Range(0, 48).Select(i => (Word: w[rng.Next(8)], Thing: w[9 + rng.Next(3)])).ToArray();
        // Score: 1 for positive words, -1 for negative ones; labels: pos/neg plus "thing" when the noun is "phone".
        string Tsv(IEnumerable<(string Word, string Thing)> r) => "text\tlabel\n" + string.Concat(r.Select(x => $"the {x.Thing} was {x.Word} .\t{(Array.IndexOf(w, x.Word) < 4 ? 1 : -1)}\n"));
        string Jsonl(IEnumerable<(string Word, string Thing)> r) => string.Concat(r.Select(x =>
            JsonSerializer.Serialize(new { text = $"the {x.Thing} was {x.Word} .", labels = new[] { Array.IndexOf(w, x.Word) < 4 ? "pos" : "neg" }.Concat(x.Thing == "phone" ? ["thing"] : Array.Empty<string>()) }) + "\n"));
        foreach (var (task, train, dev, metric) in new[]
        {
            ("regression", Write("r-train.tsv", Tsv(rows[..36])), Write("r-dev.tsv", Tsv(rows[36..])), "pearson"),
            ("multi-label", Write("m-train.jsonl", Jsonl(rows[..36])), Write("m-dev.jsonl", Jsonl(rows[36..])), "micro_f1"),
        })
        {
            string ft = Path.Combine(TempDir.Scratch("ft-" + task), "ft");
            var (code, output) = CliCapture.Run("finetune", "--model", encoder, "--task", task, "--train", train, "--dev", dev, "--out", ft,
                "--epochs", "25", "--batch-size", "8", "--lr", "5e-3", "--max-seq-len", "16", "--threads", "1");
            Assert.True(code == ExitCodes.Ok, output);
            var teacherDev = Eval(Path.Combine(ft, "best"), dev);
            Assert.True(teacherDev[metric] > 0.8, $"{task} teacher {metric} {teacherDev[metric]}");
            string kd = Path.Combine(TempDir.Scratch("kd-" + task), "kd");
            (code, output) = CliCapture.Run("distill", "--teacher", Path.Combine(ft, "best"), "--student", "L1-H16-A2-I32", "--init", "teacher", "--train", train, "--dev", dev,
                "--out", kd, "--epochs", "4", "--batch-size", "8", "--lr", "5e-3", "--max-seq-len", "16", "--temperature", "1", "--threads", "1");
            Assert.True(code == ExitCodes.Ok, output);
            var (student, _) = TaskModels.Load(Path.Combine(kd, "best"));
            using (student) Assert.Equal(task, student.Task.Name());
            Assert.True(Eval(Path.Combine(kd, "best"), dev)[metric] > 0.5, $"{task} student");
        }
    }
}
