using Distil.Distillation;
using Distil.Models;
using Xunit;

namespace Distil.Tests;

/// <summary>Layer maps and presets: the matches they build for a 6x384/12 teacher.</summary>
public class DistillationPresetTests
{
    static readonly BertConfig Teacher = new() { NumHiddenLayers = 6, HiddenSize = 384, NumAttentionHeads = 12 };
    static readonly BertConfig Narrow = new() { NumHiddenLayers = 2, HiddenSize = 384, NumAttentionHeads = 12 };
    static readonly BertConfig Tiny = new() { NumHiddenLayers = 4, HiddenSize = 312, NumAttentionHeads = 12 };

    static int[] Teachers(IEnumerable<LayerPair> pairs) => pairs.Select(p => p.Teacher).ToArray();

    [Fact]
    public void UniformMapIsTinyBertRule()
    {
        Assert.Equal(new[] { 3, 6, 9, 12 }, Teachers(LayerMapping.Uniform(12, 4)));
        Assert.Equal(new[] { 3, 6 }, Teachers(LayerMapping.Uniform(6, 2)));
        Assert.Equal(new[] { 1, 2, 3, 4 }, LayerMapping.Uniform(12, 4).Select(p => p.Student).ToArray());
    }

    [Fact]
    public void LastSkipAndExplicitMaps()
    {
        Assert.Equal(new[] { new LayerPair(12, 4) }, LayerMapping.Get("last", 12, 4));
        Assert.Equal(new[] { new LayerPair(11, 3), new LayerPair(12, 4) }, LayerMapping.Last(12, 4, 2));
        Assert.Equal(new[] { 2, 4, 6 }, Teachers(LayerMapping.Skip(12, 3, 2)));
        Assert.Equal(new[] { 4, 8, 12 }, Teachers(LayerMapping.Get("skip", 12, 3)));
        Assert.Equal(new[] { new LayerPair(5, 1) }, LayerMapping.Get("explicit", 6, 2, pairs: new[] { new LayerPair(5, 1) }));
        Assert.Contains("teacher 7 -> student 1", Assert.Throws<DistilException>(() => LayerMapping.Explicit(6, 2, new[] { new LayerPair(7, 1) })).Message);
        Assert.Contains("valid: uniform, last, skip, explicit", Assert.Throws<DistilException>(() => LayerMapping.Get("every", 6, 2)).Message);
    }

    [Fact]
    public void KdIsAlphaCePlusTSquaredSoftCe()
    {
        var plan = DistillationPresets.Get("kd", Teacher, Narrow, temperature: 4, alpha: 0.25);
        Assert.Equal(new[]
        {
            new IntermediateMatch(0, 0, "labels", "hard_ce", 0.25),
            new IntermediateMatch(0, 0, "logits", "soft_ce", 0.75 * 16, 4),
        }, Assert.Single(plan.Stages));
    }

    [Fact]
    public void TinyBertSameWidthHasNoProjection()
    {
        var plan = DistillationPresets.Get("tinybert", Teacher, Narrow);
        Assert.Equal(2, plan.Stages.Count);
        Assert.Equal(new[]
        {
            new IntermediateMatch(0, 0, "embedding", "mse"),
            new IntermediateMatch(3, 1, "hidden", "mse"), new IntermediateMatch(6, 2, "hidden", "mse"),
            new IntermediateMatch(3, 1, "attention", "mse"), new IntermediateMatch(6, 2, "attention", "mse"),
        }, plan.Stages[0]);
        Assert.Equal(new[] { new IntermediateMatch(0, 0, "logits", "soft_ce", 1, 1.0) }, plan.Stages[1]);
    }

    [Fact]
    public void TinyBertNarrowStudentProjectsHiddenStates()
    {
        var stage1 = DistillationPresets.Get("tinybert", Teacher, Tiny).Stages[0];
        Assert.Equal(new IntermediateMatch(0, 0, "embedding", "mse", Projection: "linear"), stage1[0]);
        Assert.Equal(new[] { (1, 1), (3, 2), (4, 3), (6, 4) },
            stage1.Where(m => m.Feature == "hidden").Select(m => (m.TeacherLayer, m.StudentLayer)).ToArray());
        Assert.All(stage1.Where(m => m.Feature == "hidden"), m => Assert.Equal("linear", m.Projection));
        Assert.All(stage1.Where(m => m.Feature == "attention"), m => Assert.Null(m.Projection));
        Assert.Contains("student 6", Assert.Throws<DistilException>(() =>
            DistillationPresets.Get("tinybert", Teacher, Tiny with { NumAttentionHeads = 6 })).Message);
    }

    [Fact]
    public void DistilBertAndPkdAddMappedLayerTerms()
    {
        var distil = Assert.Single(DistillationPresets.Get("distilbert", Teacher, Tiny, 2, 0.5).Stages);
        Assert.Equal(new[] { (1, 1), (3, 2), (4, 3), (6, 4) },
            distil.Where(m => m.Loss == "cosine").Select(m => (m.TeacherLayer, m.StudentLayer)).ToArray());
        Assert.All(distil.Where(m => m.Loss == "cosine"), m => Assert.Equal("linear", m.Projection));
        var pkd = Assert.Single(DistillationPresets.Get("pkd", Teacher, Narrow, 2, 0.5).Stages);
        Assert.Equal(new IntermediateMatch(3, 1, "cls_hidden", "mse", DistillationPresets.PkdWeight), Assert.Single(pkd, m => m.Feature == "cls_hidden"));
    }

    [Fact]
    public void MiniLmUsesLastLayerAttentionAndValueRelations()
    {
        var same = DistillationPresets.Get("minilm", Teacher, Narrow);
        Assert.Equal(new[]
        {
            new IntermediateMatch(6, 2, "attention", "kl"),
            new IntermediateMatch(6, 2, "value_relation", "kl", RelationHeads: 12),
        }, same.Stages[0]);
        Assert.Equal(DistillationPresets.Kd(2.0, 0.5), same.Stages[1]);
        Assert.Equal(new IntermediateMatch(6, 4, "value_relation", "kl", RelationHeads: 12), DistillationPresets.Get("minilm", Teacher, Tiny).Stages[0][1]);
        // Head counts differ: attention becomes a query-key relation with shared relation heads (6 divides 384 and 312).
        var heads6 = DistillationPresets.Get("minilm", Teacher, Tiny with { NumAttentionHeads = 6 }).Stages[0];
        Assert.Equal(new IntermediateMatch(6, 4, "attention_relation", "kl", RelationHeads: 6), heads6[0]);
    }

    [Fact]
    public void UnknownPresetListsPresets()
    {
        var msg = Assert.Throws<DistilException>(() => DistillationPresets.Get("patient", Teacher, Narrow)).Message;
        Assert.Contains("unknown preset 'patient'; valid presets: kd, distilbert, pkd, tinybert, minilm", msg);
    }
}
