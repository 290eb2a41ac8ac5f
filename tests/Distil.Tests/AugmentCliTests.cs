using System.Text.Json.Nodes;
using Distil.Augment;
using Distil.Checkpoints;
using Distil.Cli;
using Distil.Cli.Commands;
using Distil.Data;
using Distil.Labels;
using TorchSharp;
using Xunit;

namespace Distil.Tests;

/// <summary>`distil augment` and `distil distill --augment N` on a tiny teacher: teacher labels, the label store, both entry points agree.</summary>
public class AugmentCliTests
{
    public AugmentCliTests() => torch.set_num_threads(1);

    static string Data(string dir, string name, int rows, int seed)
    {
        var rng = new Random(seed);
        var w = TinyBert.Words;
        string path = Path.Combine(dir, name);
        File.WriteAllLines(path, new[] { "text\tlabel\tdomain" }.Concat(Enumerable.Range(0, rows).Select(i =>
            $"The {w[9 + rng.Next(3)]} was {(i % 2 == 1 ? w[rng.Next(4)] : w[4 + rng.Next(4)])} and {w[9 + rng.Next(3)]} {w[rng.Next(8)]}.\t{i % 2}\t{(i % 3 == 0 ? "a" : "b")}")));
        return path;
    }

    /// <summary>A classifier folder (labels 0, 1) with random weights: labelling needs a teacher, not a good one.</summary>
    static string Teacher()
    {
        string encoder = TinyBert.TeacherFolder(layers: 2);
        string dir = Path.Combine(TempDir.Scratch("aug-teacher"), "teacher");
        var (model, _) = ModelFolder.LoadForClassification(encoder, new[] { "0", "1" }, pooling: "mean");
        using (model) ModelFolder.Save(dir, model, encoder);
        return dir;
    }

    static (int Rows, int Distinct) StoreRows(string dir)
    {
        var store = LabelStore.Open(dir);
        return (store.ReadShards().Sum(s => s.Count), store.Keys().Count);
    }

    /// <summary>
    /// `distil augment` and then `distil distill --augment` with the same settings: the copies are the same, labelled
    /// once (by the first command) in the label store next to the data; the second labels only the training rows.
    /// </summary>
    [Fact]
    public void DistillAugmentTrainsOnTeacherLabelledCopiesLabelledOnceInTheStore()
    {
        string teacher = Teacher();
        string dataDir = TempDir.Scratch("aug-data");
        string train = Data(dataDir, "train.tsv", 24, 1), dev = Data(dataDir, "dev.tsv", 8, 2);
        string file = Path.Combine(dataDir, "out", "train.aug.tsv");
        Assert.Equal(ExitCodes.Ok, CliApp.Run(new[] { "augment", "--teacher", teacher, "--data", train, "--out", file, "--augment", "2", "--max-seq-len", "16", "--threads", "1" }));
        var (labels, rows) = AugmentedSet.Read(file);
        Assert.Equal(new[] { "0", "1" }, labels);
        Assert.InRange(rows.Count, 24, 48); // up to 2 distinct copies of each of the 24 rows
        Assert.All(rows, r => Assert.NotEqual(r.Original, r.Augmented));
        // Each label is the teacher's own prediction for the augmented text (checked through `distil predict`'s path).
        var predicted = PredictCommand.Predict(teacher, rows.Select(r => (r.Augmented, (string?)null)).ToArray(), 16);
        for (int i = 0; i < rows.Count; i++)
        {
            Assert.Equal(predicted[i].Label, rows[i].TeacherLabel);
            Assert.Equal(predicted[i].Probabilities["1"], rows[i].TeacherProbabilities[1], 4);
        }
        string store = Directory.GetDirectories(Path.Combine(dataDir, ".distil-cache"), "labels-*").Single();
        int copies = rows.Select(r => r.Augmented).Distinct().Count();
        Assert.Equal((copies, copies), StoreRows(store));

        string run = Path.Combine(dataDir, "runs", "kd");
        string[] Args(string output) => new[] { "distill", "--teacher", teacher, "--student", "L1-H8-A2-I16", "--preset", "kd", "--augment", "2",
            "--train", train, "--dev", dev, "--out", output, "--epochs", "1", "--batch-size", "8", "--max-seq-len", "16", "--threads", "1" };
        Assert.Equal(ExitCodes.Ok, CliApp.Run(Args(run)));
        var result = JsonNode.Parse(File.ReadAllText(Path.Combine(run, "result.json")))!;
        Assert.Equal(rows.Count, result["augmented_examples"]!.GetValue<int>());
        Assert.Equal(24 + rows.Count, result["train_examples"]!.GetValue<int>());
        // distill labelled only what the store lacked: the training rows (the copies were labelled by `augment`), each once.
        int trainRows = DatasetReader.Read(train).Examples.Select(e => e.Text).Except(rows.Select(r => r.Augmented)).Distinct().Count();
        Assert.Equal((copies + trainRows, copies + trainRows), StoreRows(store));

        // A second run labels nothing.
        var shards = Directory.GetFiles(Path.Combine(store, LabelStore.ShardsDir));
        Assert.Equal(ExitCodes.Ok, CliApp.Run(Args(run + "2")));
        Assert.Equal(shards, Directory.GetFiles(Path.Combine(store, LabelStore.ShardsDir)));
        Assert.Equal(ExitCodes.InvalidUsage, CliApp.Run(new[] { "augment", "--teacher", teacher, "--data", train, "--out", file, "--augment-p", "1.5" }));
    }
}
