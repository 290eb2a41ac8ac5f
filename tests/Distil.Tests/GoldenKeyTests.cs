using Distil.Models;
using Xunit;

namespace Distil.Tests;

/// <summary>
/// Our state dict against the parameter list of a published checkpoint as transformers builds it (tests/Distil.Tests/data/golden-keys/,
/// each file names its source): same names, same order, same shapes, so HF's from_pretrained reads what we write.
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
}
