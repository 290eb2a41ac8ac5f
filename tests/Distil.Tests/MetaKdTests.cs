using Distil.Data;
using Distil.Distillation;
using Distil.MetaKD;
using Distil.Models;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Distil.Tests;

/// <summary>Meta-KD's pieces against values worked out by hand (docs/metakd.md §Prototype, §Meta-teacher, §Expertise).</summary>
public class MetaKdTests
{
    public MetaKdTests() => torch.set_num_threads(1);

    [Fact]
    public void PrototypeScoresOfATwoDomainSetEqualHandValues()
    {
        // Domain 0: (1,0), (1,2) -> p0 = (1,1). Domain 1: (0,1), (0,3) -> p1 = (0,2).
        var h = new[] { new[] { 1f, 0f }, new[] { 1f, 2f }, new[] { 0f, 1f }, new[] { 0f, 3f } };
        var d = new[] { 0, 0, 1, 1 };
        var p = PrototypeScores.Prototypes(h, d, 2);
        Assert.Equal(new[] { 1.0, 1.0 }, p[0]);
        Assert.Equal(new[] { 0.0, 2.0 }, p[1]);
        var t = PrototypeScores.Compute(h, d, 2);
        // t = ½ [cos(h, p_own) + cos(h, p_other)]
        Assert.Equal(0.5 * (1 / Math.Sqrt(2) + 0), t[0], 12);                    // (1,0): cos 45° with (1,1), 90° with (0,2)
        Assert.Equal(0.5 * (3 / Math.Sqrt(10) + 4 / (Math.Sqrt(5) * 2)), t[1], 12); // (1,2)·(1,1) = 3, (1,2)·(0,2) = 4
        Assert.Equal(0.5 * (1 + 1 / Math.Sqrt(2)), t[2], 12);                    // (0,1): parallel to p1, 45° to p0
        Assert.Equal(t[2], t[3], 12);                                           // (0,3) has the same direction
    }

    [Fact]
    public void OtherDomainsEnterThroughTheMeanOfTheirPrototypes()
    {
        // One row per domain: each row is its own prototype. For domain 0 the others' mean is ((0,1) + (1,1)) / 2 = (0.5, 1).
        var h = new[] { new[] { 1f, 0f }, new[] { 0f, 1f }, new[] { 1f, 1f } };
        var t = PrototypeScores.Compute(h, new[] { 0, 1, 2 }, 3);
        Assert.Equal(0.5 * (1 + 0.5 / Math.Sqrt(1.25)), t[0], 12);
        // A single domain has no other prototypes: t = cos(h, p_own).
        var single = PrototypeScores.Compute(new[] { new[] { 1f, 0f }, new[] { 0f, 1f } }, new[] { 0, 0 }, 1);
        Assert.Equal(1 / Math.Sqrt(2), single[0], 12);
    }

    [Fact]
    public void PrototypeEmbeddingSkipsClsAndPadding()
    {
        // (B=2, T=3, H=1): row 0 = [CLS] 10, 2, 4 (all valid) -> mean(2, 4) = 3; row 1 = [CLS] 7, 5, pad 100 -> 5.
        using var hidden = tensor(new[] { 10f, 2f, 4f, 7f, 5f, 100f }, new long[] { 2, 3, 1 });
        using var mask = tensor(new long[] { 1, 1, 1, 1, 1, 0 }, new long[] { 2, 3 });
        using var pooled = DomainHead.MeanAfterCls(hidden, mask);
        Assert.Equal(new[] { 3f, 5f }, pooled.data<float>().ToArray());
    }

    [Fact]
    public void LambdaMatchesTheFormulaAndTheOfficialCodeForm()
    {
        Assert.Equal(1.3 / (1 + Math.Exp(0.2 * 0.2)), ExpertiseWeights.Lambda(0.3, 0.8), 12);
        Assert.Equal(1.3 / 2, ExpertiseWeights.Lambda(0.3, 1.0), 12);             // sure and right: the upper end (1+t)/2
        Assert.Equal(1.3 / (1 + Math.E), ExpertiseWeights.Lambda(0.3, 0.0), 12); // sure and wrong: the lower end (1+t)/(1+e)

        // Official form: 1 / (exp(Σ_c ((p - onehot) · onehot)²) + 1) · (1 + t), on tensors (B = 3, C = 3).
        var probs = new[] { new[] { 0.7f, 0.2f, 0.1f }, new[] { 0.1f, 0.1f, 0.8f }, new[] { 0.3f, 0.4f, 0.3f } };
        var labels = new long[] { 0, 1, 2 };
        var t = new[] { 0.4, 0.1, 0.25 };
        var lambdas = ExpertiseWeights.Compute(probs, labels, t);
        using var p = tensor(probs.SelectMany(r => r).ToArray(), new long[] { 3, 3 });
        using var onehot = F.one_hot(tensor(labels), 3).to(float32);
        using var official = (1 / (((p - onehot) * onehot).pow(2).sum(-1).exp() + 1)) * tensor(t.Select(x => (float)(1 + x)).ToArray());
        var expected = official.data<float>().ToArray();
        for (int i = 0; i < 3; i++) Assert.Equal(expected[i], lambdas[i], 5);
    }

    [Fact]
    public void CorruptedDomainLabelsAreAPermutationOfTheBatch()
    {
        using var domains = tensor(new long[] { 0, 0, 1, 2, 2, 1, 0, 2 });
        var original = domains.data<long>().ToArray();
        var orders = new HashSet<string>();
        for (int s = 0; s < 20; s++)
        {
            using var g = new Generator((ulong)s);
            using var corrupted = MetaTeacherHead.CorruptDomains(domains, g);
            var c = corrupted.data<long>().ToArray();
            Assert.Equal(original.Order(), c.Order()); // same multiset: only the order changes
            orders.Add(string.Join(",", c));
        }
        Assert.True(orders.Count > 1, "the labels are shuffled, not left as they are");
    }

    // Hidden MSE per example: B=2, T=2, H=1; example 0 has both tokens valid, example 1 only the first.
    static (Tensor S, Tensor T, Tensor Mask) HiddenCase() => (
        tensor(new[] { 1f, 3f, 2f, 100f }, new long[] { 2, 2, 1 }),
        tensor(new[] { 0f, 0f, 0f, 0f }, new long[] { 2, 2, 1 }),
        tensor(new long[] { 1, 1, 1, 0 }, new long[] { 2, 2 }));

    [Fact]
    public void PerExampleWeightsMultiplyEachExampleBeforeTheMean()
    {
        var (s, t, mask) = HiddenCase();
        var match = new[] { new IntermediateMatch(0, 0, MatchFeatures.Embedding, MatchLosses.Mse) };
        var student = new DistillSide(zeros(2, 2), new BertEncoderOutput(s, null, new[] { s }, null, null));
        var teacher = new DistillSide(zeros(2, 2), new BertEncoderOutput(t, null, new[] { t }, null, null));
        // Per example: ex0 = (1² + 3²) / 2 = 5, ex1 = 2² / 1 = 4 (the padded 100 is ignored).
        using var perExample = KdLosses.HiddenMsePerExample(s, t, mask);
        Assert.Equal(new[] { 5f, 4f }, perExample.data<float>().ToArray());
        using var w = tensor(new[] { 2f, 0.5f });
        using var weighted = MatchLoss.Compute(match, student, teacher, mask, exampleWeights: w);
        Assert.Equal((2 * 5 + 0.5 * 4) / 2.0, weighted.Total.item<float>(), 5); // 6
        Assert.Equal(4.5, weighted.Terms["embedding_0_0"], 5);                   // the logged term is unweighted
        // Unweighted, the batch-level loss pools tokens: (1 + 9 + 4) / 3. Weighting after averaging would give
        // mean(w) · 14/3 = 5.83, not 6: the porting bug the per-example path avoids.
        using var plain = MatchLoss.Compute(match, student, teacher, mask);
        Assert.Equal(14 / 3.0, plain.Total.item<float>(), 5);
        Assert.NotEqual(1.25 * 14 / 3.0, weighted.Total.item<float>(), 2);
        // Zero weight removes an example entirely.
        using var only0 = MatchLoss.Compute(match, student, teacher, mask, exampleWeights: tensor(new[] { 1f, 0f }));
        Assert.Equal(5 / 2.0, only0.Total.item<float>(), 5);
        // One weight per example, or a clear error.
        var e = Assert.Throws<DistilException>(() => MatchLoss.Compute(match, student, teacher, mask, exampleWeights: tensor(new[] { 1f, 1f, 1f })));
        Assert.Contains("one per example", e.Message);
    }

    [Fact]
    public void PerExampleAttentionMseMatchesALoopOverValidPairs()
    {
        var rng = new Random(5);
        int b = 2, heads = 2, len = 3;
        var sv = Enumerable.Range(0, b * heads * len * len).Select(_ => (float)rng.NextDouble()).ToArray();
        var tv = Enumerable.Range(0, b * heads * len * len).Select(_ => (float)rng.NextDouble()).ToArray();
        var maskRows = new[] { new[] { 1, 1, 1 }, new[] { 1, 1, 0 } };
        using var s = tensor(sv, new long[] { b, heads, len, len });
        using var t = tensor(tv, new long[] { b, heads, len, len });
        using var mask = tensor(maskRows.SelectMany(r => r.Select(x => (long)x)).ToArray(), new long[] { b, len });
        using var got = KdLosses.AttentionScoreMsePerExample(s, t, mask);
        var values = got.data<float>().ToArray();
        for (int e = 0; e < b; e++)
        {
            int n = maskRows[e].Sum();
            double sum = 0;
            for (int hh = 0; hh < heads; hh++)
                for (int q = 0; q < n; q++)
                    for (int k = 0; k < n; k++)
                    {
                        int at = ((e * heads + hh) * len + q) * len + k;
                        sum += Math.Pow(sv[at] - tv[at], 2);
                    }
            Assert.Equal(sum / (heads * n * n), values[e], 5);
        }
        // Without padding, the mean of the per-example values is the batch-level loss.
        using var full = tensor(new long[] { 1, 1, 1, 1, 1, 1 }, new long[] { b, len });
        Assert.Equal(KdLosses.AttentionScoreMse(s, t, full).item<float>(), KdLosses.AttentionScoreMsePerExample(s, t, full).mean().item<float>(), 5);
    }

    [Fact]
    public void MetaTeacherLossIsTheWeightedMeanOfPerExampleCrossEntropy()
    {
        var config = TinyBert.Config(layers: 1, hidden: 16, heads: 2);
        manual_seed(1);
        using var model = new BertForSequenceClassification(config);
        model.eval(); // no dropout: the objective and the check see the same logits
        var rows = new[]
        {
            new EncodedExample(new long[] { 2, 9, 3 }, new long[3], 0, 0),
            new EncodedExample(new long[] { 2, 10, 11, 3 }, new long[4], 1, 1),
            new EncodedExample(new long[] { 2, 12, 3 }, new long[3], 1, 0),
        };
        var weights = new[] { 0.2, 0.5, 0.9 };
        using var batch = Collator.Collate(rows, 0);
        var objective = new MetaTeacherObjective(model, null, weights, 0, CPU);
        double loss = objective.Compute(batch).Loss.item<float>();
        double expected = 0;
        for (int i = 0; i < rows.Length; i++)
        {
            using var one = Collator.Collate(new[] { rows[i] }, 0);
            using var logits = model.forward(new BertInputs(one.InputIds, one.AttentionMask, one.TokenTypeIds)).Logits;
            expected += weights[i] * F.cross_entropy(logits, one.Labels).item<float>() / rows.Length;
        }
        Assert.Equal(expected, loss, 5);
    }

    [Fact]
    public void FewShotSampleKeepsTheFractionOfEachDomain()
    {
        var rows = Enumerable.Range(0, 50).Select(i => new EncodedExample(new long[] { 2, 3 }, new long[2], 0, i < 30 ? 0 : 1)).ToArray();
        var kept = DomainSelection.Sample(rows, new[] { 0, 1 }, 0.1, seed: 7);
        Assert.Equal(3, kept.Count(i => rows[i].Domain == 0)); // ceil(0.1 · 30)
        Assert.Equal(2, kept.Count(i => rows[i].Domain == 1)); // ceil(0.1 · 20)
        Assert.Equal(kept, DomainSelection.Sample(rows, new[] { 0, 1 }, 0.1, seed: 7)); // seeded
        Assert.Equal(50, DomainSelection.Sample(rows, new[] { 0, 1 }, 1.0, seed: 7).Length);
        Assert.Equal(30, DomainSelection.Sample(rows, new[] { 0 }, 1.0, seed: 7).Length);
    }
}
