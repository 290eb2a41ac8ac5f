using Distil.Distillation;
using Distil.Models;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Distil.Tests;

/// <summary>
/// The intermediate terms of distilbert and pkd really reach the student: on one batch, the preset's gradient minus
/// kd's gradient equals the gradient of the extra terms alone (computed separately), and it is not zero. This is the
/// check behind bench/results/kd-presets.md, where kd, distilbert and pkd gave equal test accuracy at a short budget.
/// </summary>
public class DistillationPresetGradientTests
{
    public DistillationPresetGradientTests() => torch.set_num_threads(1);

    static Dictionary<string, Tensor> Gradients(BertForSequenceClassification student, BertForSequenceClassification teacher,
        IReadOnlyList<IntermediateMatch> matches, BertConfig tc, BertConfig sc)
    {
        MatchRegistry.Validate(matches, tc, sc);
        student.zero_grad();
        using var ids = tensor(new long[] { 2, 5, 9, 7, 3, 0, 3, 4, 11, 0, 0, 0 }, new long[] { 2, 6 });
        using var mask = ids.ne(0).to(int64);
        using var labels = tensor(new long[] { 1, 0 });
        var inputs = new BertInputs(ids, mask);
        SequenceClassifierOutput t;
        using (no_grad()) t = teacher.forward(inputs, OutputRequest.All);
        var s = student.forward(inputs, OutputRequest.All);
        using var projections = new Projections(matches, sc.HiddenSize, tc.HiddenSize);
        using var result = MatchLoss.Compute(matches, DistillSide.From(s, student.bert), DistillSide.From(t, teacher.bert), mask, labels, projections);
        result.Total.backward();
        return student.named_parameters().Where(p => p.parameter.grad is not null)
            .ToDictionary(p => p.name, p => p.parameter.grad!.clone());
    }

    [Theory]
    [InlineData("pkd", "cls_hidden")]
    [InlineData("distilbert", "hidden")]
    public void ExtraTermsChangeTheStudentGradientByExactlyTheirOwnGradient(string preset, string feature)
    {
        torch.manual_seed(11);
        var tc = TinyBert.Config(layers: 4, hidden: 32, heads: 4);
        var sc = TinyBert.Config(layers: 2, hidden: 32, heads: 4);
        using var teacher = new BertForSequenceClassification(tc);
        using var student = new BertForSequenceClassification(sc);
        teacher.eval();
        student.eval(); // no dropout, so the three backward passes see the same forward

        var full = DistillationPresets.Get(preset, tc, sc, 2.0, 0.5).Stages.Single();
        var kd = DistillationPresets.Get("kd", tc, sc, 2.0, 0.5).Stages.Single();
        var extra = full.Where(m => m.Feature == feature).ToList();
        Assert.NotEmpty(extra);
        Assert.Equal(full.Count, kd.Count + extra.Count); // the preset is kd plus these terms, nothing else

        var gFull = Gradients(student, teacher, full, tc, sc);
        var gKd = Gradients(student, teacher, kd, tc, sc);
        var gExtra = Gradients(student, teacher, extra, tc, sc);
        // The first transformer layer feeds every intermediate match, so its gradient must move.
        string key = "bert.encoder.layer.0.attention.self.query.weight";
        double moved = (gFull[key] - gKd[key]).abs().max().item<float>();
        Assert.True(moved > 1e-6, $"{preset}: its {feature} terms do not change the gradient of {key} (max change {moved})");
        foreach (var (name, g) in gFull)
        {
            var expected = gKd.TryGetValue(name, out var k) ? k + (gExtra.TryGetValue(name, out var e) ? e : zeros_like(g)) : gExtra[name];
            Assert.True(allclose(g, expected, rtol: 1e-4, atol: 1e-6), $"{preset}: gradient of {name} is not kd's plus that of the {feature} terms");
        }
    }
}
