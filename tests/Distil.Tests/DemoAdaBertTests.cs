using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Distil.Checkpoints;
using Distil.Cli.Commands;
using Distil.Data;
using Distil.Deploy;
using Distil.Distillation;
using Distil.FineTune;
using Distil.Models;
using Distil.Pipelines;
using Distil.Reports;
using Distil.Training;
using TorchSharp;
using Xunit;

namespace Distil.Tests;

/// <summary>
/// `distil demo`'s AdaBERT step on a tiny fine-tuned teacher (a real search and retraining, a few steps each): the
/// report's row, the bench's TorchSharp / ONNX fp32 / int8 rows and the Pareto plot's points come from the run, and
/// `--resume` keeps the finished step.
/// </summary>
public class DemoAdaBertTests
{
    public DemoAdaBertTests() => torch.set_num_threads(1);

    static readonly string[] Domains = { "amazon", "imdb", "yelp" };

    /// <summary>A data folder as the demo reads it (train/dev/test.domain.tsv) and a transfer file next to it.</summary>
    static (string Dir, string Transfer) DataFolder(string root)
    {
        var w = TinyBert.Words;
        string dir = Path.Combine(root, "data", "sentiment");
        Directory.CreateDirectory(dir);
        void Write(string name, int rows, int seed)
        {
            var rng = new Random(seed);
            File.WriteAllLines(Path.Combine(dir, name), new[] { "text\tlabel\tdomain" }.Concat(Enumerable.Range(0, rows).Select(i =>
                $"the {w[9 + rng.Next(3)]} was {(i % 2 == 1 ? w[rng.Next(4)] : w[4 + rng.Next(4)])} .\t{i % 2}\t{Domains[i % 3]}")));
        }
        Write("train.domain.tsv", 48, 1);
        Write("dev.domain.tsv", 16, 2);
        Write("test.domain.tsv", 24, 3);
        string transfer = Path.Combine(root, "data", "sentences.txt");
        File.WriteAllLines(transfer, Enumerable.Range(0, 20).Select(i => $"a {w[9 + i % 3]} is {w[i % 8]} !"));
        return (dir, transfer);
    }

    /// <summary>A tiny encoder with 128 positions (the demo's bench times 64 and 128 tokens).</summary>
    static string Encoder(string root)
    {
        string dir = Path.Combine(root, "encoder");
        Directory.CreateDirectory(dir);
        var vocab = new[] { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", "!" }.Concat(TinyBert.Words).ToArray();
        File.WriteAllLines(Path.Combine(dir, "vocab.txt"), vocab);
        File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), """{"do_lower_case": true}""");
        var config = TinyBert.Config(layers: 2, hidden: 16, heads: 2, vocab: vocab.Length) with { Id2Label = null, Label2Id = null, MaxPositionEmbeddings = 128 };
        torch.manual_seed(3);
        using var encoder = new BertModel(config);
        File.WriteAllText(Path.Combine(dir, "config.json"), config.ToJson());
        StateDictLoader.SaveStateDict(encoder, Path.Combine(dir, "model.safetensors"));
        return dir;
    }

    static JsonNode Resolved<T>(T config) => JsonNode.Parse(JsonSerializer.Serialize(config))!;

    [Fact]
    public void AdaBertStepGivesTheReportRowTheBenchRowsAndTheParetoPointsOfItsRun()
    {
        string root = TempDir.Scratch("demo-ab");
        string demo = Path.Combine(root, "demo");
        var (dataDir, transfer) = DataFolder(root);
        var data = new DataSettings
        {
            Train = Path.Combine(dataDir, "train.domain.tsv"), Dev = Path.Combine(dataDir, "dev.domain.tsv"), Test = Path.Combine(dataDir, "test.domain.tsv"), MaxSeqLen = 16,
        };
        // The demo's first steps, tiny: a fine-tuned teacher and a KD student (the demo's own shapes need MiniLM).
        var ftConfig = new FineTuneConfig
        {
            Model = Encoder(root), Data = data, Pooling = "mean", Out = Path.Combine(demo, "finetune"), Threads = 1,
            Training = new TrainingOptions { Epochs = 4, BatchSize = 8, LearningRate = 3e-3 },
        };
        var ftRun = RunFolder.Create(ftConfig.Out!, "finetune", Resolved(ftConfig), false);
        var ft = ftRun.Run(() => FineTunePipeline.Run(ftConfig, new RunContext(ftRun, false, torch.CPU, null)));
        var kdConfig = new DistillConfig
        {
            Teacher = ftRun.BestDir, Student = "L1-H16-A2-I32", Init = "teacher", Preset = "kd", Data = data, Out = Path.Combine(demo, "distill-kd"), Threads = 1,
            Training = new TrainingOptions { Epochs = 1, BatchSize = 8, LearningRate = 1e-3 },
        };
        var kdRun = RunFolder.Create(kdConfig.Out!, "distill", Resolved(kdConfig), false);
        var kd = kdRun.Run(() => DistillPipeline.Run(kdConfig, new RunContext(kdRun, false, torch.CPU, null)));

        // The AdaBERT step with the demo's settings, cut to 3 steps per stage (the demo's --max-steps).
        var ab = DemoSteps.AdaBert(demo, ftRun.BestDir, data, 1, maxSteps: 3, resume: false, torch.CPU, transfer);
        string abDir = Path.Combine(demo, "adabert");
        var resolved = JsonNode.Parse(File.ReadAllText(Path.Combine(abDir, "config.resolved.json")))!;
        Assert.Equal(DemoSteps.AdaBertSearchEpochs, resolved["config"]!["search_training"]!["epochs"]!.GetValue<int>());
        Assert.Equal(DemoSteps.AdaBertKMax, resolved["config"]!["search"]!["k_max"]!.GetValue<int>());
        var trainSteps = File.ReadAllLines(Path.Combine(abDir, "metrics.jsonl")).Select(l => JsonNode.Parse(l)!).Where(m => m["type"]!.GetValue<string>() == "train")
            .GroupBy(m => m["stage"]!.GetValue<int>()).ToDictionary(g => g.Key, g => g.Max(m => m["step"]!.GetValue<long>()));
        Assert.Equal(Math.Min(3, 2 * DemoSteps.AdaBertSearchEpochs), trainSteps[1]); // search: 48 rows = 2 batches of 32 per epoch
        Assert.Equal(3, trainSteps[2]); // retraining
        Assert.Equal("adabert_cnn", ClassifierFolder.ModelType(Path.Combine(abDir, "best")));
        // Retrained on the 48 training rows + the 20 transfer sentences (none of them in dev or test).
        Assert.Equal(68, JsonNode.Parse(File.ReadAllText(Path.Combine(abDir, "retrain", "done.json")))!["Result"]!["Rows"]!.GetValue<int>());

        // Its test accuracy, recomputed from best/ with `distil predict`'s code path against the gold labels.
        var test = DatasetReader.Read(data.Test!).Examples;
        var predicted = PredictCommand.Predict(Path.Combine(abDir, "best"), test.Select(e => (e.Text, (string?)null)).ToList(), 16);
        double accuracy = test.Zip(predicted).Count(p => p.First.Label == p.Second.Label) / (double)test.Count;
        Assert.Equal(accuracy, ab.Student.Test!["accuracy"], 9);

        // The report: the AdaBERT row with that accuracy, its share of the teacher's, its parameters and speed-up.
        string bench = DemoCommand.Bench(demo, ftRun.Dir, kdRun.Dir, data.Test!);
        DemoCommand.WriteReport(demo, ft, kd, 1, bench, ab, null, null, null);
        string report = File.ReadAllText(Path.Combine(demo, "report.md"));
        string Pct(double v) => (100 * v).ToString("F2", CultureInfo.InvariantCulture) + "%";
        var row = report.Split('\n').Single(l => l.StartsWith($"| {ab.Student.Name} |", StringComparison.Ordinal));
        var cells = row.Split('|', StringSplitOptions.TrimEntries)[1..^1];
        Assert.Equal(Pct(accuracy), cells[1]);
        Assert.Equal((accuracy / ft.Splits.Single(s => s.Split == "test").Metrics["accuracy"]).ToString("P1", CultureInfo.InvariantCulture), cells[2]);
        long parameters = ab.Genotype.ParameterCount(TinyBert.Words.Length + 7, 128, DemoSteps.AdaBertHidden, 2);
        Assert.Equal($"{parameters / 1e6:F2}M", cells[3]);
        Assert.Equal((ab.Teacher.LatencyMs / ab.Student.LatencyMs).ToString("F1", CultureInfo.InvariantCulture) + "x", cells[6]);
        Assert.Contains(ab.Genotype.ToString(), report);
        Assert.Contains("![derived AdaBERT cell](adabert/cell.png)", report);
        Assert.True(File.Exists(Path.Combine(abDir, "cell.png")));

        // The bench: the AdaBERT student in TorchSharp, ONNX fp32 (export checked) and ONNX int8, with the run's accuracy.
        var rows = JsonNode.Parse(File.ReadAllText(Path.Combine(demo, "bench", BenchReport.JsonFile)))!["rows"]!.AsArray()
            .Select(r => r.Deserialize<BenchRow>(Distil.Onnx.OnnxExport.ReportJson)!).ToList();
        var adabertRows = rows.Where(r => r.Model == "adabert").ToList();
        Assert.Equal(["torchsharp fp32", "onnxruntime fp32", "onnxruntime int8-integer"], adabertRows.Select(r => $"{r.Engine} {r.Precision}"));
        Assert.Equal(accuracy, adabertRows[0].Accuracy!.Value, 9);
        Assert.Equal(accuracy, adabertRows[1].Accuracy!.Value, 9); // the export passed its parity check: same argmax on every row
        Assert.Equal(parameters, adabertRows[0].Parameters);
        Assert.Contains("| adabert | ONNX int8-integer vs ONNX fp32 |", bench);

        // The Pareto plot: one point per row with an accuracy, the AdaBERT rows among them; a point is on the front
        // exactly when it is more accurate than every faster point.
        var options = new BenchOptions { MaxSeqLen = 64 };
        var points = BenchReport.ParetoPoints(rows, options);
        Assert.Equal(rows.Count, points.Count);
        Assert.Equal(3, points.Count(p => p.Row.Model == "adabert"));
        Assert.True(points.Zip(points.Skip(1)).All(p => p.First.X <= p.Second.X));
        for (int i = 0; i < points.Count; i++)
            Assert.Equal(points.Take(i).All(q => q.Y < points[i].Y), points[i].OnFront);
        Assert.True(new FileInfo(Path.Combine(demo, "bench", BenchReport.PlotFile)).Length > 0);

        // --resume keeps the finished step: nothing trains again and best/ stays byte for byte.
        var weights = File.ReadAllBytes(Path.Combine(abDir, "best", "model.safetensors"));
        int metricLines = File.ReadAllLines(Path.Combine(abDir, "metrics.jsonl")).Length;
        var again = DemoSteps.AdaBert(demo, ftRun.BestDir, data, 1, maxSteps: 3, resume: true, torch.CPU, transfer);
        Assert.Equal(weights, File.ReadAllBytes(Path.Combine(abDir, "best", "model.safetensors")));
        Assert.Equal(metricLines, File.ReadAllLines(Path.Combine(abDir, "metrics.jsonl")).Length);
        Assert.Equal(ab.Genotype.ToString(), again.Genotype.ToString());
        Assert.Equal(accuracy, again.Student.Test!["accuracy"], 9);
    }

    [Fact]
    public void CellKindTellsIdentityOnlyCellsFromCellsWithOperations()
    {
        GenotypeEdge E(string op, int input) => new(op, input);
        var identity = new Genotype(1, [[E("identity", 0), E("identity", 1)], [E("identity", 0), E("identity", 2)], [E("identity", 1), E("identity", 3)]]);
        Assert.Equal("identity edges only: a bag of projected embeddings", DemoSteps.CellKind(identity));
        var mixed = new Genotype(2, [[E("conv5", 0), E("identity", 1)], [E("max_pool3", 0), E("conv5", 2)], [E("identity", 1), E("identity", 3)]]);
        Assert.Equal("keeps conv5, max_pool3", DemoSteps.CellKind(mixed));
    }

    [Fact]
    public void AdaBertIsAnOptionalStepOfTheDemo() => Assert.Contains("adabert", DemoCommand.OptionalSteps);
}
