using Distil.Models;
using Xunit;

namespace Distil.Tests;

/// <summary>
/// Our state dict against the parameter list of a published checkpoint as transformers builds it (tests/Distil.Tests/data/golden-keys/,
/// each file names its source): same names and shapes (and, for roberta-base, whose listing is in registration order, the
/// same order), so HF's from_pretrained reads what we write. The other listings were traced from a forward pass, so
/// their order is the order of use, and only the set of names is compared.
/// </summary>
public class GoldenKeyTests
{
    static List<(string Key, long[] Shape)> Golden(string file) =>
        File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "data", "golden-keys", file))
            .Where(l => !l.StartsWith('#') && l.Length > 0)
            .Select(l => l.Split('\t'))
            .Select(p => (p[0], p[1].Split(',').Select(long.Parse).ToArray()))
            .ToList();

    [Fact]
    public void Roberta_base_sequence_classifier_has_the_published_parameter_names_and_shapes()
    {
        var config = new BertConfig
        {
            ModelType = "roberta", VocabSize = 50265, MaxPositionEmbeddings = 514, TypeVocabSize = 1, PadTokenId = 1, LayerNormEps = 1e-5,
        };
        using var model = new RobertaForSequenceClassification(config);
        var ours = model.named_parameters().Select(p => (p.name, p.parameter.shape)).ToList();
        var golden = Golden("roberta-base.sequence-classification.tsv");
        Assert.Equal(golden.Select(g => g.Key), ours.Select(o => o.name));
        foreach (var ((key, shape), (_, ourShape)) in golden.Zip(ours)) Assert.True(shape.SequenceEqual(ourShape), key);
        // The state dict (what model.safetensors holds) is the parameters and nothing else: no buffers such as position_ids.
        Assert.Equal(golden.Select(g => g.Key).Order(StringComparer.Ordinal), model.state_dict().Keys.Order(StringComparer.Ordinal));
    }

    /// <summary>Exactly the golden names (state dict = parameters, nothing more or less) and, by name, the golden shapes.</summary>
    static void AssertMatchesGolden(EncoderClassifier model, string file, Func<string, long[], long[]>? expectedShape = null)
    {
        var golden = Golden(file);
        var ours = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.shape);
        Assert.Equal(golden.Select(g => g.Key).Order(StringComparer.Ordinal), model.state_dict().Keys.Order(StringComparer.Ordinal));
        Assert.Equal(golden.Select(g => g.Key).Order(StringComparer.Ordinal), ours.Keys.Order(StringComparer.Ordinal));
        foreach (var (key, shape) in golden)
        {
            var want = expectedShape?.Invoke(key, shape) ?? shape;
            Assert.True(want.SequenceEqual(ours[key]), $"{key}: golden [{string.Join(",", want)}], ours [{string.Join(",", ours[key])}]");
        }
    }

    [Fact]
    public void Distilbert_base_uncased_sequence_classifier_has_the_published_parameter_names_and_shapes()
    {
        using var model = new DistilBertForSequenceClassification(new DistilBertConfig()); // the defaults are distilbert-base-uncased's config
        AssertMatchesGolden(model, "distilbert-base-uncased.sequence-classification.tsv");
    }

    [Fact]
    public void Electra_base_discriminator_sequence_classifier_has_the_published_parameter_names_and_shapes()
    {
        // google/electra-base-discriminator's config; the golden list is of a 1-output classifier fine-tuned from it.
        var config = new BertConfig
        {
            ModelType = ElectraFamily.Type, VocabSize = 30522, EmbeddingSize = 768, HiddenSize = 768, NumHiddenLayers = 12, NumAttentionHeads = 12,
            IntermediateSize = 3072, MaxPositionEmbeddings = 512, TypeVocabSize = 2,
        }.WithLabels(["score"]);
        using var model = new ElectraForSequenceClassification(config);
        AssertMatchesGolden(model, "electra-base-discriminator.sequence-classification.tsv");
    }

    [Fact]
    public void Xlm_roberta_base_sequence_classifier_has_the_published_parameter_names_and_shapes()
    {
        // xlm-roberta-base's config, but a 1,000-row word table instead of 250,002 rows (770 MB): every name is checked, and
        // every shape but that table's first dimension, which is the config's vocab_size, checked against the golden value.
        const int GoldenVocab = 250002, SmallVocab = 1000;
        var config = new BertConfig
        {
            ModelType = "xlm-roberta", VocabSize = SmallVocab, MaxPositionEmbeddings = 514, TypeVocabSize = 1, PadTokenId = 1, LayerNormEps = 1e-5,
        };
        using var model = new RobertaForSequenceClassification(config);
        const string Words = "roberta.embeddings.word_embeddings.weight";
        Assert.Equal(GoldenVocab, Golden("xlm-roberta-base.sequence-classification.tsv").Single(g => g.Key == Words).Shape[0]);
        AssertMatchesGolden(model, "xlm-roberta-base.sequence-classification.tsv", (key, shape) => key == Words ? [SmallVocab, shape[1]] : shape);
    }
}
