using System.Text.Json;
using System.Text.Json.Nodes;
using Distil.Checkpoints;
using Distil.Cli;
using Distil.Cli.Commands;
using Distil.Models;
using Distil.Text;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Distil.Tests;

/// <summary>
/// DeBERTa-v2/v3: forward passes against tests/reference/deberta_v2.py (torch code written from transformers'
/// modeling_deberta_v2.py) on folders written by Python and by us, deberta-v3-base's published key list, the
/// pretraining checkpoint's extra heads, and `distil finetune` on a DeBERTa teacher.
/// </summary>
public sealed class DebertaV2Tests : IDisposable
{
    readonly string root = TempDir.Scratch("deberta");

    public DebertaV2Tests() => torch.set_num_threads(1);

    public void Dispose() => Directory.Delete(root, recursive: true);

    /// <summary>Configs that together switch every option on and off (as JSON, the way Python writes them).</summary>
    public static TheoryData<string, string> Configs => new()
    {
        // v3: buckets (mid 4 < T, so log buckets are hit), shared keys, normed relative embeddings, no absolute positions, legacy "p2c|c2p".
        { "v3", """{"vocab_size":40,"hidden_size":16,"num_hidden_layers":2,"num_attention_heads":4,"intermediate_size":24,"max_position_embeddings":32,"relative_attention":true,"position_buckets":8,"pos_att_type":"p2c|c2p","share_att_key":true,"norm_rel_ebd":"layer_norm","position_biased_input":false}""" },
        // v2: no buckets, max_relative_positions 4 < T (clamping), separate pos_key/pos_query projections, absolute positions, token types, E != H.
        { "v2", """{"vocab_size":40,"hidden_size":16,"embedding_size":8,"num_hidden_layers":2,"num_attention_heads":2,"intermediate_size":24,"max_position_embeddings":32,"relative_attention":true,"max_relative_positions":4,"pos_att_type":["c2p","p2c"],"share_att_key":false,"type_vocab_size":2,"hidden_act":"gelu_new","id2label":{"0":"a","1":"b","2":"c"},"label2id":{"a":0,"b":1,"c":2}}""" },
        // v2-xlarge-like: the conv branch, c2p only, small buckets.
        { "conv", """{"vocab_size":40,"hidden_size":16,"num_hidden_layers":2,"num_attention_heads":4,"intermediate_size":24,"max_position_embeddings":32,"relative_attention":true,"position_buckets":4,"max_relative_positions":16,"pos_att_type":["c2p"],"share_att_key":false,"norm_rel_ebd":"layer_norm","conv_kernel_size":3,"position_biased_input":false}""" },
        // relative_attention off: plain attention, still scaled by 1/sqrt(3 dh) for the listed position types (as HF).
        { "plain", """{"vocab_size":40,"hidden_size":16,"num_hidden_layers":1,"num_attention_heads":4,"intermediate_size":24,"max_position_embeddings":32,"pos_att_type":["p2c","c2p"]}""" },
    };

    /// <summary>Three rows of length 12: one full, two padded (after 7 and 3 tokens).</summary>
    static (long[][] Ids, long[][] Mask) Rows()
    {
        var rng = new Random(5);
        int[] lengths = [12, 7, 3];
        var ids = lengths.Select(n => Enumerable.Range(0, 12).Select(i => i < n ? (long)rng.Next(1, 40) : 0L).ToArray()).ToArray();
        var mask = lengths.Select(n => Enumerable.Range(0, 12).Select(i => i < n ? 1L : 0L).ToArray()).ToArray();
        return (ids, mask);
    }

    static BertInputs Inputs(long[][] ids, long[][] mask, long[][]? types = null)
    {
        int b = ids.Length, t = ids[0].Length;
        return new BertInputs(tensor(ids.SelectMany(r => r).ToArray(), b, t), tensor(mask.SelectMany(r => r).ToArray(), b, t),
            types == null ? null : tensor(types.SelectMany(r => r).ToArray(), b, t));
    }

    sealed record Reference(float[] Logits, float[] LastHidden, float[][] Hidden);

    Reference RunReference(string folder, long[][] ids, long[][] mask, long[][]? types = null)
    {
        string input = Path.Combine(root, $"in-{Guid.NewGuid():N}.json");
        File.WriteAllText(input, JsonSerializer.Serialize(new { input_ids = ids, attention_mask = mask, token_type_ids = types }));
        var json = JsonNode.Parse(PythonReference.Run("deberta_v2.py", "forward", folder, input))!;
        static float[] Flat(JsonNode? n) => n is JsonArray a ? a.SelectMany(Flat).ToArray() : [n!.GetValue<float>()];
        return new Reference(Flat(json["logits"]), Flat(json["last_hidden_state"]), json["hidden_states"]!.AsArray().Select(Flat).ToArray());
    }

    static double MaxDiff(float[] expected, Tensor actual)
    {
        var a = actual.contiguous().data<float>().ToArray();
        Assert.Equal(expected.Length, a.Length);
        return expected.Zip(a, (x, y) => Math.Abs(x - y)).Max();
    }

    static void AssertClose(Reference r, SequenceClassifierOutput output, string what)
    {
        double logits = MaxDiff(r.Logits, output.Logits), last = MaxDiff(r.LastHidden, output.Encoder.LastHiddenState);
        Assert.True(logits <= 1e-4 && last <= 1e-4, $"{what}: max |logit diff| {logits:E2}, max |last hidden diff| {last:E2}");
        Assert.Equal(r.Hidden.Length, output.Encoder.HiddenStates!.Count);
        for (int l = 0; l < r.Hidden.Length; l++)
        {
            double d = MaxDiff(r.Hidden[l], output.Encoder.HiddenStates[l]);
            Assert.True(d <= 1e-4, $"{what}: hidden state {l} max |diff| {d:E2}");
        }
    }

    [Theory]
    [MemberData(nameof(Configs))]
    public void AFolderWrittenByPythonLoadsAndComputesWhatTheReferenceComputes(string name, string config)
    {
        string folder = Path.Combine(root, name);
        PythonReference.Run("deberta_v2.py", "make", folder, "7", config);
        var (ids, mask) = Rows();
        long[][]? types = name == "v2" ? ids.Select(r => r.Select((_, i) => i >= 5 ? 1L : 0L).ToArray()).ToArray() : null;
        var reference = RunReference(folder, ids, mask, types);

        using var model = ModelFolder.LoadEncoderClassifier(folder);
        var deberta = Assert.IsType<DebertaV2ForSequenceClassification>(model);
        deberta.eval();
        using var _ = no_grad();
        AssertClose(reference, deberta.forward(Inputs(ids, mask, types), OutputRequest.All), name);
        // The attention maps are probabilities over the keys (padded keys get none) and the fused path needs none.
        var output = deberta.forward(Inputs(ids, mask, types), OutputRequest.All);
        var probs = output.Encoder.Attentions![0];
        Assert.True(allclose(probs.sum(-1), ones_like(probs.sum(-1)), rtol: 0, atol: 1e-5));
        Assert.Equal(0f, probs[1, .., 0, 7..].abs().max().item<float>());
        Assert.Equal(deberta.Config.NumLabels, (int)output.Logits.shape[1]);
    }

    static DebertaV2Config TinyV3(int vocab = 40, string[]? labels = null) => new DebertaV2Config
    {
        VocabSize = vocab, HiddenSize = 16, NumHiddenLayers = 2, NumAttentionHeads = 4, IntermediateSize = 24, MaxPositionEmbeddings = 32,
        RelativeAttention = true, PositionBuckets = 8, PosAttType = ["p2c", "c2p"], ShareAttKey = true, NormRelEbd = "layer_norm",
        PositionBiasedInput = false, HiddenDropoutProb = 0, AttentionProbsDropoutProb = 0,
    }.WithLabels(labels ?? ["neg", "pos"]);

    string BertTokenizerFolder(int vocab)
    {
        string dir = Path.Combine(root, "tok");
        Directory.CreateDirectory(dir);
        var words = new[] { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]" }.Concat(Enumerable.Range(5, vocab - 5).Select(i => $"w{i}"));
        File.WriteAllLines(Path.Combine(dir, "vocab.txt"), words);
        return dir;
    }

    [Fact]
    public void OurSavedFolderUsesHfKeysAndConfigAndTheReferenceComputesOurLogits()
    {
        manual_seed(21);
        using var model = new DebertaV2ForSequenceClassification(TinyV3());
        // Weights away from the init (LayerNorms at 1/0, zero biases) so every parameter shows in the output.
        using (no_grad())
            foreach (var p in model.parameters()) p.add_(randn_like(p) * 0.2);
        model.eval();
        string dir = Path.Combine(root, "ours");
        ModelFolder.Save(dir, model, BertTokenizerFolder(40));

        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "config.json")))!;
        Assert.Equal("deberta-v2", config["model_type"]!.GetValue<string>());
        Assert.Equal("DebertaV2ForSequenceClassification", config["architectures"]![0]!.GetValue<string>());
        Assert.Equal(new[] { "p2c", "c2p" }, config["pos_att_type"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal(8, config["position_buckets"]!.GetValue<int>());
        Assert.Null(config["Shape"]);
        Assert.Null(config["AttentionSpan"]);

        var (ids, mask) = Rows();
        using var _ = no_grad();
        var ours = model.forward(Inputs(ids, mask), OutputRequest.All);
        AssertClose(RunReference(dir, ids, mask), ours, "saved by Distil");

        using var loaded = ModelFolder.LoadEncoderClassifier(dir);
        loaded.eval();
        Assert.True(ours.Logits.data<float>().ToArray().SequenceEqual(loaded.forward(Inputs(ids, mask)).Logits.data<float>().ToArray()), "reloaded logits differ");
        using var any = ClassifierFolder.Load(dir);
        Assert.Equal("deberta-v2", any.ModelType);
        Assert.Equal(new[] { "neg", "pos" }, any.Labels);
    }

    /// <summary>The golden list: name and shape per line, '#' lines say where it came from.</summary>
    static List<(string Key, long[] Shape)> GoldenKeys() =>
        File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "data", "deberta-v3-base.keys.tsv"))
            .Where(l => l.Length > 0 && !l.StartsWith('#'))
            .Select(l => l.Split('\t'))
            .Select(p => (p[0], p[1].Split('x').Select(long.Parse).ToArray()))
            .ToList();

    [Fact]
    public void TheStateDictOfDebertaV3BaseHasThePublishedKeysAndShapes()
    {
        // microsoft/deberta-v3-base's config.json, with 3 labels as the published classifier has.
        var v3Base = new DebertaV2Config
        {
            VocabSize = 128100, HiddenSize = 768, NumHiddenLayers = 12, NumAttentionHeads = 12, IntermediateSize = 3072, MaxPositionEmbeddings = 512,
            RelativeAttention = true, PositionBuckets = 256, NormRelEbd = "layer_norm", ShareAttKey = true, PosAttType = ["p2c", "c2p"],
            LayerNormEps = 1e-7, MaxRelativePositions = -1, PositionBiasedInput = false, TypeVocabSize = 0,
        }.WithLabels(["entailment", "neutral", "contradiction"]);
        var golden = GoldenKeys();
        Assert.Equal(202, golden.Count);
        using var model = new DebertaV2ForSequenceClassification(v3Base);
        var ours = model.state_dict().Select(p => (p.Key, p.Value.shape)).ToList();
        Assert.Equal(golden.Select(g => g.Key).Order(StringComparer.Ordinal), ours.Select(o => o.Key).Order(StringComparer.Ordinal));
        foreach (var (key, shape) in golden) Assert.Equal(shape, ours.Single(o => o.Key == key).shape);
    }

    /// <summary>The tensors microsoft/deberta-v3-base holds beyond DebertaV2Model's (pretraining heads, an unused position table), as HF's load warnings list them.</summary>
    static readonly string[] PretrainingExtras =
    [
        "deberta.embeddings.position_embeddings.weight",
        "lm_predictions.lm_head.dense.weight", "lm_predictions.lm_head.dense.bias", "lm_predictions.lm_head.LayerNorm.weight",
        "lm_predictions.lm_head.LayerNorm.bias", "lm_predictions.lm_head.bias",
        "mask_predictions.dense.weight", "mask_predictions.dense.bias", "mask_predictions.LayerNorm.weight", "mask_predictions.LayerNorm.bias",
        "mask_predictions.classifier.weight", "mask_predictions.classifier.bias",
    ];

    [Fact]
    public void APretrainingCheckpointGetsANewHeadAndItsExtraTensorsAreReportedNotLoaded()
    {
        manual_seed(22);
        var c = TinyV3() with { Id2Label = null, Label2Id = null };
        using var encoder = new DebertaV2Model(c);
        string dir = Path.Combine(root, "pretrained");
        Directory.CreateDirectory(dir);
        var tensors = encoder.state_dict().ToDictionary(p => "deberta." + p.Key, p => p.Value);
        foreach (var k in PretrainingExtras) tensors[k] = zeros(k.EndsWith("position_embeddings.weight") ? new long[] { 32, 16 } : [4]);
        tensors["deberta.embeddings.position_ids"] = arange(32, dtype: int64).unsqueeze(0);
        File.WriteAllText(Path.Combine(dir, "config.json"), c.ToJson());
        SafeTensors.Write(Path.Combine(dir, "model.safetensors"), tensors);

        var (model, report) = DebertaV2Folder.LoadForClassification(dir, ["x", "y", "z"]);
        using (model)
        {
            Assert.Equal(PretrainingExtras.Order(StringComparer.Ordinal), report.Unexpected);
            Assert.Equal(new[] { "classifier.bias", "classifier.weight", "pooler.dense.bias", "pooler.dense.weight" }, report.NewlyInitialised.Order(StringComparer.Ordinal));
            Assert.True(allclose(encoder.encoder.rel_embeddings!.weight!, model.deberta.encoder.rel_embeddings!.weight!));
        }

        // A tensor of the encoder missing, or a config that asks for another layout, is a clear error.
        tensors.Remove("deberta.encoder.LayerNorm.weight");
        SafeTensors.Write(Path.Combine(dir, "model.safetensors"), tensors);
        var e = Assert.Throws<DistilException>(() => DebertaV2Folder.LoadForClassification(dir));
        Assert.Contains("deberta.encoder.LayerNorm.weight", e.Message);
        Assert.Contains("share_att_key", e.Message);
        var mean = Assert.Throws<DistilException>(() => DebertaV2Folder.LoadForClassification(dir, pooling: "mean"));
        Assert.Contains("ContextPooler", mean.Message);
        File.WriteAllText(Path.Combine(dir, "config.json"), """{"model_type":"deberta-v2","hidden_size":16,"num_attention_heads":4,"pos_att_type":["c2q"]}""");
        Assert.Contains("pos_att_type", Assert.Throws<DistilException>(() => DebertaV2Folder.LoadForClassification(dir)).Message);
    }

    [Fact]
    public void FinetuneTrainsADebertaTeacherAndBestGivesTheReferencesLogits()
    {
        // A bare DebertaV2Model folder (as save_pretrained writes one: keys without the deberta. prefix) with a WordPiece vocabulary.
        string teacher = Path.Combine(root, "teacher");
        Directory.CreateDirectory(teacher);
        var vocab = new[] { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", "!" }.Concat(TinyBert.Words).ToArray();
        File.WriteAllLines(Path.Combine(teacher, "vocab.txt"), vocab);
        File.WriteAllText(Path.Combine(teacher, "tokenizer_config.json"), """{"do_lower_case": true}""");
        // initializer_range 0.3, not 0.02: the relative-position terms must be large enough to show in the logits.
        var c = TinyV3(vocab.Length) with { Id2Label = null, Label2Id = null, HiddenDropoutProb = 0.1, InitializerRange = 0.3 };
        manual_seed(23);
        using (var encoder = new DebertaV2Model(c))
        {
            File.WriteAllText(Path.Combine(teacher, "config.json"), c.ToJson());
            StateDictLoader.SaveStateDict(encoder, Path.Combine(teacher, "model.safetensors"));
        }
        string train = CliTests.Data("train.tsv", 32, 1), dev = CliTests.Data("dev.tsv", 16, 2);
        string run = Path.Combine(root, "ft");
        var (code, output) = CliCapture.Run("finetune", "--model", teacher, "--train", train, "--dev", dev, "--out", run,
            "--epochs", "2", "--batch-size", "8", "--lr", "3e-3", "--max-seq-len", "16", "--threads", "1");
        Assert.True(code == ExitCodes.Ok, output);
        string best = Path.Combine(run, "best");
        Assert.Equal("deberta-v2", DebertaV2Config.Load(Path.Combine(best, "config.json")).ModelType);

        // best/ in the transformers-semantics reference gives our logits on real tokenized text, with padding.
        var tokenizer = BertTextTokenizer.FromFolder(best);
        var texts = new[] { "the movie was great .", "the food was awful !", "the phone is a fine phone , the food was poor ." };
        var encoded = texts.Select(s => tokenizer.Encode(s, null, 16).InputIds).ToArray();
        int t = encoded.Max(e => e.Length);
        var ids = encoded.Select(e => e.Concat(Enumerable.Repeat((long)tokenizer.Pad, t - e.Length)).ToArray()).ToArray();
        var mask = encoded.Select(e => Enumerable.Range(0, t).Select(i => i < e.Length ? 1L : 0L).ToArray()).ToArray();
        using var loaded = ModelFolder.LoadEncoderClassifier(best);
        loaded.eval();
        using var _ = no_grad();
        var ours = loaded.forward(Inputs(ids, mask), OutputRequest.All);
        var reference = RunReference(best, ids, mask);
        AssertClose(reference, ours, "fine-tuned best/");
        var argmax = ours.Logits.argmax(1).data<long>().ToArray();
        Assert.Equal(Enumerable.Range(0, texts.Length).Select(i => (long)(reference.Logits[2 * i] >= reference.Logits[2 * i + 1] ? 0 : 1)), argmax);

        // eval and predict read the folder by its model_type; predict's probabilities are the softmax of these logits.
        string metrics = Path.Combine(root, "eval.json");
        var (evalCode, evalOutput) = CliCapture.Run("eval", "--model", best, "--data", dev, "--max-seq-len", "16", "--metrics-json", metrics);
        Assert.True(evalCode == ExitCodes.Ok, evalOutput);
        Assert.Equal(16, JsonNode.Parse(File.ReadAllText(metrics))!["examples"]!.GetValue<int>());
        var predicted = PredictCommand.Predict(best, [(texts[0], (string?)null)], 16).Single();
        var p0 = nn.functional.softmax(ours.Logits[0], 0).data<float>().ToArray();
        Assert.Equal(p0[0], predicted.Probabilities["0"], 4);
        Assert.Equal(p0[1], predicted.Probabilities["1"], 4);

        // Training changed the encoder (it is not the teacher's weights with a head on top).
        using var start = DebertaV2Folder.LoadForClassification(teacher, ["0", "1"]).Model;
        Assert.False(allclose(start.deberta.encoder.layer[0].attention.self.query_proj.weight!, ((DebertaV2ForSequenceClassification)loaded).deberta.encoder.layer[0].attention.self.query_proj.weight!));
    }
}
