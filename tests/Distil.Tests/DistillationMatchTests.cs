using Distil.Distillation;
using Distil.Models;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Distil.Tests;

/// <summary>Matches as data: validation messages, gradients through MatchLoss, projections, JSON names.</summary>
public class DistillationMatchTests
{
    public DistillationMatchTests() => torch.set_num_threads(1);

    static readonly BertConfig Teacher = new() { NumHiddenLayers = 6, HiddenSize = 384, NumAttentionHeads = 12 };
    static readonly BertConfig Student = new() { NumHiddenLayers = 4, HiddenSize = 312, NumAttentionHeads = 12 };

    static string Error(params IntermediateMatch[] matches) =>
        Assert.Throws<DistilException>(() => MatchRegistry.Validate(matches, Teacher, Student)).Message;

    [Fact]
    public void LayerOutOfRangeNamesTheMatch()
    {
        var msg = Error(new IntermediateMatch(3, 1, "hidden", "mse", Projection: "linear"),
                        new IntermediateMatch(7, 3, "hidden", "mse", Projection: "linear"));
        Assert.Contains("match #2 (hidden mse, teacher layer 7 -> student layer 3)", msg);
        Assert.Contains("teacher has only 6 layers", msg);
        Assert.Contains("attention layers are 1 .. 6", Error(new IntermediateMatch(0, 1, "attention", "mse")));
    }

    [Fact]
    public void WidthMismatchWithoutProjectionAsksForOne()
    {
        var msg = Error(new IntermediateMatch(6, 4, "hidden", "mse"));
        Assert.Contains("match #1 (hidden mse, teacher layer 6 -> student layer 4)", msg);
        Assert.Contains("declare \"projection\": \"linear\"", msg);
        MatchRegistry.Validate(new[] { new IntermediateMatch(6, 4, "hidden", "mse", Projection: "linear") }, Teacher, Student);
    }

    [Fact]
    public void UnknownNamesListTheValidOnes()
    {
        var loss = Error(new IntermediateMatch(6, 4, "hidden", "hidden_mse"));
        Assert.Contains("match #1", loss);
        Assert.Contains("unknown loss 'hidden_mse' for feature 'hidden'; valid losses: cosine, mse", loss);
        var feature = Error(new IntermediateMatch(6, 4, "pooled", "mse"));
        Assert.Contains("unknown feature 'pooled'", feature);
        Assert.Contains("value_relation", feature);
    }

    [Fact]
    public void NegativeWeightAndBadTemperatureAreRejected()
    {
        Assert.Contains("match #1 (logits soft_ce): weight -1 must be finite and >= 0", Error(new IntermediateMatch(0, 0, "logits", "soft_ce", -1)));
        Assert.Contains("weight NaN", Error(new IntermediateMatch(0, 0, "logits", "soft_ce", double.NaN)));
        Assert.Contains("temperature 0 must be > 0", Error(new IntermediateMatch(0, 0, "logits", "soft_ce", 1, 0)));
    }

    [Fact]
    public void RelationHeadsMustDivideBothWidthsAndHeadsMustMatchForAttention()
    {
        var msg = Error(new IntermediateMatch(6, 4, "value_relation", "kl", RelationHeads: 5));
        Assert.Contains("match #1 (value_relation kl, teacher layer 6 -> student layer 4)", msg);
        Assert.Contains("relation_heads 5 must divide both the teacher width 384 and the student width 312", msg);
        Assert.Contains("relation_heads is required", Error(new IntermediateMatch(6, 4, "value_relation", "kl")));
        var heads = Assert.Throws<DistilException>(() => MatchRegistry.Validate(
            new[] { new IntermediateMatch(6, 4, "attention", "kl") }, Teacher, Student with { NumAttentionHeads = 6 })).Message;
        Assert.Contains("teacher has 12 heads, student 6", heads);
    }

    [Fact]
    public void JsonUsesSnakeCaseNamesAndRejectsUnknownKeys()
    {
        var json = """[{"teacher_layer":6,"student_layer":3,"feature":"value_relation","loss":"kl","weight":0.5,"relation_heads":4}]""";
        var m = Assert.Single(IntermediateMatch.ListFromJson(json));
        Assert.Equal(new IntermediateMatch(6, 3, "value_relation", "kl", 0.5, RelationHeads: 4), m);
        Assert.Contains("\"relation_heads\": 4", IntermediateMatch.ListToJson(new[] { m }));
        Assert.Throws<DistilException>(() => IntermediateMatch.ListFromJson("""[{"layer_T":6,"student_layer":3,"feature":"hidden","loss":"mse"}]"""));
    }

    [Fact]
    public void GradientReachesStudentAndProjectionsButNotTeacher()
    {
        torch.manual_seed(3);
        var tc = TinyBert.Config(layers: 2, hidden: 32, heads: 4);
        var sc = TinyBert.Config(layers: 1, hidden: 16, heads: 4);
        using var teacher = new BertForSequenceClassification(tc);
        using var student = new BertForSequenceClassification(sc);
        teacher.eval();
        student.train();
        var matches = new[]
        {
            new IntermediateMatch(0, 0, "labels", "hard_ce", 0.5),
            new IntermediateMatch(0, 0, "logits", "soft_ce", 2.0, 2.0),
            new IntermediateMatch(0, 0, "embedding", "mse", Projection: "linear"),
            new IntermediateMatch(2, 1, "hidden", "mse", Projection: "linear"),
            new IntermediateMatch(2, 1, "hidden", "cosine", Projection: "linear"),
            new IntermediateMatch(2, 1, "attention", "mse"),
            new IntermediateMatch(2, 1, "attention", "kl"),
            new IntermediateMatch(2, 1, "value_relation", "kl", RelationHeads: 2),
            new IntermediateMatch(2, 1, "attention_relation", "kl", RelationHeads: 2),
            new IntermediateMatch(1, 1, "cls_hidden", "mse", Projection: "linear"),
        };
        MatchRegistry.Validate(matches, tc, sc);
        using var projections = new Projections(matches, sc.HiddenSize, tc.HiddenSize);
        Assert.Equal(new[] { "proj_cls_hidden_1_to_1", "proj_embedding_0_to_0", "proj_hidden_1_to_2" }, projections.named_parameters()
            .Select(p => p.name.Split('.')[0]).Distinct().Order(StringComparer.Ordinal).ToArray());

        using var ids = tensor(new long[] { 2, 5, 9, 0, 3, 4, 0, 0 }, new long[] { 2, 4 });
        using var mask = ids.ne(0).to(int64);
        using var labels = tensor(new long[] { 1, 0 });
        var inputs = new BertInputs(ids, mask);
        SequenceClassifierOutput tOut;
        using (no_grad()) tOut = teacher.forward(inputs, OutputRequest.All);
        var sOut = student.forward(inputs, OutputRequest.All);
        using var result = MatchLoss.Compute(matches, DistillSide.From(sOut, student.bert), DistillSide.From(tOut, teacher.bert), mask, labels, projections);

        Assert.True(double.IsFinite(result.Total.item<float>()));
        Assert.Contains("hidden_1_2", result.Terms.Keys);
        Assert.Contains("hidden_1_2_cosine", result.Terms.Keys);
        Assert.Contains("logits_soft_ce", result.Terms.Keys);
        double weighted = matches.Select((m, i) => m.Weight * result.Terms.Values.ElementAt(i)).Sum();
        Assert.Equal(weighted, result.Total.item<float>(), 3);
        result.Total.backward();

        Assert.False(tOut.Logits.requires_grad);
        Assert.All(teacher.parameters(), p => Assert.Null(p.grad));
        Assert.All(projections.parameters(), p => Assert.True(p.grad is not null && p.grad.abs().sum().item<float>() > 0));
        Assert.True(student.bert.encoder.layer[0].attention.self.value.weight!.grad!.abs().sum().item<float>() > 0);
        Assert.True(student.classifier.weight!.grad!.abs().sum().item<float>() > 0);
    }
}
