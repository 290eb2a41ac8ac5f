using System.Globalization;
using System.Text.Json.Nodes;
using Distil.Checkpoints;
using Distil.Cli;
using TorchSharp;
using Xunit;

namespace Distil.Tests;

/// <summary>`distil metakd` end to end on a tiny encoder and a tiny two-domain data set: files, table, resume, baselines, errors.</summary>
public class MetaKdCliTests
{
    public MetaKdCliTests() => torch.set_num_threads(1);

    static string Data(string dir, string name, int rowsPerDomain, int seed, bool withDomain = true)
    {
        var rng = new Random(seed);
        var w = TinyBert.Words;
        string path = Path.Combine(dir, name);
        var lines = new List<string> { withDomain ? "text\tlabel\tdomain" : "text\tlabel" };
        foreach (var (domain, noun) in new[] { ("movies", "movie"), ("phones", "phone") })
            for (int i = 0; i < rowsPerDomain; i++)
                lines.Add($"the {noun} was {(i % 2 == 1 ? w[rng.Next(4)] : w[4 + rng.Next(4)])} .\t{i % 2}" + (withDomain ? $"\t{domain}" : ""));
        File.WriteAllLines(path, lines);
        return path;
    }

    static string[] Args(string encoder, string dir, string run, params string[] extra) => new[]
    {
        "metakd", "--model", encoder, "--train", Path.Combine(dir, "train.tsv"), "--dev", Path.Combine(dir, "dev.tsv"), "--test", Path.Combine(dir, "test.tsv"),
        "--student", "L1-H16-A2-I32", "--out", run, "--epochs", "2", "--stage1-epochs", "1", "--stage2-epochs", "1", "--batch-size", "8",
        "--lr", "3e-3", "--stage1-lr", "1e-3", "--stage2-lr", "1e-3", "--max-seq-len", "16", "--threads", "1",
    }.Concat(extra).ToArray();

    static (string Encoder, string Dir) Setup()
    {
        string encoder = TinyBert.TeacherFolder(layers: 2);
        string dir = TempDir.Scratch("metakd-data");
        Data(dir, "train.tsv", 16, 1); Data(dir, "dev.tsv", 6, 2); Data(dir, "test.tsv", 6, 3);
        return (encoder, dir);
    }

    [Fact]
    public void MetaKdWritesScoresWeightsStudentsAndThePaperTableAndResumes()
    {
        var (encoder, dir) = Setup();
        string run = Path.Combine(dir, "metakd");
        Assert.Equal(ExitCodes.Ok, CliApp.Run(Args(encoder, dir, run)));

        var scores = File.ReadAllLines(Path.Combine(run, "prototypes", "prototype_scores.tsv"));
        Assert.Equal("text\tlabel\tdomain\tweight\tsource", scores[0]);
        Assert.Equal(32, scores.Length - 1);
        var lambda = File.ReadAllLines(Path.Combine(run, "lambda", "lambda.tsv"));
        var header = lambda[0].Split('\t');
        foreach (var line in lambda.Skip(1))
        {
            var cells = line.Split('\t');
            double t = Parse(cells[Array.IndexOf(header, "weight")]), p = Parse(cells[Array.IndexOf(header, "p_gold")]), l = Parse(cells[Array.IndexOf(header, "lambda")]);
            Assert.Equal((1 + t) / (1 + Math.Exp((1 - p) * (1 - p))), l, 9);
        }
        Assert.True(File.Exists(Path.Combine(run, "teacher", "domain_head.safetensors")));
        foreach (var domain in new[] { "movies", "phones" })
        {
            var (student, _) = ModelFolder.LoadForClassification(Path.Combine(run, "students", domain, "best"));
            using (student) Assert.Equal(1, student.Config.NumHiddenLayers);
        }
        var results = JsonNode.Parse(File.ReadAllText(Path.Combine(run, "result.json")))!;
        Assert.Equal("Meta-teacher → Meta-distillation (Meta-KD)", results["Student"]!["Name"]!.GetValue<string>());
        Assert.Equal(2, results["Student"]!["Accuracy"]!.AsObject().Count);
        string report = File.ReadAllText(Path.Combine(run, "report.md"));
        Assert.Contains("| Teacher → Student | movies | phones | Avg |", report);
        Assert.Contains("| Meta-teacher (teacher) |", report);
        Assert.True(File.Exists(Path.Combine(run, "accuracy.png")));

        // --resume after a finished run trains nothing again: the finished stages keep their files.
        var stamp = File.GetLastWriteTimeUtc(Path.Combine(run, "students", "movies", "done.json"));
        Assert.Equal(ExitCodes.Ok, CliApp.Run(Args(encoder, dir, run, "--resume")));
        Assert.Equal(stamp, File.GetLastWriteTimeUtc(Path.Combine(run, "students", "movies", "done.json")));
    }

    [Fact]
    public void BaselinesFewShotAndZeroShotRunThroughTheSameCommand()
    {
        var (encoder, dir) = Setup();
        string single = Path.Combine(dir, "bert-s");
        Assert.Equal(ExitCodes.Ok, CliApp.Run(Args(encoder, dir, single, "--teacher-mode", "single", "--distill", "tinybert", "--data-portion", "0.5")));
        Assert.True(Directory.Exists(Path.Combine(single, "teacher-movies", "best")) && Directory.Exists(Path.Combine(single, "teacher-phones", "best")));
        Assert.False(Directory.Exists(Path.Combine(single, "lambda")), "no λ without meta-distillation");

        string zero = Path.Combine(dir, "zero");
        Assert.Equal(ExitCodes.Ok, CliApp.Run(Args(encoder, dir, zero, "--holdout-domain", "phones", "--student-scope", "all")));
        var results = JsonNode.Parse(File.ReadAllText(Path.Combine(zero, "result.json")))!;
        Assert.Equal(new[] { "phones" }, results["Domains"]!.AsArray().Select(n => n!.GetValue<string>()));
        // The teacher never saw the held-out domain: its training set is the 16 movie rows.
        var teacherDone = JsonNode.Parse(File.ReadAllText(Path.Combine(zero, "teacher", "done.json")))!;
        Assert.Equal(16, teacherDone["Result"]!["Rows"]!.GetValue<int>());
    }

    [Fact]
    public void BadSettingsFailBeforeTraining()
    {
        var (encoder, dir) = Setup();
        string run = Path.Combine(dir, "bad");
        Assert.Equal(ExitCodes.InvalidUsage, CliApp.Run(Args(encoder, dir, run + "1", "--teacher-mode", "mix"))); // metakd needs the meta-teacher
        Assert.Equal(ExitCodes.InvalidUsage, CliApp.Run(Args(encoder, dir, run + "2", "--domains", "movies,books")));
        Assert.Equal(ExitCodes.InvalidUsage, CliApp.Run(Args(encoder, dir, run + "3", "--data-portion", "0")));
        Data(dir, "train.tsv", 4, 1, withDomain: false);
        Assert.Equal(ExitCodes.InvalidInput, CliApp.Run(Args(encoder, dir, run + "4"))); // no domain column
        Assert.False(Directory.Exists(Path.Combine(run + "4", "teacher")), "no training started");
    }

    static double Parse(string s) => double.Parse(s, CultureInfo.InvariantCulture);
}
