using System.Text.RegularExpressions;
using Distil.Checkpoints;
using Distil.Models;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Distil.Tests;

public sealed class ModelFolderTests : IDisposable
{
    readonly string root = TempDir.Scratch("modelfolder");
    readonly string tokenizer;

    public ModelFolderTests()
    {
        torch.set_num_threads(1);
        tokenizer = Path.Combine(root, "tok");
        Directory.CreateDirectory(tokenizer);
        File.WriteAllLines(Path.Combine(tokenizer, "vocab.txt"), Enumerable.Range(0, 64).Select(i => $"tok{i}"));
        File.WriteAllText(Path.Combine(tokenizer, "tokenizer_config.json"), "{\"do_lower_case\": true}");
    }

    public void Dispose() => Directory.Delete(root, recursive: true);

    /// <summary>Bitwise equality of two float tensors (shape and every element).</summary>
    static bool Same(Tensor a, Tensor b) =>
        a.shape.SequenceEqual(b.shape) && a.data<float>().ToArray().SequenceEqual(b.data<float>().ToArray());

    static BertInputs Batch()
    {
        // Two rows, the second padded after 4 tokens: exercises the mask as well as the weights.
        var ids = tensor(new long[] { 2, 17, 5, 33, 9, 3, 2, 40, 11, 3, 0, 0 }, 2, 6);
        var mask = tensor(new long[] { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0 }, 2, 6);
        return new BertInputs(ids, mask);
    }

    static Tensor Logits(BertForSequenceClassification m)
    {
        m.eval();
        using var _ = no_grad();
        var b = Batch();
        using var ids = b.InputIds;
        using var mask = b.AttentionMask;
        var o = m.forward(b);
        o.Encoder.LastHiddenState.Dispose();
        o.Encoder.PooledOutput?.Dispose();
        return o.Logits;
    }

    /// <summary>A BertModel's weights under HF's bare-encoder names (no "bert." prefix), plus the position_ids buffer some HF versions save.</summary>
    string WriteBareEncoderFolder(string name, BertConfig config, BertModel encoder)
    {
        string dir = Path.Combine(root, name);
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "config.json"), (config with { Id2Label = null, Label2Id = null, Architectures = ["BertModel"] }).ToJson());
        var sd = encoder.state_dict().ToDictionary(p => p.Key, p => p.Value);
        using var positionIds = arange(config.MaxPositionEmbeddings, dtype: int64).unsqueeze(0);
        sd["embeddings.position_ids"] = positionIds;
        SafeTensors.Write(Path.Combine(dir, "model.safetensors"), sd);
        return dir;
    }

    [Fact]
    public void SaveThenLoadGivesIdenticalLogitsAndStateDict()
    {
        torch.manual_seed(1);
        using var model = new BertForSequenceClassification(TinyBert.Config(labels: 3));
        using var expected = Logits(model);
        string dir = Path.Combine(root, "clf");
        ModelFolder.Save(dir, model, tokenizer);

        var (loaded, report) = ModelFolder.LoadForClassification(dir);
        using (loaded)
        {
            Assert.Empty(report.Missing);
            Assert.Empty(report.Unexpected);
            Assert.Empty(report.NewlyInitialised);
            Assert.Equal(new[] { "L0", "L1", "L2" }, loaded.Config.Labels);
            using var actual = Logits(loaded);
            Assert.True(Same(expected, actual), "logits differ after save/load");
            var a = model.state_dict();
            var b = loaded.state_dict();
            Assert.Equal(a.Keys.Order(StringComparer.Ordinal), b.Keys.Order(StringComparer.Ordinal));
            foreach (var (k, t) in a) Assert.True(Same(t, b[k]), k);
        }
        Assert.Equal(new[] { "BertForSequenceClassification" }, BertConfig.Load(Path.Combine(dir, "config.json")).Architectures);
        Assert.Equal(File.ReadAllText(Path.Combine(tokenizer, "vocab.txt")), File.ReadAllText(Path.Combine(dir, "vocab.txt")));
        Assert.True(File.Exists(Path.Combine(dir, "tokenizer_config.json")));
        Assert.True(File.Exists(Path.Combine(dir, "special_tokens_map.json"))); // written even where the source had none

        // The same labels again: the saved head is kept, not re-initialised.
        var (again, report2) = ModelFolder.LoadForClassification(dir, ["L0", "L1", "L2"]);
        using (again)
        {
            Assert.Empty(report2.Missing);
            using var actual = Logits(again);
            Assert.True(Same(expected, actual));
        }
    }

    [Fact]
    public void BareEncoderFolderGetsANewThreeWayHeadAndLoadsTheEncoder()
    {
        torch.manual_seed(2);
        var config = TinyBert.Config();
        using var encoder = new BertModel(config);
        string dir = WriteBareEncoderFolder("bare", config, encoder);

        var (model, report) = ModelFolder.LoadForClassification(dir, ["neg", "neu", "pos"]);
        using (model)
        {
            Assert.Equal(new[] { "classifier.bias", "classifier.weight" }, report.Missing.Order(StringComparer.Ordinal));
            Assert.Equal(report.Missing, report.NewlyInitialised);
            Assert.Empty(report.Unexpected); // position_ids is silently ignored
            Assert.Equal(new long[] { 3, 32 }, model.classifier.weight!.shape);
            Assert.Equal(new[] { "neg", "neu", "pos" }, model.Config.Labels);
            foreach (var (k, t) in encoder.state_dict()) Assert.True(Same(t, model.bert.state_dict()[k]), k);
        }

        using var loadedEncoder = ModelFolder.LoadEncoder(dir);
        foreach (var (k, t) in encoder.state_dict()) Assert.True(Same(t, loadedEncoder.state_dict()[k]), k);
        Assert.Null(ModelFolder.TryLoadMaskedLm(dir));

        // Mean pooling does not need the pooler; the default [CLS] pooler does.
        var sd = encoder.state_dict().Where(p => !p.Key.StartsWith("pooler.")).ToDictionary();
        SafeTensors.Write(Path.Combine(dir, "model.safetensors"), sd);
        var (mean, meanReport) = ModelFolder.LoadForClassification(dir, ["a", "b"], pooling: "mean");
        using (mean) Assert.Equal(new[] { "bert.pooler.dense.bias", "bert.pooler.dense.weight", "classifier.bias", "classifier.weight" }, meanReport.Missing.Order(StringComparer.Ordinal));
        var e = Assert.Throws<DistilException>(() => ModelFolder.LoadForClassification(dir, ["a", "b"]));
        Assert.Equal(ExitCodes.InvalidInput, e.ExitCode);
        Assert.Contains("bert.pooler.dense.weight", e.Message);
        Assert.Contains(Path.Combine(dir, "model.safetensors"), e.Message);
    }

    [Fact]
    public void MissingEncoderTensorIsAnErrorNamingIt()
    {
        torch.manual_seed(3);
        var config = TinyBert.Config();
        using var encoder = new BertModel(config);
        string dir = WriteBareEncoderFolder("holed", config, encoder);
        var sd = encoder.state_dict().Where(p => p.Key != "encoder.layer.1.output.dense.weight").ToDictionary();
        SafeTensors.Write(Path.Combine(dir, "model.safetensors"), sd);
        var e = Assert.Throws<DistilException>(() => ModelFolder.LoadForClassification(dir, ["a", "b"]));
        Assert.Equal(ExitCodes.InvalidInput, e.ExitCode);
        Assert.Contains("bert.encoder.layer.1.output.dense.weight", e.Message);
        Assert.Throws<DistilException>(() => ModelFolder.LoadEncoder(dir));
    }

    [Fact]
    public void ConfigAndWeightsOfDifferentSizesNameTheKeyAndBothShapes()
    {
        torch.manual_seed(4);
        using var small = new BertModel(TinyBert.Config(hidden: 16));
        string dir = WriteBareEncoderFolder("mismatch", TinyBert.Config(hidden: 16), small);
        File.WriteAllText(Path.Combine(dir, "config.json"), TinyBert.Config(hidden: 32).ToJson()); // config says 32

        var e = Assert.Throws<DistilException>(() => ModelFolder.LoadForClassification(dir));
        Assert.Equal(ExitCodes.InvalidInput, e.ExitCode);
        var m = Regex.Match(e.Message, @"tensor '([^']+)' has shape \[([^\]]*)\] but the model expects \[([^\]]*)\]");
        Assert.True(m.Success, e.Message);
        Assert.Contains(m.Groups[1].Value, small.state_dict().Keys);
        Assert.Contains("16", m.Groups[2].Value.Split(", "));
        Assert.Contains("32", m.Groups[3].Value.Split(", "));
        Assert.Contains(Path.Combine(dir, "model.safetensors"), e.Message);
    }

    /// <summary>
    /// HF folders need not have tokenizer_config.json: saving from one writes the defaults the text was split with
    /// (HF's uncased BERT), and the saved folder tokenizes exactly like the source.
    /// </summary>
    [Fact]
    public void SavingFromAFolderWithoutTokenizerConfigWritesTheDefaults()
    {
        string source = Path.Combine(root, "vocab-only");
        Directory.CreateDirectory(source);
        File.WriteAllLines(Path.Combine(source, "vocab.txt"), new[] { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "the", "good", "movie" });
        torch.manual_seed(2);
        using var model = new BertForSequenceClassification(TinyBert.Config());
        string dir = Path.Combine(root, "saved-from-vocab-only");
        ModelFolder.Save(dir, model, source);

        var written = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "tokenizer_config.json")))!;
        Assert.True(written["do_lower_case"]!.GetValue<bool>());
        var a = Distil.Text.BertTextTokenizer.FromFiles(Path.Combine(source, "vocab.txt"));
        var b = Distil.Text.BertTextTokenizer.FromFolder(dir);
        Assert.Equal(a.Settings, b.Settings);
        Assert.Equal(a.Encode("The Good MOVIE", null, 16).InputIds, b.Encode("The Good MOVIE", null, 16).InputIds);
    }

    [Fact]
    public void MissingFilesAreNotFoundNamingTheFile()
    {
        string dir = Path.Combine(root, "noconfig");
        Directory.CreateDirectory(dir);
        using (var m = new BertModel(TinyBert.Config())) SafeTensors.Write(Path.Combine(dir, "model.safetensors"), m.state_dict());
        var e = Assert.Throws<DistilException>(() => ModelFolder.LoadForClassification(dir));
        Assert.Equal(ExitCodes.InputNotFound, e.ExitCode);
        Assert.Contains(Path.Combine(dir, "config.json"), e.Message);

        File.WriteAllText(Path.Combine(dir, "config.json"), TinyBert.Config().ToJson());
        File.Delete(Path.Combine(dir, "model.safetensors"));
        e = Assert.Throws<DistilException>(() => ModelFolder.LoadForClassification(dir));
        Assert.Equal(ExitCodes.InputNotFound, e.ExitCode);
        Assert.Contains(Path.Combine(dir, "model.safetensors"), e.Message);
        Assert.Contains("pytorch_model.bin", e.Message); // named among the formats a folder may hold

        File.WriteAllBytes(Path.Combine(dir, "pytorch_model.bin"), [0x50, 0x4b]);
        e = Assert.Throws<DistilException>(() => ModelFolder.LoadForClassification(dir));
        Assert.Equal(ExitCodes.InvalidInput, e.ExitCode);
        Assert.Contains(Path.Combine(dir, "pytorch_model.bin"), e.Message);
        Assert.Contains("not a PyTorch checkpoint", e.Message);

        var missing = Path.Combine(root, "nothing-here");
        e = Assert.Throws<DistilException>(() => ModelFolder.LoadForClassification(missing));
        Assert.Equal(ExitCodes.InputNotFound, e.ExitCode);
        Assert.Contains(missing, e.Message);
    }

    [Fact]
    public void SavingOverAnExistingFolderReplacesItAndLeavesNoTempFolders()
    {
        string dir = Path.Combine(root, "out");
        torch.manual_seed(5);
        using var first = new BertForSequenceClassification(TinyBert.Config());
        ModelFolder.Save(dir, first, tokenizer);
        File.WriteAllText(Path.Combine(dir, "stale.txt"), "from an older run");
        File.WriteAllText(Path.Combine(tokenizer, "special_tokens_map.json"), "{}");

        using var second = new BertForSequenceClassification(TinyBert.Config());
        using var expected = Logits(second);
        ModelFolder.Save(dir, second, tokenizer);
        Assert.False(File.Exists(Path.Combine(dir, "stale.txt")));
        Assert.True(File.Exists(Path.Combine(dir, "special_tokens_map.json")));
        Assert.Equal(new[] { "out" }, Directory.GetDirectories(root, "out*").Select(Path.GetFileName));
        var (loaded, _) = ModelFolder.LoadForClassification(dir);
        using (loaded) using (var actual = Logits(loaded)) Assert.True(Same(expected, actual));

        // A save killed between its two renames leaves only out.old (complete) and a temp folder:
        // loading reads out.old, and the next save restores, cleans up and replaces.
        Directory.Move(dir, dir + ".old");
        Directory.CreateDirectory(dir + ".tmp-deadbeef");
        var (fromOld, _) = ModelFolder.LoadForClassification(dir);
        using (fromOld) using (var actual = Logits(fromOld)) Assert.True(Same(expected, actual));
        ModelFolder.Save(dir, first, tokenizer);
        Assert.Equal(new[] { "out" }, Directory.GetDirectories(root, "out*").Select(Path.GetFileName));
    }

    [Fact]
    public void MaskedLmFolderLoadsWithTiedDecoder()
    {
        torch.manual_seed(6);
        var config = TinyBert.Config() with { Id2Label = null, Label2Id = null };
        using var mlm = new BertForMaskedLM(config);
        string dir = Path.Combine(root, "mlm");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "config.json"), config.ToJson());
        SafeTensors.Write(Path.Combine(dir, "model.safetensors"), mlm.state_dict());

        using var loaded = ModelFolder.TryLoadMaskedLm(dir);
        Assert.NotNull(loaded);
        mlm.eval();
        loaded!.eval();
        using var _ = no_grad();
        var b = Batch();
        using var ids = b.InputIds;
        using var mask = b.AttentionMask;
        using var a = mlm.forward(b);
        using var c = loaded.forward(b);
        Assert.True(Same(a, c));
    }
}
