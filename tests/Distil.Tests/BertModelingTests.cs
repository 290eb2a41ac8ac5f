using Distil.Models;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Distil.Tests;

public class BertModelingTests
{
    public BertModelingTests() => torch.set_num_threads(1);

    /// <summary>config.json holds HF keys only: derived values (NumLabels, HeadDim, Labels) are neither written nor kept.</summary>
    [Fact]
    public void ConfigJsonHoldsNoDerivedValues()
    {
        var config = TinyBert.Config(labels: 3);
        var json = System.Text.Json.Nodes.JsonNode.Parse(config.ToJson())!.AsObject();
        foreach (string key in new[] { "NumLabels", "HeadDim", "Labels" }) Assert.False(json.ContainsKey(key), key);
        Assert.Equal(3, json["id2label"]!.AsObject().Count);

        json["NumLabels"] = 2; json["HeadDim"] = 8; json["Labels"] = new System.Text.Json.Nodes.JsonArray("a", "b");
        var reread = BertConfig.FromJson(json.ToJsonString());
        Assert.Equal(3, reread.NumLabels);
        Assert.DoesNotContain("NumLabels", reread.ToJson());
    }

    [Fact]
    public void StateDictKeysAreHuggingFaceNames()
    {
        using var model = new BertForSequenceClassification(TinyBert.Config(layers: 1));
        var keys = model.state_dict().Keys.OrderBy(k => k, StringComparer.Ordinal).ToArray();
        string[] expected =
        {
            "bert.embeddings.LayerNorm.bias", "bert.embeddings.LayerNorm.weight", "bert.embeddings.position_embeddings.weight",
            "bert.embeddings.token_type_embeddings.weight", "bert.embeddings.word_embeddings.weight",
            "bert.encoder.layer.0.attention.output.LayerNorm.bias", "bert.encoder.layer.0.attention.output.LayerNorm.weight",
            "bert.encoder.layer.0.attention.output.dense.bias", "bert.encoder.layer.0.attention.output.dense.weight",
            "bert.encoder.layer.0.attention.self.key.bias", "bert.encoder.layer.0.attention.self.key.weight",
            "bert.encoder.layer.0.attention.self.query.bias", "bert.encoder.layer.0.attention.self.query.weight",
            "bert.encoder.layer.0.attention.self.value.bias", "bert.encoder.layer.0.attention.self.value.weight",
            "bert.encoder.layer.0.intermediate.dense.bias", "bert.encoder.layer.0.intermediate.dense.weight",
            "bert.encoder.layer.0.output.LayerNorm.bias", "bert.encoder.layer.0.output.LayerNorm.weight",
            "bert.encoder.layer.0.output.dense.bias", "bert.encoder.layer.0.output.dense.weight",
            "bert.pooler.dense.bias", "bert.pooler.dense.weight", "classifier.bias", "classifier.weight",
        };
        Assert.Equal(expected, keys);
        Assert.Equal(new long[] { 64, 32 }, model.state_dict()["bert.encoder.layer.0.intermediate.dense.weight"].shape); // HF Linear: [out, in]
    }

    [Fact]
    public void MaskedLmHeadTiesDecoderToWordEmbeddings()
    {
        using var model = new BertForMaskedLM(TinyBert.Config(layers: 1));
        var keys = model.state_dict().Keys.ToHashSet();
        Assert.Contains("cls.predictions.bias", keys);
        Assert.Contains("cls.predictions.transform.LayerNorm.weight", keys);
        Assert.DoesNotContain(keys, k => k.Contains("tied") || k.Contains("decoder"));
        model.eval();
        using var ids = tensor(new long[] { 2, 5, 7, 3 }).view(1, 4);
        using var logits = model.forward(new BertInputs(ids, ones_like(ids)));
        Assert.Equal(new long[] { 1, 4, 64 }, logits.shape);
    }

    [Fact]
    public void FusedAttentionEqualsExplicitSoftmaxAndPaddingDoesNotLeak()
    {
        torch.manual_seed(1);
        using var model = new BertModel(TinyBert.Config());
        model.eval();
        using var ids = tensor(new long[] { 2, 10, 11, 12, 3, 2, 20, 3, 0, 0 }).view(2, 5);
        using var mask = tensor(new long[] { 1, 1, 1, 1, 1, 1, 1, 1, 0, 0 }).view(2, 5);
        using var _ = no_grad();
        var fused = model.forward(new BertInputs(ids, mask));
        var expl = model.forward(new BertInputs(ids, mask), OutputRequest.All);
        Assert.True(fused.LastHiddenState.allclose(expl.LastHiddenState, rtol: 0, atol: 1e-5));
        Assert.Equal(3, expl.HiddenStates!.Count);
        // Values of layer 2 are that layer's value projection of layer 1's output.
        using var v = model.encoder.layer[1].attention.self.value.forward(expl.HiddenStates[1]);
        Assert.True(v.allclose(expl.Values![1], atol: 1e-6));
        Assert.Equal(new long[] { 2, 4, 5, 5 }, expl.Attentions![0].shape);
        // Attention to padded positions is exactly zero, and each row sums to one.
        Assert.Equal(0f, expl.Attentions[1][1, .., .., 3..].abs().max().item<float>());
        Assert.True(expl.Attentions[0].sum(-1).allclose(ones(2, 4, 5), atol: 1e-5));
        // The unpadded prefix of sequence 2 gives the same states alone as with padding.
        using var ids2 = tensor(new long[] { 2, 20, 3 }).view(1, 3);
        var alone = model.forward(new BertInputs(ids2, ones_like(ids2)));
        Assert.True(alone.LastHiddenState[0].allclose(fused.LastHiddenState[1, ..3], atol: 1e-5));
    }

    [Fact]
    public void MeanPoolIgnoresPadding()
    {
        using var h = tensor(new float[] { 1, 2, 3, 4, 100, 100 }).view(1, 3, 2);
        using var m = tensor(new long[] { 1, 1, 0 }).view(1, 3);
        using var p = BertForSequenceClassification.MeanPool(h, m);
        Assert.Equal(new float[] { 2, 3 }, p.data<float>().ToArray());
    }
}
