using System.Text.Json;
using Distil.Checkpoints;
using Distil.Models;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Distil.Tests;

/// <summary>Tiny random models of each encoder family, saved as HF folders and checked against the torch references in tests/reference/.</summary>
public static class TinyFamilies
{
    public const int Vocab = 40;
    static readonly string[] Labels = ["neg", "pos", "mixed"];

    public static BertConfig Roberta(string type = "roberta", int pad = 1) => new BertConfig
    {
        ModelType = type, VocabSize = Vocab, HiddenSize = 16, NumHiddenLayers = 2, NumAttentionHeads = 2, IntermediateSize = 24,
        MaxPositionEmbeddings = 34, TypeVocabSize = 1, PadTokenId = pad, LayerNormEps = 1e-5,
    }.WithLabels(Labels);

    public static BertConfig Electra(int embedding = 8) => new BertConfig
    {
        ModelType = ElectraFamily.Type, VocabSize = Vocab, EmbeddingSize = embedding, HiddenSize = 16, NumHiddenLayers = 2, NumAttentionHeads = 4,
        IntermediateSize = 24, MaxPositionEmbeddings = 32,
    }.WithLabels(Labels);

    public static DistilBertConfig DistilBert() => new DistilBertConfig
    {
        VocabSize = Vocab, Dim = 16, NLayers = 2, NHeads = 2, HiddenDim = 24, MaxPositionEmbeddings = 32,
    }.WithLabels(Labels);

    /// <summary>Weights scaled up from HF's N(0, 0.02) init, so the logits differ clearly between inputs.</summary>
    public static EncoderClassifier Randomised(EncoderClassifier model, int seed)
    {
        manual_seed(seed);
        using (no_grad())
            foreach (var (_, p) in model.named_parameters())
                p.add_(randn_like(p) * 0.3);
        model.eval();
        return model;
    }

    /// <summary>A folder with the vocab.txt that ModelFolder.Save copies (the families' own tokenizers are another branch's work).</summary>
    public static string TokenizerDir(TempDir t)
    {
        string dir = Path.Combine(t.Path, "tok");
        Directory.CreateDirectory(dir);
        File.WriteAllLines(Path.Combine(dir, "vocab.txt"), Enumerable.Range(0, Vocab).Select(i => $"w{i}"));
        return dir;
    }

    /// <summary>Three rows, the last two padded with <paramref name="pad"/> (mask 0).</summary>
    public static BertInputs PaddedBatch(long pad)
    {
        long[,] ids = { { 0, 5, 9, 13, 7, 22, 2 }, { 0, 31, 4, 2, pad, pad, pad }, { 0, 17, 2, pad, pad, pad, pad } };
        long[,] mask = { { 1, 1, 1, 1, 1, 1, 1 }, { 1, 1, 1, 1, 0, 0, 0 }, { 1, 1, 1, 0, 0, 0, 0 } };
        return new BertInputs(tensor(ids), tensor(mask));
    }
}

public class EncoderFamilyTests
{
    public static TheoryData<string> Families => new() { "roberta", "xlm-roberta", "camembert", "distilbert", "electra", "electra-no-project" };

    static EncoderClassifier Build(string family) => family switch
    {
        "distilbert" => new DistilBertForSequenceClassification(TinyFamilies.DistilBert()),
        "electra" => new ElectraForSequenceClassification(TinyFamilies.Electra()),
        "electra-no-project" => new ElectraForSequenceClassification(TinyFamilies.Electra(embedding: 16)),
        _ => new RobertaForSequenceClassification(TinyFamilies.Roberta(family)),
    };

    static string Script(string family) => family switch
    {
        "distilbert" => "distilbert.py",
        "electra" or "electra-no-project" => "electra.py",
        _ => "roberta.py",
    };

    [Theory]
    [MemberData(nameof(Families))]
    public void Saved_folder_matches_the_transformers_semantics_reference_and_reloads_to_identical_logits(string family)
    {
        using var t = new TempDir("families");
        using var model = TinyFamilies.Randomised(Build(family), seed: 11);
        string dir = Path.Combine(t.Path, "model");
        ModelFolder.Save(dir, model, TinyFamilies.TokenizerDir(t));
        var batch = TinyFamilies.PaddedBatch(model.Shape.PadTokenId);

        using var _ = no_grad();
        var ours = model.forward(batch);
        float[] logits = ours.Logits.data<float>().ToArray();
        float[] hidden = ours.Encoder.LastHiddenState.data<float>().ToArray();

        using (var reloaded = ModelFolder.LoadEncoderClassifier(dir))
        {
            Assert.Equal(model.GetType(), reloaded.GetType());
            reloaded.eval();
            Assert.Equal(logits, reloaded.forward(batch).Logits.data<float>().ToArray());
        }

        string inputs = t.File("inputs.json", JsonSerializer.Serialize(new
        {
            input_ids = Rows(batch.InputIds),
            attention_mask = Rows(batch.AttentionMask),
        }));
        string outPath = Path.Combine(t.Path, "out.json");
        PythonReference.Run(Script(family), dir, inputs, outPath);
        using var doc = JsonDocument.Parse(File.ReadAllText(outPath));
        var refLogits = Flatten(doc.RootElement.GetProperty("logits"));
        var refHidden = Flatten(doc.RootElement.GetProperty("last_hidden_state"));
        Assert.Equal(logits.Length, refLogits.Count);
        Assert.Equal(hidden.Length, refHidden.Count);
        double maxLogit = logits.Zip(refLogits, (a, b) => Math.Abs(a - b)).Max();
        // Padded positions' hidden states are compared too: both sides mask keys only, as HF does.
        double maxHidden = hidden.Zip(refHidden, (a, b) => Math.Abs(a - b)).Max();
        Assert.True(maxLogit <= 1e-4, $"{family}: max |logit diff| {maxLogit}");
        Assert.True(maxHidden <= 1e-4, $"{family}: max |hidden diff| {maxHidden}");
        Assert.True(logits.Max() - logits.Min() > 0.1, "the random model's logits should differ between classes");
    }

    [Fact]
    public void Config_json_carries_each_familys_own_keys()
    {
        using var t = new TempDir("families");
        string tok = TinyFamilies.TokenizerDir(t);
        JsonElement Saved(EncoderClassifier m, string name)
        {
            using (m) ModelFolder.Save(Path.Combine(t.Path, name), m, tok);
            return JsonDocument.Parse(File.ReadAllText(Path.Combine(t.Path, name, "config.json"))).RootElement.Clone();
        }
        var roberta = Saved(new RobertaForSequenceClassification(TinyFamilies.Roberta()), "r");
        Assert.Equal("RobertaForSequenceClassification", roberta.GetProperty("architectures")[0].GetString());
        Assert.Equal("roberta", roberta.GetProperty("model_type").GetString());
        Assert.Equal(1, roberta.GetProperty("type_vocab_size").GetInt32());
        Assert.Equal(1, roberta.GetProperty("pad_token_id").GetInt32());
        Assert.Equal(34, roberta.GetProperty("max_position_embeddings").GetInt32());
        Assert.False(roberta.TryGetProperty("embedding_size", out _));
        var xlmr = Saved(new RobertaForSequenceClassification(TinyFamilies.Roberta("xlm-roberta")), "x");
        Assert.Equal("XLMRobertaForSequenceClassification", xlmr.GetProperty("architectures")[0].GetString());
        var distil = Saved(new DistilBertForSequenceClassification(TinyFamilies.DistilBert()), "d");
        Assert.Equal("DistilBertForSequenceClassification", distil.GetProperty("architectures")[0].GetString());
        Assert.Equal((16, 2, 2, 24), (distil.GetProperty("dim").GetInt32(), distil.GetProperty("n_layers").GetInt32(),
            distil.GetProperty("n_heads").GetInt32(), distil.GetProperty("hidden_dim").GetInt32()));
        Assert.False(distil.TryGetProperty("hidden_size", out _));
        var electra = Saved(new ElectraForSequenceClassification(TinyFamilies.Electra()), "e");
        Assert.Equal("ElectraForSequenceClassification", electra.GetProperty("architectures")[0].GetString());
        Assert.Equal(8, electra.GetProperty("embedding_size").GetInt32());
    }

    [Fact]
    public void An_unknown_model_type_is_refused_naming_the_supported_ones()
    {
        using var t = new TempDir("families");
        t.File("config.json", """{"model_type": "funnel", "hidden_size": 16}""");
        var e = Assert.Throws<DistilException>(() => ModelFolder.LoadEncoderClassifier(t.Path));
        Assert.Contains("model_type 'funnel' is not supported", e.Message);
        foreach (var type in new[] { "bert", "albert", "roberta", "xlm-roberta", "camembert", "distilbert", "electra" })
            Assert.Contains(type, e.Message);
    }

    [Fact]
    public void A_roberta_folder_is_not_read_as_a_bert()
    {
        using var t = new TempDir("families");
        using var m = new RobertaForSequenceClassification(TinyFamilies.Roberta());
        string dir = Path.Combine(t.Path, "r");
        ModelFolder.Save(dir, m, TinyFamilies.TokenizerDir(t));
        var e = Assert.Throws<DistilException>(() => ModelFolder.LoadForClassification(dir));
        Assert.Contains("model_type 'roberta'", e.Message);
    }

    static long[][] Rows(Tensor t) => Enumerable.Range(0, (int)t.shape[0]).Select(i => t[i].data<long>().ToArray()).ToArray();

    static List<float> Flatten(JsonElement e)
    {
        var list = new List<float>();
        void Walk(JsonElement x)
        {
            if (x.ValueKind == JsonValueKind.Array) foreach (var y in x.EnumerateArray()) Walk(y);
            else list.Add(x.GetSingle());
        }
        Walk(e);
        return list;
    }
}
