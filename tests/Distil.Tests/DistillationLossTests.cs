using Distil.Distillation;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Distil.Tests;

/// <summary>Each loss against arithmetic done by hand on tiny tensors.</summary>
public class DistillationLossTests
{
    public DistillationLossTests() => torch.set_num_threads(1);

    static Tensor T(float[] values, params long[] shape) => tensor(values, shape);
    static double V(Tensor t) => t.item<float>();
    const float Pad = float.MinValue;

    [Fact]
    public void SoftCrossEntropyMatchesHandValue()
    {
        // 2 classes, student [1,0], teacher [0,1], T = 2: p = softmax([0, .5]), log q = log_softmax([.5, 0]).
        double z = 1 + Math.Exp(0.5);
        double p0 = 1 / z, p1 = Math.Exp(0.5) / z;
        double logQ0 = 0.5 - Math.Log(z), logQ1 = -Math.Log(z);
        double expected = -(p0 * logQ0 + p1 * logQ1); // 0.785307
        using var s = T(new[] { 1f, 0f }, 1, 2);
        using var t = T(new[] { 0f, 1f }, 1, 2);
        Assert.Equal(expected, V(KdLosses.SoftCrossEntropy(s, t, 2.0)), 5);
        Assert.Equal(0.785307, expected, 5);
    }

    [Fact]
    public void SoftCrossEntropyIsMeanOverBatchSumOverClasses()
    {
        // Two identical rows give the one-row value (mean over batch), not twice it.
        using var s1 = T(new[] { 1f, 0f }, 1, 2);
        using var t1 = T(new[] { 0f, 1f }, 1, 2);
        using var s2 = T(new[] { 1f, 0f, 1f, 0f }, 2, 2);
        using var t2 = T(new[] { 0f, 1f, 0f, 1f }, 2, 2);
        Assert.Equal(V(KdLosses.SoftCrossEntropy(s1, t1, 2.0)), V(KdLosses.SoftCrossEntropy(s2, t2, 2.0)), 6);
    }

    [Fact]
    public void SoftCrossEntropyGradientShrinksAsOneOverTSquaredSoCallerScalesByTSquared()
    {
        // d soft_ce / d s = (softmax(s/T) - softmax(t/T)) / T: O(1/T²) for large T as the difference is itself O(1/T).
        // Multiplying the term by T² (as the kd preset's weight does) restores the hard-label scale.
        using var s = T(new[] { 1f, 0f }, 1, 2).requires_grad_();
        using var t = T(new[] { 0f, 1f }, 1, 2);
        double temp = 2.0;
        KdLosses.SoftCrossEntropy(s, t, temp).backward();
        double q0 = Math.Exp(0.5) / (1 + Math.Exp(0.5)), p0 = 1 / (1 + Math.Exp(0.5));
        Assert.Equal((q0 - p0) / temp, s.grad!.data<float>()[0], 5);
        var kd = DistillationPresets.Kd(temp, 0.3).Single(m => m.Feature == MatchFeatures.Logits);
        Assert.Equal(0.7 * temp * temp, kd.Weight, 10);
    }

    [Fact]
    public void KlDivergenceIsZeroForEqualInputsAndMatchesHandValue()
    {
        using var s = T(new[] { 1f, 0f }, 1, 2);
        using var t = T(new[] { 0f, 1f }, 1, 2);
        Assert.Equal(0.0, V(KdLosses.KlDivergence(s, s, 2.0)), 6);
        // KL = soft CE - H(p), p = softmax([0, .5]).
        double z = 1 + Math.Exp(0.5), p0 = 1 / z, p1 = Math.Exp(0.5) / z;
        double entropy = -(p0 * Math.Log(p0) + p1 * Math.Log(p1));
        double expected = 0.785307 - entropy; // 0.122459
        double kl = V(KdLosses.KlDivergence(s, t, 2.0));
        Assert.True(kl > 0);
        Assert.Equal(expected, kl, 5);
    }

    [Fact]
    public void HiddenMseCountsOnlyValidTokens()
    {
        // B=1, T=2, H=2, second token padded: ((1-0)² + (2-0)²) / (1 valid token · 2) = 2.5.
        using var mask = tensor(new long[] { 1, 0 }, new long[] { 1, 2 });
        using var t = zeros(1, 2, 2);
        using var s = T(new[] { 1f, 2f, 5f, 5f }, 1, 2, 2);
        using var s2 = T(new[] { 1f, 2f, -40f, 9f }, 1, 2, 2);
        Assert.Equal(2.5, V(KdLosses.HiddenMse(s, t, mask)), 6);
        Assert.Equal(2.5, V(KdLosses.HiddenMse(s2, t, mask)), 6);
    }

    [Fact]
    public void AttentionScoreMseIgnoresPaddedPairsAndStaysFinite()
    {
        // nh=2, T=3, mask [1,1,0]: 4 valid pairs per head. Head 0: student 2 vs teacher 0 -> 4 each; head 1 equal.
        // (4 · 4 + 0) / (2 heads · 2² pairs) = 2. Padded keys hold float.MinValue on both sides.
        using var mask = tensor(new long[] { 1, 1, 0 }, new long[] { 1, 3 });
        var sv = new float[18];
        var tv = new float[18];
        for (int h = 0; h < 2; h++)
            for (int q = 0; q < 3; q++)
                for (int k = 0; k < 3; k++)
                {
                    int i = h * 9 + q * 3 + k;
                    sv[i] = k == 2 ? Pad : (h == 0 ? 2f : 1f);
                    tv[i] = k == 2 ? Pad + 7f : (h == 0 ? 0f : 1f);
                    if (q == 2 && k < 2) sv[i] = 100f; // padded query row: ignored
                }
        using var s = T(sv, 1, 2, 3, 3).requires_grad_();
        using var t = T(tv, 1, 2, 3, 3);
        var loss = KdLosses.AttentionScoreMse(s, t, mask);
        Assert.Equal(2.0, V(loss), 6);
        loss.backward();
        Assert.True(s.grad!.isfinite().all().item<bool>());
    }

    [Fact]
    public void AttentionKlMatchesHandValueAndIgnoresPadding()
    {
        // Rows teacher [.5,.5] vs student [.25,.75] over valid keys: KL = .5 ln(.5/.25) + .5 ln(.5/.75) = .5 ln(4/3).
        using var mask = tensor(new long[] { 1, 1, 0 }, new long[] { 1, 3 });
        using var t = T(new[] { .5f, .5f, 0f, .5f, .5f, 0f, 1 / 3f, 1 / 3f, 1 / 3f }, 1, 1, 3, 3);
        using var s = T(new[] { .25f, .75f, 0f, .25f, .75f, 0f, 1f, 0f, 0f }, 1, 1, 3, 3).requires_grad_();
        var loss = KdLosses.AttentionKl(s, t, mask);
        Assert.Equal(0.5 * Math.Log(4.0 / 3.0), V(loss), 5);
        loss.backward();
        Assert.True(s.grad!.isfinite().all().item<bool>());
        Assert.Equal(0.0, V(KdLosses.AttentionKl(t, t, mask)), 6);
    }

    [Fact]
    public void RelationKlWorksWithDifferentWidths()
    {
        // Student H=4, teacher H=6, 2 relation heads (d = 2 and 3), T=2 valid tokens + 1 padded.
        // Student head 0: token0 = [a,0], a² = √2 ln3 -> relation row0 softmax([ln3, 0]) = [3/4, 1/4], row1 uniform.
        // Teacher head 0: zeros -> rows uniform. KL([.5,.5] ‖ [.75,.25]) = .5 ln(4/3); row1: 0.
        // Teacher head 1: token0 = [b,0,0], b² = √3 ln3 -> row0 [3/4,1/4]; student head 1 zeros (uniform):
        // KL([.75,.25] ‖ [.5,.5]) = .75 ln 1.5 + .25 ln .5. Mean over 2 heads · 2 valid queries.
        float a = (float)Math.Sqrt(Math.Sqrt(2) * Math.Log(3)), b = (float)Math.Sqrt(Math.Sqrt(3) * Math.Log(3));
        using var mask = tensor(new long[] { 1, 1, 0 }, new long[] { 1, 3 });
        using var s = T(new[] { a, 0, 0, 0, /**/ 0, 0, 0, 0, /**/ 7, -3, 2, 9 }, 1, 3, 4).requires_grad_();
        using var t = T(new[] { 0, 0, 0, b, 0, 0, /**/ 0, 0, 0, 0, 0, 0, /**/ 5, 5, -5, 1, 2, 3 }, 1, 3, 6);
        double expected = (0.5 * Math.Log(4.0 / 3.0) + 0.75 * Math.Log(1.5) + 0.25 * Math.Log(0.5)) / 4; // 0.068663
        var loss = KdLosses.RelationKl(s, t, 2, mask);
        Assert.Equal(expected, V(loss), 5);
        loss.backward();
        Assert.True(s.grad!.isfinite().all().item<bool>());
        Assert.Equal(0.0, V(KdLosses.RelationKl(t, t, 3, mask)), 6);
        Assert.Throws<DistilException>(() => KdLosses.RelationKl(s, t, 4, mask)); // 4 does not divide 6
    }

    [Fact]
    public void CosineHiddenIsMeanOfOneMinusCosOverValidTokens()
    {
        // token0: cos([1,0],[1,1]) = 1/√2; token1: cos([0,2],[0,3]) = 1; token2 padded. (1 - 1/√2 + 0) / 2.
        using var mask = tensor(new long[] { 1, 1, 0 }, new long[] { 1, 3 });
        using var s = T(new[] { 1f, 0f, 0f, 2f, 1f, 1f }, 1, 3, 2);
        using var t = T(new[] { 1f, 1f, 0f, 3f, -1f, 0f }, 1, 3, 2);
        Assert.Equal((1 - 1 / Math.Sqrt(2)) / 2, V(KdLosses.CosineHidden(s, t, mask)), 5);
    }

    [Fact]
    public void NormalizedClsMseAndHardCrossEntropy()
    {
        // PKD sums over features, averages over the batch (TextBrewer pkd_loss):
        // [3,4]/5 = [.6,.8] vs [1,0]: (-.4)² + .8² = 0.8; [0,5] vs [0,1]: 0. Mean over the batch: 0.4.
        using var s = T(new[] { 3f, 4f, 0f, 5f }, 2, 2);
        using var t = T(new[] { 2f, 0f, 0f, 1f }, 2, 2);
        Assert.Equal(0.4, V(KdLosses.NormalizedClsMse(s, t)), 5);
        // Orthogonal directions are 2 apart at any width: the term must not shrink as H grows (a mean over features
        // gave 2/H, and PKD at the MiniLM width 384 was plain KD).
        foreach (int h in new[] { 2, 384 })
        {
            using var a = zeros(1, h); a[0, 0] = tensor(3f);
            using var b = zeros(1, h); b[0, h - 1] = tensor(0.5f);
            Assert.Equal(2.0, V(KdLosses.NormalizedClsMse(a, b)), 5);
        }
        // logits [1,0], label 1: -log(1 / (1 + e)) = ln(1 + e).
        using var logits = T(new[] { 1f, 0f }, 1, 2);
        using var labels = tensor(new long[] { 1 });
        Assert.Equal(Math.Log(1 + Math.E), V(KdLosses.HardCrossEntropy(logits, labels)), 5);
    }
}
