using Distil.Distillation;
using Distil.Models;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Distil.Tests;

/// <summary>
/// A new distillation feature is the match registry's business alone: registering a feature (what it needs) and its
/// loss is enough for validation, the forward's outputs, the teacher cache, the memory class and the loss itself.
/// The feature here, the masked mean of a hidden state compared by MSE, exists only in this test.
/// </summary>
public class MatchFeatureExtensionTests
{
    public MatchFeatureExtensionTests() => torch.set_num_threads(1);

    const string MeanHidden = "test_mean_hidden";

    static Tensor Mean(Tensor hidden, Tensor mask)
    {
        var m = mask.unsqueeze(-1).to(hidden.dtype);                       // (B, T, 1)
        return (hidden * m).sum(1) / m.sum(1);                              // (B, H)
    }

    static void Register()
    {
        MatchRegistry.RegisterFeature(new FeatureSpec(MeanHidden, LayerRange.Hidden, Layered: true, FromLabels: false,
            new OutputRequest(HiddenStates: true), KeepsAttentionMaps: false, l => CacheNeed.Tokens(l)));
        MatchRegistry.Register(new MatchKind(MeanHidden, MatchLosses.Mse, Projectable: true, EqualHeads: false, NeedsRelationHeads: false,
            UsesTemperature: false, (s, l) => new[] { s.Hidden(l) }, (s, t, mask, _) => (Mean(s[0], mask) - Mean(t[0], mask)).pow(2).mean()));
    }

    [Fact]
    public void ARegisteredFeatureIsValidatedRequestedCachedAndComputed()
    {
        Register();
        var tc = TinyBert.Config(layers: 2, hidden: 16, heads: 4);
        var sc = TinyBert.Config(layers: 1, hidden: 16, heads: 4);
        var match = new IntermediateMatch(2, 1, MeanHidden, MatchLosses.Mse);

        // Validation uses the feature's layer range.
        MatchRegistry.Validate(new[] { match }, tc, sc);
        var tooDeep = Assert.Throws<DistilException>(() => MatchRegistry.Validate(new[] { match with { TeacherLayer = 3 } }, tc, sc));
        Assert.Contains("teacher has only 2 layers", tooDeep.Message);
        Assert.Contains("valid losses: mse", Assert.Throws<DistilException>(() => MatchRegistry.Validate(new[] { match with { Loss = "kl" } }, tc, sc)).Message);

        // What the forward returns, what the teacher cache holds, the memory class.
        Assert.Equal(new OutputRequest(HiddenStates: true), MatchRegistry.OutputsFor(new[] { match }));
        var needs = TeacherNeeds.For(new[] { match, new IntermediateMatch(0, 0, MatchFeatures.Logits, MatchLosses.SoftCe, 1, 2.0) })!;
        Assert.Equal(new[] { 2 }, needs.TokenLayers);
        Assert.Empty(needs.AttentionLayers);
        Assert.False(MatchRegistry.KeepsAttentionMaps(new[] { match }));
        Assert.True(match.IsLayered);
        Assert.Equal("test_mean_hidden_1_2", match.TermName);

        // The loss, against the same mean computed by hand from the hidden states.
        torch.manual_seed(5);
        using var teacher = new BertForSequenceClassification(tc);
        using var student = new BertForSequenceClassification(sc);
        teacher.eval();
        using var ids = tensor(new long[] { 2, 5, 9, 0, 3, 4, 8, 6 }, new long[] { 2, 4 });
        using var mask = ids.ne(0).to(int64);
        var inputs = new BertInputs(ids, mask);
        var request = MatchRegistry.OutputsFor(new[] { match });
        SequenceClassifierOutput t;
        using (no_grad()) t = teacher.forward(inputs, request);
        var s = student.forward(inputs, request);
        using var result = MatchLoss.Compute(new[] { match }, DistillSide.From(s, student.bert), DistillSide.From(t, teacher.bert), mask, null, null);

        var hs = s.Encoder.HiddenStates![1].detach();
        var ht = t.Encoder.HiddenStates![2];
        double expected = 0;
        for (int b = 0; b < 2; b++)
        {
            int n = b == 0 ? 3 : 4; // the first row has one padding token
            for (int h = 0; h < 16; h++)
            {
                double ms = 0, mt = 0;
                for (int i = 0; i < n; i++) { ms += hs[b, i, h].item<float>(); mt += ht[b, i, h].item<float>(); }
                expected += Math.Pow(ms / n - mt / n, 2);
            }
        }
        expected /= 2 * 16;
        Assert.Equal(expected, result.Total.item<float>(), 5);
        result.Total.backward();
        Assert.True(student.bert.encoder.layer[0].output.dense.weight!.grad!.abs().sum().item<float>() > 0, "the gradient reaches the student");
    }
}
