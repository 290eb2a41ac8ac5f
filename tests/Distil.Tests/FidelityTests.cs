using System.Text.Json;
using System.Text.Json.Nodes;
using Distil.Checkpoints;
using Distil.Cli.Commands;
using Distil.Models;
using TorchSharp;
using Xunit;
using Xunit.Abstractions;

namespace Distil.Tests;

/// <summary>
/// What Distil saves gives the same answers in transformers: tests/reference/folder.py (torch code written from
/// transformers' modeling_bert.py / modeling_albert.py and BertTokenizer, dispatching as
/// AutoModelForSequenceClassification does) turns real sentences into logits from the saved folder alone, and they
/// must equal `distil predict`'s within 1e-4 with the same argmax. The folder format of before (classifier_pooling
/// "mean" on a plain BertForSequenceClassification config) is refused by the reference: the check can fail.
/// </summary>
public sealed class FidelityTests(ITestOutputHelper output)
{
    const int MaxLen = 48;
    const double Tolerance = 1e-4;

    public static IEnumerable<object[]> Models() =>
        new[] { "bert/pooler", "bert/mean", "albert/pooler", "albert/mean" }.Select(m => new object[] { m });

    [Theory]
    [MemberData(nameof(Models))]
    public void SavedFolderGivesTransformersTheLogitsOfDistilPredict(string kind)
    {
        using var dir = new TempDir("fidelity");
        string folder = SaveTiny(dir.Path, kind);
        var inputs = Inputs();
        var (architecture, reference) = Reference(folder, inputs, dir.Path);
        var ours = PredictCommand.Predict(folder, inputs, MaxLen);

        double maxDiff = 0;
        int agree = 0;
        for (int i = 0; i < inputs.Count; i++)
        {
            Assert.Equal(reference[i].Length, ours[i].Logits.Length);
            for (int k = 0; k < reference[i].Length; k++) maxDiff = Math.Max(maxDiff, Math.Abs(reference[i][k] - ours[i].Logits[k]));
            if (ArgMax(reference[i]) == ArgMax(ours[i].Logits)) agree++;
        }
        output.WriteLine($"{kind}: {architecture}, {inputs.Count} inputs, max |logit diff| {maxDiff:E2}, argmax agreement {agree}/{inputs.Count}");
        Assert.True(maxDiff <= Tolerance, $"{kind}: max |logit diff| {maxDiff:E2} > {Tolerance}");
        Assert.Equal(inputs.Count, agree);
        bool mean = kind.EndsWith("/mean", StringComparison.Ordinal);
        Assert.Equal(mean, architecture.Contains("custom code", StringComparison.Ordinal));
        Assert.Equal(mean, File.Exists(Path.Combine(folder, TransformersFormat.ModelingFile)));
    }

    /// <summary>The format Distil wrote before: a mean-pooled model under a plain config. transformers would load it silently and pool [CLS].</summary>
    [Theory]
    [InlineData("bert/mean", "BertForSequenceClassification", "bert")]
    [InlineData("albert/mean", "AlbertForSequenceClassification", "albert")]
    public void TheFormerMeanPooledFormatIsRefused(string kind, string architecture, string modelType)
    {
        using var dir = new TempDir("fidelity-old");
        string folder = SaveTiny(dir.Path, kind);
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "config.json")))!.AsObject();
        config.Remove("auto_map");
        config["model_type"] = modelType;
        config["architectures"] = new JsonArray(architecture);
        File.WriteAllText(Path.Combine(folder, "config.json"), config.ToJsonString());
        File.Delete(Path.Combine(folder, TransformersFormat.ModelingFile));
        string input = Path.Combine(dir.Path, "input.txt");
        File.WriteAllLines(input, ["The food was great."]);

        var (code, _, stderr) = PythonReference.Try("folder.py", folder, input);
        Assert.Equal(2, code);
        Assert.Contains("REFUSED", stderr);
        Assert.Contains("classifier_pooling", stderr);
        // Distil itself still reads the old folder as mean-pooled: the answers differ from transformers', not from before.
        using var model = ClassifierFolder.Load(folder);
        Assert.Equal("mean", model.Module switch
        {
            BertForSequenceClassification b => b.Config.ClassifierPooling,
            AlbertForSequenceClassification a => a.Config.ClassifierPooling,
            _ => null,
        });
    }

    [Fact]
    public void EverySavedFolderHasTheTokenizerFilesTransformersReads()
    {
        using var dir = new TempDir("fidelity-tok");
        string folder = SaveTiny(dir.Path, "bert/pooler");
        var tok = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "tokenizer_config.json")))!;
        Assert.Equal("BertTokenizer", tok["tokenizer_class"]!.GetValue<string>());
        Assert.True(tok["do_lower_case"]!.GetValue<bool>());
        Assert.True(tok["tokenize_chinese_chars"]!.GetValue<bool>());
        Assert.Equal("[CLS]", tok["cls_token"]!.GetValue<string>());
        var special = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "special_tokens_map.json")))!;
        Assert.Equal("[PAD]", special["pad_token"]!.GetValue<string>());
        Assert.Equal("[SEP]", special["sep_token"]!.GetValue<string>());
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "config.json")))!;
        Assert.Null(config["auto_map"]);
        Assert.Equal("bert", config["model_type"]!.GetValue<string>());
    }

    /// <summary>A mean-pooled folder, loaded back and saved as pooler-pooled, loses its auto_map and modeling file.</summary>
    [Fact]
    public void ResavingAMeanPooledFolderAsPoolerDropsTheCustomCode()
    {
        using var dir = new TempDir("fidelity-resave");
        string folder = SaveTiny(dir.Path, "bert/mean");
        var mean = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "config.json")))!;
        Assert.Equal(BertConfig.MeanPooledType, mean["model_type"]!.GetValue<string>());
        Assert.Equal("modeling_distil.DistilBertMeanForSequenceClassification", mean["auto_map"]!["AutoModelForSequenceClassification"]!.GetValue<string>());
        var (model, _) = ModelFolder.LoadForClassification(folder, pooling: "pooler");
        using (model)
        {
            string again = Path.Combine(dir.Path, "again");
            ModelFolder.Save(again, model, folder);
            var config = JsonNode.Parse(File.ReadAllText(Path.Combine(again, "config.json")))!;
            Assert.Null(config["auto_map"]);
            Assert.Equal("bert", config["model_type"]!.GetValue<string>());
            Assert.False(File.Exists(Path.Combine(again, TransformersFormat.ModelingFile)));
        }
    }

    /// <summary>
    /// bench/fidelity.sh on a run folder with a mean BERT, a pooler ALBERT, an AdaBERT CNN and a folder in the former
    /// format, each under */best as `distil demo` lays them out: the table has a row per folder, the old one REFUSED.
    /// </summary>
    [Fact]
    public async Task BenchScriptTablesEveryBestFolderAndFailsOnTheFormerFormat()
    {
        using var dir = new TempDir("fidelity-bench");
        string run = Path.Combine(dir.Path, "run");
        void Place(string source, string name) => Directory.Move(source, Path.Combine(Directory.CreateDirectory(Path.Combine(run, name)).FullName, "best"));
        Place(SaveTiny(Path.Combine(dir.Path, "a"), "bert/mean"), "finetune");
        Place(SaveTiny(Path.Combine(dir.Path, "b"), "albert/pooler"), "distill-albert");
        Place(AdaBertCnnExportTests.CnnFolder(Path.Combine(dir.Path, "c")), "adabert");
        string old = SaveTiny(Path.Combine(dir.Path, "d"), "bert/mean");
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(old, "config.json")))!.AsObject();
        config.Remove("auto_map");
        config["model_type"] = "bert";
        config["architectures"] = new JsonArray("BertForSequenceClassification");
        File.WriteAllText(Path.Combine(old, "config.json"), config.ToJsonString());
        Place(old, "old-format");
        string test = Path.Combine(dir.Path, "test.tsv");
        File.WriteAllLines(test, File.ReadLines(Path.Combine(DataFolder, "test.tsv")).Take(31));

        var psi = new System.Diagnostics.ProcessStartInfo("bash", [Path.Combine(PythonReference.Folder, "..", "..", "bench", "fidelity.sh"), run])
        { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.Environment["TEST"] = test;
        psi.Environment["DISTIL"] = Path.Combine(AppContext.BaseDirectory, "Distil.Cli");
        using var p = System.Diagnostics.Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        string table = await p.StandardOutput.ReadToEndAsync();
        await p.WaitForExitAsync();
        output.WriteLine(table + await stderr);
        Assert.Equal(1, p.ExitCode);
        var rows = table.Split('\n').Where(l => l.StartsWith("| " + run, StringComparison.Ordinal)).ToList();
        Assert.Equal(4, rows.Count);
        Assert.Matches(@"finetune/best \| DistilBertMeanForSequenceClassification \(custom code: modeling_distil.py\) \| \d\.\d\de-\d+ \| 30/30 \|", rows.Single(r => r.Contains("/finetune/")));
        Assert.Matches(@"\| AlbertForSequenceClassification \| \d\.\d\de-\d+ \| 30/30 \|", rows.Single(r => r.Contains("/distill-albert/")));
        Assert.Contains("needs Distil", rows.Single(r => r.Contains("/adabert/")));
        Assert.Contains("REFUSED", rows.Single(r => r.Contains("/old-format/")));
    }

    /// <summary>Saves a tiny random classifier ("bert" or "albert", "/pooler" or "/mean") with a WordPiece vocabulary of the shipped data's words.</summary>
    internal static string SaveTiny(string root, string kind)
    {
        string tokenizer = Path.Combine(root, "tokenizer");
        Directory.CreateDirectory(tokenizer);
        var vocab = Vocabulary();
        File.WriteAllLines(Path.Combine(tokenizer, "vocab.txt"), vocab);
        string pooling = kind.Split('/')[1];
        torch.manual_seed(kind.GetHashCode(StringComparison.Ordinal) & 0xffff);
        EncoderClassifier model = kind.StartsWith("albert", StringComparison.Ordinal)
            ? new AlbertForSequenceClassification(new AlbertConfig
            {
                VocabSize = vocab.Length, EmbeddingSize = 16, HiddenSize = 32, NumHiddenLayers = 3, NumHiddenGroups = 1, NumAttentionHeads = 4,
                IntermediateSize = 48, MaxPositionEmbeddings = 64, ClassifierPooling = pooling,
            }.WithLabels(["0", "1"]))
            : new BertForSequenceClassification(TinyBert.Config(vocab: vocab.Length) with { ClassifierPooling = pooling, MaxPositionEmbeddings = 64 });
        using (model)
        {
            string folder = Path.Combine(root, kind.Replace('/', '-'));
            ModelFolder.Save(folder, model, tokenizer);
            return folder;
        }
    }

    /// <summary>Specials, punctuation, letters and their ## forms (so every word splits), and the 400 commonest words of the train split.</summary>
    static string[] Vocabulary()
    {
        var words = File.ReadLines(Path.Combine(DataFolder, "train.tsv")).Skip(1)
            .SelectMany(l => l.Split('\t')[0].ToLowerInvariant().Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Select(w => new string(w.Where(char.IsLetter).ToArray())).Where(w => w.Length > 1)
            .GroupBy(w => w).OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal).Take(400).Select(g => g.Key);
        var letters = Enumerable.Range('a', 26).Select(c => ((char)c).ToString()).Concat(Enumerable.Range('0', 10).Select(c => ((char)c).ToString())).ToArray();
        return new[] { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]" }.Concat(".,!?'\"():;-&/$".Select(c => c.ToString()))
            .Concat(letters).Concat(letters.Select(l => "##" + l)).Concat(words).Distinct().ToArray();
    }

    static string DataFolder => Path.Combine(PythonReference.Folder, "..", "..", "data", "uci-sentiment");

    /// <summary>Test-split sentences of many lengths (one cut at MaxLen), then pairs of them.</summary>
    internal static List<(string Text, string? Pair)> Inputs()
    {
        var texts = File.ReadLines(Path.Combine(DataFolder, "test.tsv")).Skip(1).Select(l => l.Split('\t')[0]).Take(40).ToList();
        texts.Add(string.Join(" ", texts.Take(6))); // longer than MaxLen: truncation
        var inputs = texts.Select(t => (t, (string?)null)).ToList();
        for (int i = 0; i + 1 < 16; i += 2) inputs.Add((texts[i], texts[i + 1]));
        return inputs;
    }

    internal static (string Architecture, double[][] Logits) Reference(string folder, IReadOnlyList<(string Text, string? Pair)> inputs, string scratch)
    {
        string input = Path.Combine(scratch, "reference-input.txt");
        File.WriteAllLines(input, inputs.Select(x => x.Pair == null ? x.Text : x.Text + "\t" + x.Pair));
        using var doc = JsonDocument.Parse(PythonReference.Run("folder.py", folder, input, "--max-length", MaxLen.ToString()));
        var logits = doc.RootElement.GetProperty("logits").EnumerateArray().Select(r => r.EnumerateArray().Select(v => v.GetDouble()).ToArray()).ToArray();
        Assert.Equal(inputs.Count, logits.Length);
        return (doc.RootElement.GetProperty("architecture").GetString()!, logits);
    }

    static int ArgMax(IReadOnlyList<double> v) => Enumerable.Range(0, v.Count).MaxBy(i => v[i]);
    static int ArgMax(IReadOnlyList<float> v) => Enumerable.Range(0, v.Count).MaxBy(i => v[i]);
}
