using System.Text.Json.Nodes;
using Distil.Augment;
using Distil.Augment.L2A;
using Distil.Cli;
using Distil.Data;
using Distil.Models;
using Distil.Text;
using Distil.Training;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Distil.Tests;

/// <summary>
/// L2A (docs/l2a.md): the REINFORCE selector on toy bandits, the discriminator on separable clouds, generators that keep
/// their sources' labels and borrow target words, teacher soft labels, seeded determinism, and `distil l2a` end to end.
/// </summary>
public class L2aTests
{
    public L2aTests() => torch.set_num_threads(1);

    [Fact]
    public void PolicyGradientOnABanditMovesProbabilityTowardTheRewardedAction()
    {
        // One-state bandit: keep pays 1, drop pays 0. π(keep) starts near 0.5 and must climb.
        using var selector = new ReinforcedSelector(features: 1, width: 4, learningRate: 0.05, seed: 7);
        using var state = ones(1, 1);
        float start = selector.KeepProbabilities(state)[0];
        for (int step = 0; step < 150; step++)
        {
            var a = selector.Act(state);
            selector.Update(state, a, a[0] ? 1.0 : 0.0);
        }
        float end = selector.KeepProbabilities(state)[0];
        Assert.InRange(start, 0.2f, 0.8f);
        Assert.True(end > 0.9f, $"π(keep) went from {start} to {end}, expected > 0.9");
    }

    [Fact]
    public void PolicyGradientLearnsWhichCandidatesToKeepAndIsDeterministicUnderASeed()
    {
        // Contextual bandit: feature +1 = a helpful candidate (+1 when kept), -1 = a harmful one (-1 when kept).
        float[] Train(int seed)
        {
            using var selector = new ReinforcedSelector(features: 1, width: 8, learningRate: 0.05, seed: seed);
            using var batch = tensor(new float[] { 1, -1, 1, -1 }).view(4, 1);
            for (int step = 0; step < 200; step++)
            {
                var a = selector.Act(batch);
                double reward = a.Select((k, i) => k ? (i % 2 == 0 ? 1.0 : -1.0) : 0.0).Sum();
                selector.Update(batch, a, reward);
            }
            return selector.KeepProbabilities(batch);
        }
        var p = Train(3);
        Assert.True(p[0] > 0.85f, $"π(keep | helpful) = {p[0]}");
        Assert.True(p[1] < 0.15f, $"π(keep | harmful) = {p[1]}");
        Assert.Equal(p, Train(3));
        Assert.NotEqual(p, Train(4));
    }

    [Fact]
    public void TheDiscriminatorSeparatesObviouslyDifferentDistributionsDeterministically()
    {
        manual_seed(11);
        Tensor Cloud(double centre, int n) => randn(n, 8) + centre;
        using var target = Cloud(2, 40);
        using var generated = Cloud(-2, 120);
        using var heldTarget = Cloud(2, 50);
        using var heldGenerated = Cloud(-2, 50);
        float[] Fit(int seed, Tensor a, Tensor b)
        {
            using var d = new DomainDiscriminator(8, 16, seed);
            var losses = d.Fit(target, generated, 100, 1e-2);
            Assert.True(losses[^1] < losses[0] / 4, $"loss {losses[0]} -> {losses[^1]}");
            return d.Score(a).Concat(d.Score(b)).ToArray();
        }
        var s = Fit(5, heldTarget, heldGenerated);
        double accuracy = s.Select((v, i) => (v >= 0.5) == (i < 50) ? 1.0 : 0.0).Average();
        Assert.True(accuracy >= 0.98, $"held-out accuracy {accuracy}");
        Assert.Equal(s, Fit(5, heldTarget, heldGenerated));

        // Same distribution on both sides: nothing to separate, held-out scores stay near 0.5 on average.
        using var same = Cloud(2, 120);
        using var d2 = new DomainDiscriminator(8, 16, 5);
        d2.Fit(target, same, 30, 1e-2);
        Assert.InRange(d2.Score(heldTarget).Average(), 0.3, 0.7);
    }

    // A vocabulary and random embedding table for the generators (no MLM head: every word from embedding neighbours).
    static (WordReplacementAugmenter Refill, BertTextTokenizer Tokenizer, TempDir Dir) Refill(int candidates = 6)
    {
        var dir = new TempDir();
        var vocab = new[] { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", "!" }.Concat(TinyBert.Words).Concat(new[] { "plot", "actor", "battery", "screen" }).ToArray();
        File.WriteAllLines(Path.Combine(dir.Path, "vocab.txt"), vocab);
        File.WriteAllText(Path.Combine(dir.Path, "tokenizer_config.json"), """{"do_lower_case": true}""");
        var tokenizer = BertTextTokenizer.FromFolder(dir.Path);
        manual_seed(2);
        using var table = randn(vocab.Length, 8);
        var neighbours = new EmbeddingNeighbours(table, VocabularyInfo.From(tokenizer));
        return (new WordReplacementAugmenter(tokenizer, neighbours, null, new AugmentOptions { Copies = 2, Candidates = candidates, Seed = 1 }), tokenizer, dir);
    }

    static Example[] Rows(string domain, string[] nouns, int n, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(i =>
        {
            bool positive = rng.Next(3) > 0; // 2:1 positive, so a skewed mix is visible
            string adj = positive ? TinyBert.Words[rng.Next(4)] : TinyBert.Words[4 + rng.Next(4)];
            return new Example($"the {nouns[rng.Next(nouns.Length)]} was {adj} .", null, positive ? "1" : "0", domain, $"{domain}:{i}");
        }).ToArray();
    }

    static Dictionary<string, int> LabelCounts(IEnumerable<string?> labels) => labels.GroupBy(l => l!).ToDictionary(g => g.Key, g => g.Count());

    [Fact]
    public void GeneratedSamplesKeepTheLabelDistributionOfTheirSourceAndAreDeterministic()
    {
        var (refill, _, dir) = Refill();
        using var _ = dir;
        var target = Rows("imdb", new[] { "movie", "plot", "actor" }, 12, 1);
        var sources = Rows("amazon", new[] { "phone", "battery", "screen" }, 30, 2);

        List<L2aCandidate> Chain(int seed) => new CorruptReconstructChain(refill, 0.5, 3, 3, seed, distinct: false).Generate(target);
        var chain = Chain(9);
        Assert.Equal(3 * target.Length, chain.Count);
        Assert.All(chain, g => Assert.Equal(target[g.SourceRow].Label, g.SourceLabel));
        Assert.Equal(LabelCounts(target.SelectMany(e => Enumerable.Repeat(e.Label, 3))), LabelCounts(chain.Select(g => g.SourceLabel)));
        Assert.True(chain.Count(g => g.Text != g.Original) > chain.Count / 2, "the chain changes most samples");
        Assert.Equal(chain, Chain(9));
        Assert.NotEqual(chain.Select(g => g.Text), Chain(10).Select(g => g.Text));

        List<L2aCandidate> Cross(int seed) => new CrossDomainBorrowing(refill, target, sources, 0.5, 2, seed).Generate(sources);
        var cross = Cross(9);
        Assert.Equal(2 * sources.Length, cross.Count);
        Assert.Equal(LabelCounts(sources.SelectMany(e => Enumerable.Repeat(e.Label, 2))), LabelCounts(cross.Select(g => g.SourceLabel)));
        Assert.Equal(cross, Cross(9));
    }

    [Fact]
    public void CrossDomainBorrowingReplacesSourceTypicalWordsWithWordsTheTargetUses()
    {
        var (refill, _, dir) = Refill(candidates: 30); // every whole word is a candidate, so a target word is always on offer
        using var _ = dir;
        var target = Rows("imdb", new[] { "movie", "plot", "actor" }, 20, 3);
        var sources = Rows("amazon", new[] { "phone", "battery", "screen" }, 20, 4);
        var borrow = new CrossDomainBorrowing(refill, target, sources, 0.25, 1, 5);
        // Hand check of the typicality: "phone" occurs only in the sources, "movie" only in the target.
        Assert.True(borrow.SourceTypicality("phone") > 0);
        Assert.True(borrow.SourceTypicality("movie") < 0);
        var targetWords = target.SelectMany(e => e.Text.Split(' ')).ToHashSet();
        foreach (var g in borrow.Generate(sources))
        {
            var before = g.Original.Split(' ');
            var after = g.Text.Split(' ');
            Assert.Equal(before.Length, after.Length);
            Assert.NotEqual(g.Original, g.Text); // each source sentence has a source-only noun, and the target offers words
            for (int i = 0; i < before.Length; i++)
                if (before[i] != after[i])
                {
                    Assert.True(borrow.SourceTypicality(before[i]) > 0, $"'{before[i]}' is not source-typical but was replaced");
                    Assert.Contains(after[i], targetWords);
                }
        }
    }

    [Fact]
    public void EdaEditsAreSeededAndKeepTheirSourceLabels()
    {
        var rows = Rows("imdb", new[] { "movie" }, 10, 6);
        var a = new EdaAugmenter(0.2, 3, 1).Generate(rows);
        Assert.Equal(a, new EdaAugmenter(0.2, 3, 1).Generate(rows));
        Assert.Equal(LabelCounts(rows.SelectMany(e => Enumerable.Repeat(e.Label, 3))), LabelCounts(a.Select(g => g.SourceLabel)));
        Assert.Contains(a, g => g.Text != g.Original);
    }

    [Fact]
    public void TheTargetPortionIsStratifiedSeededAndKeepsEveryLabel()
    {
        var rows = Rows("imdb", new[] { "movie" }, 60, 7);
        var p = Split.Portion(rows, 0.1, 3);
        var all = LabelCounts(rows.Select(r => r.Label));
        var kept = LabelCounts(p.Select(r => r.Label));
        foreach (var (label, n) in all) Assert.Equal(Math.Max(1, (int)Math.Round(0.1 * n)), kept[label]);
        Assert.Equal(p, Split.Portion(rows, 0.1, 3));
        Assert.Equal(2, Split.Portion(rows, 0.001, 3).Count); // one per label at least
    }

    [Fact]
    public void TeacherSentenceVectorsAreMeanPooledLastHiddenStatesAndSoftLabelsItsProbabilities()
    {
        var (_, tokenizer, dir) = Refill();
        using var _ = dir;
        manual_seed(4);
        using var teacher = new BertForSequenceClassification(TinyBert.Config(layers: 1, hidden: 16, heads: 2, vocab: tokenizer.VocabSize) with { ClassifierPooling = "mean" });
        teacher.eval();
        var texts = new[] { "the movie was good .", "the phone was awful !", "fine" };
        var encoded = TeacherView.Encode(texts.Select(t => (t, (string?)null)), tokenizer, 16);
        using var pooled = TeacherView.Pooled(teacher, encoded, 2, tokenizer.Pad, CPU); // padded batches
        Assert.Equal(new long[] { 3, 16 }, pooled.shape);
        var truth = Classifier.PredictProbabilities(teacher, encoded, 3, tokenizer.Pad, CPU);
        var logits = Classifier.PredictLogits(teacher, encoded, 3, tokenizer.Pad, CPU);
        using (no_grad())
            for (int i = 0; i < texts.Length; i++)
            {
                // Alone in its batch (no padding): the mean of its tokens' last hidden states.
                var ids = tensor(encoded[i].InputIds).view(1, -1);
                var last = teacher.forward(new BertInputs(ids, ones_like(ids), zeros_like(ids))).Encoder.LastHiddenState; // (1, T, H)
                Assert.True(last.mean([1])[0].allclose(pooled[i], rtol: 0, atol: 1e-5), $"row {i}");
                var p = Distil.Labels.TeacherLabels.Softmax(logits[i]);
                Assert.Equal(1.0, p.Sum(), 5);
                Assert.Equal(truth[i], p, new Tolerance(1e-5f));
            }
    }

    [Fact]
    public void L2aRunsEndToEndAndWritesAnInspectableSelection()
    {
        string folder = TempDir.Scratch("l2a");
        string Data(string name, int perDomain, int seed)
        {
            var rows = Rows("a", new[] { "movie", "plot" }, perDomain, seed).Concat(Rows("b", new[] { "phone", "battery" }, perDomain, seed + 1))
                .Concat(Rows("c", new[] { "food", "screen" }, perDomain, seed + 2));
            string path = Path.Combine(folder, name);
            File.WriteAllLines(path, new[] { "text\tlabel\tdomain" }.Concat(rows.Select(r => $"{r.Text}\t{r.Label}\t{r.Domain}")));
            return path;
        }
        string train = Data("train.tsv", 24, 1), dev = Data("dev.tsv", 8, 10), test = Data("test.tsv", 8, 20);
        string encoder = TinyBert.TeacherFolder(layers: 2);
        string ft = Path.Combine(folder, "ft");
        Assert.Equal(ExitCodes.Ok, CliApp.Run(new[] { "finetune", "--model", encoder, "--train", train, "--dev", dev, "--out", ft,
            "--epochs", "4", "--batch-size", "8", "--lr", "3e-3", "--max-seq-len", "16", "--pooling", "mean", "--threads", "1" }));
        string run = Path.Combine(folder, "l2a");
        string[] Args(string output) => new[] { "l2a", "--teacher", Path.Combine(ft, "best"), "--target", "a", "--sources", "b,c", "--train", train, "--dev", dev,
            "--test", test, "--data-portion", "0.25", "--student", "L1-H16-A2-I32", "--max-seq-len", "16", "--max-steps", "4", "--eval-every", "2",
            "--batch-size", "8", "--lr", "1e-3", "--selector-steps", "6", "--augment", "2", "--generator", "learned", "--generator-steps", "3", "--generator-rl-steps", "2",
            "--threads", "1", "--out", output };
        Assert.Equal(ExitCodes.Ok, CliApp.Run(Args(run)));

        var result = JsonNode.Parse(File.ReadAllText(Path.Combine(run, "result.json")))!;
        Assert.Equal(new[] { "none", "eda", "tinybert", "pool", "l2a" }, result["arms"]!.AsArray().Select(a => a!["Name"]!.GetValue<string>()));
        Assert.Equal(0, result["arms"]![0]!["AugmentedRows"]!.GetValue<int>());
        int selected = result["selected"]!.GetValue<int>();
        Assert.Equal(selected, result["arms"]![4]!["AugmentedRows"]!.GetValue<int>());
        var (labels, rows) = AugmentedSet.Read(Path.Combine(run, "selected.tsv"));
        Assert.Equal(selected, rows.Count);
        Assert.All(rows, r => Assert.Equal(1.0, r.TeacherProbabilities.Sum(), 4));
        Assert.Equal(result["pool"]!.GetValue<int>() + 1, File.ReadAllLines(Path.Combine(run, "candidates.tsv")).Length);
        Assert.Equal(6, File.ReadAllLines(Path.Combine(run, "selector.jsonl")).Length);
        Assert.True(new FileInfo(Path.Combine(run, "selector-reward.png")).Length > 1000);
        Assert.Contains("selector reward", File.ReadAllText(Path.Combine(run, "report.md")));
        // The learned generators trained their head in two stages through the stage runner.
        Assert.True(File.Exists(Path.Combine(run, "generator", "stage-1", "student.safetensors")));
        Assert.True(File.Exists(Path.Combine(run, "generator", "stage-2", "done.json")));

        // Bad input: an unknown target domain names the domains that exist, and leaves no folder behind.
        string bad = Path.Combine(folder, "bad");
        var args = Args(bad);
        args[Array.IndexOf(args, "--target") + 1] = "zzz";
        Assert.Equal(ExitCodes.InvalidInput, CliApp.Run(args));
        Assert.False(Directory.Exists(bad));
    }

    sealed class Tolerance(float tolerance) : IEqualityComparer<float>
    {
        public bool Equals(float a, float b) => Math.Abs(a - b) <= tolerance;
        public int GetHashCode(float v) => 0;
    }
}
