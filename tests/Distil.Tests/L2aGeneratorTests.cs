using System.Text.Json.Nodes;
using Distil.Augment.L2A;
using Distil.Data;
using Distil.Models;
using Distil.Pipelines;
using Distil.Reports;
using Distil.Text;
using Distil.Training;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Distil.Tests;

/// <summary>
/// L2A's learned generators (docs/l2a.md §Learned generators): the masked-LM head's loss against a hand computation,
/// gradient only into the head (the teacher byte for byte unchanged), the REINFORCE loss's sign and baseline on a hand
/// case, REINFORCE moving the generator toward rewarded words, seeded sampling that follows softmax(top-M / T), and
/// resume of an interrupted generator training.
/// </summary>
public class L2aGeneratorTests
{
    public L2aGeneratorTests() => torch.set_num_threads(1);

    static readonly string[] Vocab = new[] { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", "!", "##s" }.Concat(TinyBert.Words)
        .Concat(new[] { "plot", "actor", "battery", "screen" }).ToArray();

    static (BertModel Encoder, BertTextTokenizer Tokenizer, TempDir Dir) Tiny(int seed = 3)
    {
        var dir = new TempDir();
        File.WriteAllLines(Path.Combine(dir.Path, "vocab.txt"), Vocab);
        File.WriteAllText(Path.Combine(dir.Path, "tokenizer_config.json"), """{"do_lower_case": true}""");
        manual_seed(seed);
        var encoder = new BertModel(TinyBert.Config(layers: 2, hidden: 16, heads: 2, vocab: Vocab.Length));
        return (encoder, BertTextTokenizer.FromFolder(dir.Path), dir);
    }

    static readonly string[] TargetTexts = { "the movie was good .", "the plot was awful !", "the actor was great .", "the movie was poor ." };
    static readonly string[] SourceTexts = { "the phone was good .", "the battery was bad .", "the food was great !", "the screen was awful ." };

    static MlmGenerator Generator(BertModel encoder, BertTextTokenizer tokenizer, int seed = 7, int candidates = 5, double temperature = 1.0) =>
        new(encoder, tokenizer, candidates, temperature, 32, seed, CPU);

    static double Erf(double x) // Abramowitz & Stegun 7.1.26, |error| < 1.5e-7
    {
        double t = 1 / (1 + 0.3275911 * Math.Abs(x));
        double y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.Exp(-x * x);
        return Math.Sign(x) * y;
    }

    static float[] Row(Tensor t) => t.to(float32).contiguous().data<float>().ToArray();

    [Fact]
    public void TheMaskedLmLossIsHfsHeadAndCrossEntropyComputedByHand()
    {
        var (encoder, tokenizer, dir) = Tiny();
        using var _ = dir;
        using var g = Generator(encoder, tokenizer);
        using (no_grad()) g.Head.bias.copy_(randn(Vocab.Length) * 0.5); // a non-zero bias, so it is part of the check
        var rng = new Random(1);
        var inputs = new[] { "the movie was good .", "the phone was awful !" }.Select(t => g.MaskPieces(g.Prepare(t), 0.3, rng)).ToArray();
        foreach (var (ids, at, labels) in inputs)
        {
            Assert.Equal((int)Math.Round(0.3 * (ids.Length - 2)), at.Length);
            Assert.All(at, p => Assert.Equal(tokenizer.Mask, ids[p]));
            Assert.DoesNotContain(tokenizer.Mask, labels);
        }
        double loss = g.MlmLoss(inputs).item<float>();

        // By hand: each sentence alone (no padding) through the encoder, then dense -> GELU (erf) -> LayerNorm -> tied decoder + bias.
        var w = Row(g.Head.transform.dense.weight!); var b = Row(g.Head.transform.dense.bias!);
        var gamma = Row(g.Head.transform.LayerNorm.weight!); var beta = Row(g.Head.transform.LayerNorm.bias!);
        var emb = Row(encoder.embeddings.word_embeddings.weight!); var bias = Row(g.Head.bias);
        int h = 16, v = Vocab.Length;
        double total = 0; int count = 0;
        foreach (var (ids, at, labels) in inputs)
        {
            float[] hidden;
            using (no_grad())
            {
                var x = tensor(ids).view(1, -1);
                hidden = Row(encoder.forward(new BertInputs(x, ones_like(x), zeros_like(x))).LastHiddenState[0]); // (T, H)
            }
            for (int k = 0; k < at.Length; k++)
            {
                var z = new double[h];
                for (int i = 0; i < h; i++)
                {
                    double s = b[i];
                    for (int j = 0; j < h; j++) s += w[i * h + j] * hidden[at[k] * h + j];
                    z[i] = 0.5 * s * (1 + Erf(s / Math.Sqrt(2)));
                }
                double mean = z.Average(), variance = z.Select(q => (q - mean) * (q - mean)).Average();
                var n = z.Select((q, i) => (q - mean) / Math.Sqrt(variance + 1e-12) * gamma[i] + beta[i]).ToArray();
                var logits = Enumerable.Range(0, v).Select(t => bias[t] + Enumerable.Range(0, h).Sum(j => emb[t * h + j] * n[j])).ToArray();
                double max = logits.Max();
                total += max + Math.Log(logits.Sum(l => Math.Exp(l - max))) - logits[labels[k]];
                count++;
            }
        }
        Assert.Equal(total / count, loss, 4);
    }

    [Fact]
    public void OnlyTheHeadLearnsAndTheFrozenTeacherStaysByteForByte()
    {
        var (encoder, tokenizer, dir) = Tiny();
        using var _ = dir;
        var before = encoder.state_dict().ToDictionary(p => p.Key, p => p.Value.bytes.ToArray());
        using var g = Generator(encoder, tokenizer);
        var headBefore = g.Head.state_dict().ToDictionary(p => p.Key, p => p.Value.clone());
        var t = TargetTexts.Select(g.Prepare).ToArray();
        var s = SourceTexts.Select(g.Prepare).ToArray();
        // One loss by hand: gradient reaches the head's dense, LayerNorm and bias, and no teacher tensor.
        var loss = g.MlmLoss(t.Select(x => g.MaskPieces(x, 0.3, new Random(2))).ToArray());
        loss.backward();
        Assert.All(g.Head.parameters(), p => Assert.True(p.grad is not null && p.grad.abs().sum().item<float>() > 0));
        Assert.All(encoder.parameters(), p => { Assert.False(p.requires_grad); Assert.Null(p.grad); });
        foreach (var p in g.Head.parameters()) p.grad!.zero_();

        // Both stages through the stage runner and the Trainer.
        using var runDir = new TempDir();
        var runner = Runner(runDir.Path, resume: false);
        var settings = Settings(mlmSteps: 4, rlSteps: 3);
        GeneratorTraining.Run(runner, g, settings, t, s, () => (Reinforce(g, tokenizer, t, s, settings), Array.Empty<IDisposable>()), 0);
        foreach (var (name, bytes) in before) Assert.Equal(bytes, encoder.state_dict()[name].bytes.ToArray());
        Assert.Contains(g.Head.state_dict(), p => !p.Value.allclose(headBefore[p.Key], rtol: 0, atol: 0));
        Assert.True(File.Exists(Path.Combine(runDir.Path, "generator", "stage-1", "done.json")));
        Assert.True(File.Exists(Path.Combine(runDir.Path, "generator", "stage-2", "done.json")));
    }

    [Fact]
    public void TheReinforceLossHasTheRightSignAndTheBatchMeanAsBaseline()
    {
        // Hand case: D = (0.9, 0.1, 0.5, 0.5), two groups (0, 1, 0, 1) with dev gains (2, 0).
        var a = GeneratorReinforceObjective.Advantages(new[] { 0.9, 0.1, 0.5, 0.5 }, new[] { 2.0, 0.0 }, new[] { 0, 1, 0, 1 }, 1.0, 0.5);
        // mean D 0.5, mean gain 1: A = (0.4 + 0.5, -0.4 - 0.5, 0 + 0.5, 0 - 0.5)
        Assert.Equal(new[] { 0.9, -0.9, 0.5, -0.5 }, a.Select(x => Math.Round(x, 12)));
        Assert.Equal(0, a.Sum(), 12); // centred: a constant reward moves nothing
        var logProb = tensor(new[] { -1f, -2f, -0.5f, -3f }).requires_grad_(true);
        var loss = GeneratorReinforceObjective.PolicyLoss(logProb, a);
        // -(1/4) Σ A_i log π_i = -(0.9·-1 + -0.9·-2 + 0.5·-0.5 + -0.5·-3) / 4 = -(2.15) / 4
        Assert.Equal(-2.15 / 4, loss.item<float>(), 5);
        loss.backward();
        // Descent raises log π of samples with A > 0 and lowers it for A < 0: the gradient is -A / N.
        Assert.Equal(new[] { -0.225f, 0.225f, -0.125f, 0.125f }, Row(logProb.grad!), new Close(1e-6f));
    }

    [Fact]
    public void ReinforceMovesTheGeneratorTowardRewardedRefills()
    {
        var (encoder, tokenizer, dir) = Tiny();
        using var _ = dir;
        using var g = Generator(encoder, tokenizer, candidates: 19); // every whole word: "plot" can be drawn from the start
        var t = TargetTexts.Select(g.Prepare).ToArray();
        var s = SourceTexts.Select(g.Prepare).ToArray();
        double Plot()
        {
            // Mean probability of "plot" over the masked noun of every text.
            using var scope = NewDisposeScope();
            using var __ = no_grad();
            var all = t.Concat(s).ToArray();
            var logits = g.WordLogits(g.HiddenAtMasks(all.Select(x => g.MaskWords(x, new[] { 1 })).ToArray()), all.SelectMany(x => MlmGenerator.Originals(x, new[] { 1 })).ToArray());
            return F.softmax(logits, 1).select(1, Array.IndexOf(Vocab, "plot")).mean().item<float>();
        }
        double start = Plot();
        using var runDir = new TempDir();
        var settings = Settings(mlmSteps: 1, rlSteps: 60) with { MlmWeight = 0, StudentWeight = 0, RlLearningRate = 5e-2, Temperature = 1.0, MaskFraction = 1.0, BorrowFraction = 1.0 };
        GeneratorTraining.Run(Runner(runDir.Path, false), g, settings, t, s,
            () => (Reinforce(g, tokenizer, t, s, settings, plotIsTarget: true), Array.Empty<IDisposable>()), 0);
        Assert.True(Plot() > 2 * start, $"P(plot) {start:F3} -> {Plot():F3}");
    }

    [Fact]
    public void SamplingIsSeededAndFollowsTheTemperedTopM()
    {
        var (encoder, tokenizer, dir) = Tiny();
        using var _ = dir;
        using var g = Generator(encoder, tokenizer, candidates: 3, temperature: 0.7);
        var logits = tensor(Enumerable.Range(0, Vocab.Length).Select(i => (float)Math.Sin(i * 1.7)).ToArray()).view(1, -1) + zeros(1, Vocab.Length);
        var words = g.WordLogits(zeros(1, 16), new[] { (long)Array.IndexOf(Vocab, "movie") }); // the filter: specials, "##" pieces, stop words and the original are -inf
        Assert.All(new[] { "[PAD]", "[CLS]", "[MASK]", "##s", ".", "the", "was", "movie" }, x => Assert.True(float.IsNegativeInfinity(words[0, Array.IndexOf(Vocab, x)].item<float>()), x));
        Assert.True(float.IsFinite(words[0, Array.IndexOf(Vocab, "plot")].item<float>()));
        // The neighbour prior adds λ · cos(entry, original) to the head's logits.
        using (var g5 = new MlmGenerator(encoder, tokenizer, 3, 0.7, 32, 7, CPU, neighbourWeight: 5))
        {
            var h = randn(1, 16);
            var diff = g5.WordLogits(h, new[] { (long)Array.IndexOf(Vocab, "movie") }) - g5.Head.forward(h);
            var e = encoder.embeddings.word_embeddings.weight!;
            int plot = Array.IndexOf(Vocab, "plot"), movie = Array.IndexOf(Vocab, "movie");
            double cos = F.cosine_similarity(e[plot].unsqueeze(0), e[movie].unsqueeze(0), 1).item<float>();
            Assert.Equal(5 * cos, diff[0, plot].item<float>(), 4);
        }
        var masked = where(words.isfinite(), logits, full_like(logits, float.NegativeInfinity)); // (1, V)
        var top = masked[0].topk(3).values;
        var expected = Row(F.softmax(top / 0.7, 0));
        const int n = 6000;
        var rng = new Random(5);
        var (support, drawn) = g.Sample(masked.expand(n, -1).contiguous(), Enumerable.Repeat(rng, n).ToArray());
        Assert.Equal(Row(masked[0].topk(3).indexes.to(float32)), Row(support[0].to(float32)));
        for (int k = 0; k < 3; k++) Assert.InRange(drawn.Count(d => d == k) / (double)n, expected[k] - 0.03, expected[k] + 0.03);
        // log π of a draw is the log of that tempered probability.
        var lp = g.LogProb(masked, support[0].unsqueeze(0), new[] { 1L });
        Assert.Equal(Math.Log(expected[1]), lp.item<float>(), 4);

        // Generation: the same seed gives the same samples; a changed seed changes the head and the draws.
        var target = TargetTexts.Select((x, i) => new Example(x, null, "1", "a", $"{i}")).ToArray();
        var sources = SourceTexts.Select((x, i) => new Example(x, null, "1", "b", $"{i}")).ToArray();
        var borrowing = Borrowing(tokenizer, target, sources);
        List<string> Make(int seed, int drawSeed)
        {
            var (e2, t2, d2) = Tiny();
            using var __ = d2;
            using var g2 = new MlmGenerator(e2, t2, 4, 1.0, 32, seed, CPU);
            return LearnedGenerators.Chain(g2, target, 3, 2, 0.5, drawSeed).Concat(LearnedGenerators.Cross(g2, borrowing, sources, new[] { 0, 1, 2, 3 }, 1.0, drawSeed))
                .Select(c => $"{c.Generator}:{c.SourceRow}:{c.Text}").ToList();
        }
        var first = Make(1, 1);
        Assert.Equal(first, Make(1, 1));
        Assert.NotEqual(first, Make(1, 2));
        Assert.NotEqual(first, Make(2, 1));
        Assert.Contains(first, x => x.StartsWith("cross") && !SourceTexts.Contains(x.Split(':')[2]));
    }

    [Fact]
    public void AnInterruptedGeneratorTrainingResumesToTheSameWeights()
    {
        var (encoder, tokenizer, dir) = Tiny();
        using var _ = dir;
        byte[] Train(string runDir, bool resume, int? stopAt)
        {
            using var g = Generator(encoder, tokenizer);
            var t = TargetTexts.Select(g.Prepare).ToArray();
            var s = SourceTexts.Select(g.Prepare).ToArray();
            var settings = Settings(mlmSteps: 6, rlSteps: 0);
            var stop = stopAt is int k ? new TrainerCallback[] { new StopAt(k) } : Array.Empty<TrainerCallback>();
            GeneratorTraining.Run(Runner(runDir, resume), g, settings, t, s, () => throw new InvalidOperationException("no stage 2"), 0, stop);
            return g.Head.state_dict().SelectMany(p => p.Value.bytes.ToArray()).ToArray();
        }
        using var a = new TempDir();
        using var b = new TempDir();
        var straight = Train(a.Path, false, null);
        var cut = Train(b.Path, false, 3);
        Assert.NotEqual(straight, cut);
        // The process "died" after the step-3 checkpoint: no done.json, no saved weights.
        File.Delete(Path.Combine(b.Path, "generator", "stage-1", "done.json"));
        File.Delete(Path.Combine(b.Path, "generator", "stage-1", "student.safetensors"));
        Assert.Equal(straight, Train(b.Path, true, null));
        // A finished stage is loaded, not trained again.
        Assert.Equal(straight, Train(a.Path, true, 1));
    }

    sealed class StopAt(int step) : TrainerCallback
    {
        public override void OnStepEnd(TrainerState state, StepReport report)
        {
            if (state.GlobalStep >= step) state.ShouldStop = true;
        }
    }

    static StageRunner Runner(string dir, bool resume) =>
        new(new RunContext(RunFolder.Create(dir, "l2a", new JsonObject(), resume), resume, CPU), 100);

    static GeneratorSettings Settings(int mlmSteps, int rlSteps) =>
        new(mlmSteps, rlSteps, 4, 1e-2, 1e-2, 1.0, 1.0, 1.0, 1.0, 2, 0.5, 0.5, 3);

    /// <summary>A stage-2 objective whose "discriminator" calls a text target-like when it says "plot" (or, without
    /// plotIsTarget, by its length), and whose student gain is the share of "good"/"great" words.</summary>
    static GeneratorReinforceObjective Reinforce(MlmGenerator g, BertTextTokenizer tokenizer, GeneratorSentence[] t, GeneratorSentence[] s, GeneratorSettings settings, bool plotIsTarget = false)
    {
        var target = TargetTexts.Select((x, i) => new Example(x, null, "1", "a", $"{i}")).ToArray();
        var sources = SourceTexts.Select((x, i) => new Example(x, null, "1", "b", $"{i}")).ToArray();
        var borrowing = Borrowing(tokenizer, target, sources);
        (float[][], float[]) Score(IReadOnlyList<string> texts) =>
            (texts.Select(_ => new[] { 0f, 0f }).ToArray(), texts.Select(x => plotIsTarget ? (x.Contains("plot") ? 1f : 0f) : x.Length / 40f).ToArray());
        double Gain(IReadOnlyList<string> texts, IReadOnlyList<float[]> logits) =>
            texts.Average(x => x.Split(' ').Count(w => w is "good" or "great"));
        return new GeneratorReinforceObjective(g, t, s, borrowing, Score, Gain, settings);
    }

    /// <summary>Source-typicality only (the refill is not used by the learned generators).</summary>
    static CrossDomainBorrowing Borrowing(BertTextTokenizer tokenizer, Example[] target, Example[] sources)
    {
        manual_seed(2);
        using var table = randn(Vocab.Length, 8);
        var refill = new Distil.Augment.WordReplacementAugmenter(tokenizer, new Distil.Augment.EmbeddingNeighbours(table, Distil.Augment.VocabularyInfo.From(tokenizer)), null,
            new Distil.Augment.AugmentOptions { Copies = 1, Candidates = 3, Seed = 1 });
        return new CrossDomainBorrowing(refill, target, sources, 0.5, 1, 1);
    }

    sealed class Close(float tolerance) : IEqualityComparer<float>
    {
        public bool Equals(float a, float b) => Math.Abs(a - b) <= tolerance;
        public int GetHashCode(float v) => 0;
    }
}
