using System.Text.Json.Nodes;
using Distil.Checkpoints;
using Distil.Cli;
using Distil.Cli.Commands;
using Distil.Deploy;
using Distil.Models;
using Xunit;
using Xunit.Abstractions;

namespace Distil.Tests;

/// <summary>
/// The deployment commands on folders of every family, and on a folder whose weights are only pytorch_model.bin:
/// `distil export`, `quantize`, `predict`, `eval`, `bench` and <see cref="DistilPredictor"/>. The export's logits in ONNX
/// Runtime must equal `distil predict`'s TorchSharp logits on the same text; `distil eval` and the export agree on accuracy.
/// </summary>
public sealed class FamilyDeployTests(ITestOutputHelper output) : IDisposable
{
    readonly TempDir tmp = new("family-deploy");
    public void Dispose() => tmp.Dispose();

    static readonly string[] Labels = ["neg", "pos", "mixed"];

    string Tokenizer()
    {
        string dir = Path.Combine(tmp.Path, "tok");
        Directory.CreateDirectory(dir);
        File.WriteAllLines(Path.Combine(dir, "vocab.txt"), new[] { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]" }.Concat(Enumerable.Range(5, TinyFamilies.Vocab - 5).Select(i => $"w{i}")));
        return dir;
    }

    /// <summary>Labelled lines of vocabulary words, some as pairs, of lengths 1..14.</summary>
    string Data()
    {
        var rng = new Random(4);
        return tmp.File("data.tsv", "text\tlabel\n" + string.Join("\n", Enumerable.Range(0, 24).Select(i =>
            string.Join(' ', Enumerable.Range(0, 1 + rng.Next(14)).Select(_ => $"w{rng.Next(5, TinyFamilies.Vocab)}")) + "\t" + Labels[i % 3])));
    }

    EncoderClassifier Build(string family) => TinyFamilies.Randomised(family switch
    {
        "distilbert" => new DistilBertForSequenceClassification(TinyFamilies.DistilBert()),
        "electra" => new ElectraForSequenceClassification(TinyFamilies.Electra()),
        "deberta-v2" => new DebertaV2ForSequenceClassification(new DebertaV2Config
        {
            VocabSize = TinyFamilies.Vocab, HiddenSize = 16, NumHiddenLayers = 2, NumAttentionHeads = 4, IntermediateSize = 24, MaxPositionEmbeddings = 32,
            RelativeAttention = true, PositionBuckets = 8, PosAttType = ["p2c", "c2p"], ShareAttKey = true, NormRelEbd = "layer_norm", PositionBiasedInput = false,
        }.WithLabels(Labels)),
        _ => new RobertaForSequenceClassification(TinyFamilies.Roberta(family)),
    }, seed: 9);

    [Theory]
    [InlineData("roberta", true)] // weights only as pytorch_model.bin, as older HF folders have them
    [InlineData("xlm-roberta", false)]
    [InlineData("distilbert", true)]
    [InlineData("electra", false)]
    [InlineData("deberta-v2", true)]
    public void ExportQuantizePredictAndEvalAcceptTheFamily(string family, bool binOnly)
    {
        string dir = Path.Combine(tmp.Path, family);
        using (var model = Build(family)) ModelFolder.Save(dir, model, Tokenizer());
        if (binOnly)
        {
            PythonReference.Run("to_bin.py", dir);
            File.Delete(Path.Combine(dir, ModelFolder.WeightsFile));
        }
        string data = Data();
        var texts = File.ReadLines(data).Skip(1).Select(l => (l.Split('\t')[0], (string?)null)).ToList();
        texts.Add(("w5 w6 w7", "w8 w9")); // a pair

        var torch = PredictCommand.Predict(dir, texts, 24);
        string onnx = Path.Combine(tmp.Path, family + "-onnx"), int8 = Path.Combine(tmp.Path, family + "-int8");
        Assert.Equal(ExitCodes.Ok, CliApp.Run(["export", "--model", dir, "--out", onnx, "--data", data, "--max-seq-len", "24"]));
        Assert.Equal(ExitCodes.Ok, CliApp.Run(["quantize", "--model", dir, "--out", int8, "--data", data, "--max-seq-len", "24"]));
        Assert.True(File.Exists(Path.Combine(int8, "model.onnx")));

        // DistilPredictor (ONNX Runtime) on the export and `distil predict` (TorchSharp) on the folder: the same logits.
        using (var predictor = DistilPredictor.Load(onnx, new PredictorOptions { MaxSeqLen = 24 }))
        {
            var ort = predictor.Logits(texts);
            double max = 0;
            for (int i = 0; i < texts.Count; i++)
            {
                for (int k = 0; k < 3; k++) max = Math.Max(max, Math.Abs(ort[i][k] - torch[i].Logits[k]));
                Assert.Equal(torch[i].Label, predictor.Labels[Distil.Onnx.OrtClassifier.ArgMax(ort[i])]);
            }
            output.WriteLine($"{family}{(binOnly ? " (pytorch_model.bin)" : "")}: export vs predict, {texts.Count} texts, max |logit diff| {max:E2}");
            Assert.True(max <= 1e-4, $"{family}: {max}");
            Assert.Equal(Labels, predictor.Labels);
        }
        var onnxPredict = PredictCommand.Predict(onnx, texts, 24);
        Assert.Equal(torch.Select(p => p.Label), onnxPredict.Select(p => p.Label));

        string metrics = Path.Combine(tmp.Path, family + "-eval.json");
        Assert.Equal(ExitCodes.Ok, CliApp.Run(["eval", "--model", dir, "--data", data, "--max-seq-len", "24", "--metrics-json", metrics]));
        var m = JsonNode.Parse(File.ReadAllText(metrics))!;
        Assert.Equal(24, m["examples"]!.GetValue<int>());
        double expected = torch.Take(24).Select((p, i) => p.Label == Labels[i % 3] ? 1.0 : 0.0).Average();
        Assert.Equal(expected, m["accuracy"]!.GetValue<double>(), 6);
    }

    [Fact]
    public void BenchTimesABinOnlyRobertaFolderOnBothEngines()
    {
        string dir = Path.Combine(tmp.Path, "roberta");
        // The bench times 128 tokens: RoBERTa's table needs 128 + padding_idx + 1 rows.
        using (var model = TinyFamilies.Randomised(new RobertaForSequenceClassification(TinyFamilies.Roberta() with { MaxPositionEmbeddings = 130 }), 9))
            ModelFolder.Save(dir, model, Tokenizer());
        PythonReference.Run("to_bin.py", dir);
        File.Delete(Path.Combine(dir, ModelFolder.WeightsFile));
        string outDir = Path.Combine(tmp.Path, "bench");
        Assert.Equal(ExitCodes.Ok, CliApp.Run(["bench", dir, "--data", Data(), "--max-seq-len", "24", "--runs", "2", "--batch-runs", "1", "--warmup", "1", "--out", outDir]));
        var rows = JsonNode.Parse(File.ReadAllText(Path.Combine(outDir, "bench.json")))!["rows"]!.AsArray();
        var ts = rows.Single(r => r!["engine"]!.GetValue<string>() == "torchsharp")!;
        var fp32 = rows.Single(r => r!["engine"]!.GetValue<string>() == "onnxruntime" && r["precision"]!.GetValue<string>() == "fp32")!;
        Assert.Equal(new FileInfo(Path.Combine(dir, "pytorch_model.bin")).Length, ts["file_bytes"]!.GetValue<long>());
        Assert.Equal(ts["parameters"]!.GetValue<long>(), fp32["parameters"]!.GetValue<long>());
        Assert.Equal(ts["accuracy"]!.GetValue<double>(), fp32["accuracy"]!.GetValue<double>());
    }
}
