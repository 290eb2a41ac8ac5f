using Distil.Checkpoints;
using Distil.Data;
using Distil.Models;
using Distil.Search;
using Distil.Training;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Distil.Tests;

/// <summary>AdaBERT's losses against hand computation, derivation, the derived model, and the search loop's guards.</summary>
public class AdaBertSearchTests
{
    public AdaBertSearchTests() => torch.set_num_threads(1);

    [Fact]
    public void TeacherLayerMapIsTheCeilProportionalMap()
    {
        Assert.Equal(new[] { 0, 2, 3, 5, 6 }, Enumerable.Range(0, 5).Select(m => SearchSpace.TeacherLayer(m, 6, 4)));
        Assert.Equal(new[] { 0, 12 }, Enumerable.Range(0, 2).Select(m => SearchSpace.TeacherLayer(m, 12, 1)));
        Assert.Equal(new[] { 0, 2, 3, 5, 6, 8, 9, 11, 12 }, Enumerable.Range(0, 9).Select(m => SearchSpace.TeacherLayer(m, 12, 8)));
    }

    static double[] Softmax(params double[] z) { double m = z.Max(); var e = z.Select(v => Math.Exp(v - m)).ToArray(); return e.Select(v => v / e.Sum()).ToArray(); }

    [Fact]
    public void ProbeKdMatchesAHandComputation()
    {
        // Batch of 2, 2 classes, a teacher with 2 layers (probes 0, 1, 2), a depth-1 student: levels 0 and 1 learn from
        // teacher layers j(0) = 0 and j(1) = ceil(1 * 2 / 1) = 2.
        double[,,] q = { { { 2, 0 }, { 0, 1 }, { 3, -1 } }, { { 0, 1 }, { 1, 1 }, { -2, 2 } } };
        double[][] s = [[0.5, -0.5, 0, 2], [1, 0, -1, 1]]; // s[level][row * 2 + class]
        long[] y = [0, 1];
        var probes = tensor(new[] { 2f, 0, 0, 1, 3, -1, 0, 1, 1, 1, -2, 2 }).view(2, 3, 2);
        var level0 = tensor(new[] { 0.5f, -0.5f, 0, 2 }).view(2, 2);
        var level1 = tensor(new[] { 1f, 0, -1, 1 }).view(2, 2);
        var (loss, w) = SearchLosses.ProbeKd([level0, level1], probes, tensor(y));

        double ProbeCe(int j) => Enumerable.Range(0, 2).Average(b => -Math.Log(Softmax(q[b, j, 0], q[b, j, 1])[y[b]]));
        double[] weights = Softmax(-ProbeCe(0), -ProbeCe(2));
        double Ce(int j, int level) => Enumerable.Range(0, 2).Average(b =>
        {
            var target = Softmax(q[b, j, 0], q[b, j, 1]);
            var student = Softmax(level == 0 ? s[0][b * 2] : s[1][b * 2], level == 0 ? s[0][b * 2 + 1] : s[1][b * 2 + 1]);
            return -(target[0] * Math.Log(student[0]) + target[1] * Math.Log(student[1]));
        });
        double expected = weights[0] * Ce(0, 0) + weights[1] * Ce(2, 1);
        Assert.Equal(weights[0], w[0].item<float>(), 5);
        Assert.Equal(weights[1], w[1].item<float>(), 5);
        Assert.Equal(expected, loss.item<float>(), 5);
        Assert.True(weights[1] > weights[0], "the more accurate probe (layer 2) weighs more");
    }

    [Fact]
    public void EfficiencyLossMatchesAHandComputation()
    {
        double[] c = [0.2, 0.4, 0.6, 0.8, 1.0, 0.9, 0.1, 0.1, 0.05, 0];
        var alpha = zeros(9, 10);
        var depth = zeros(4);
        // uniform ops: per-edge cost = mean(c) = 0.415; E[K] = 2.5 of K_max 4.
        Assert.Equal(2.5 / 4 * 0.415, SearchLosses.Efficiency(alpha, depth, c).item<float>(), 1e-6);
        // one-hot-like alpha on conv7 (cost 0.6) and depth 1: 0.6 * 1/4.
        var peaked = zeros(9, 10); peaked[TensorIndex.Colon, 2] = 50;
        var shallow = zeros(4); shallow[0] = 50;
        Assert.Equal(0.6 / 4, SearchLosses.Efficiency(peaked, shallow, c).item<float>(), 4);
        // budget form: 1 ms per op, E[K] 2.5, 6 of 9 edges kept per cell: 2.5 * 9 * (6/9) = 15 ms.
        var ms = Enumerable.Repeat(1.0, 10).ToArray();
        Assert.Equal(15.0, SearchLosses.ExpectedCellMs(alpha, depth, ms).item<float>(), 4);
        Assert.Equal(0.5, SearchLosses.LatencyBudget(alpha, depth, ms, 10).item<float>(), 5);
        Assert.Equal(0.0, SearchLosses.LatencyBudget(alpha, depth, ms, 20).item<float>(), 6);
    }

    [Fact]
    public void BetaWaitsForTheArchitectureThenRamps()
    {
        Assert.Equal(0, SearchLosses.BetaAt(4, 0, 10, 20));
        Assert.Equal(0, SearchLosses.BetaAt(4, 9, 10, 20));
        Assert.Equal(4.0 / 20, SearchLosses.BetaAt(4, 10, 10, 20), 9);
        Assert.Equal(2.0, SearchLosses.BetaAt(4, 19, 10, 20), 9);
        Assert.Equal(4.0, SearchLosses.BetaAt(4, 500, 10, 20), 9);
        Assert.Equal(4.0, SearchLosses.BetaAt(4, 10, 10, 0), 9);
    }

    [Fact]
    public void DeriveKeepsTheTwoStrongestRealEdgesAndNeverZero()
    {
        var alpha = zeros(9, 10);
        alpha[TensorIndex.Colon, SearchSpace.ZeroOp] = 5;                    // zero is the favourite everywhere
        alpha[SearchSpace.EdgeIndex(0, 2), SearchSpace.OpIndex("conv5")] = 3;
        alpha[SearchSpace.EdgeIndex(1, 2), SearchSpace.OpIndex("max_pool3")] = 1;
        alpha[SearchSpace.EdgeIndex(2, 3), SearchSpace.OpIndex("dil_conv3")] = 2;
        alpha[SearchSpace.EdgeIndex(0, 3), SearchSpace.OpIndex("identity")] = 1.5f;
        alpha[SearchSpace.EdgeIndex(1, 3), SearchSpace.OpIndex("conv7")] = 0.5f;
        alpha[SearchSpace.EdgeIndex(3, 4), SearchSpace.OpIndex("avg_pool3")] = 4;
        alpha[SearchSpace.EdgeIndex(1, 4), SearchSpace.OpIndex("dil_conv7")] = 3.5f;
        alpha[SearchSpace.EdgeIndex(0, 4), SearchSpace.OpIndex("conv3")] = 1;
        var depth = tensor(new float[] { 0, 0.1f, 0.3f, 0.2f });
        var g = Derive.FromAlpha(alpha, depth);
        Assert.Equal(3, g.Depth);
        Assert.Equal("depth 3; n2 = conv5(in0) + max_pool3(in1); n3 = identity(in0) + dil_conv3(n2); n4 = dil_conv7(in1) + avg_pool3(n3)", g.ToString());
        Assert.Equal(g.ToString(), Derive.FromAlpha(alpha.clone(), depth.clone()).ToString());
        // All ties: lowest sources, lowest op index, still no zero.
        var tie = Derive.FromAlpha(zeros(9, 10), zeros(8));
        Assert.Equal("depth 1; n2 = conv3(in0) + conv3(in1); n3 = conv3(in0) + conv3(in1); n4 = conv3(in0) + conv3(in1)", tie.ToString());
        torch.manual_seed(11);
        for (int i = 0; i < 20; i++)
            Assert.DoesNotContain(Derive.FromAlpha(randn(9, 10) * 3, randn(8)).Edges, e => e.Edge.Op == "zero");
    }

    static Genotype RandomGenotype(Random rng)
    {
        var ops = SearchSpace.Ops.Where(o => o != "zero").ToArray();
        return new Genotype(1 + rng.Next(4), Enumerable.Range(SearchSpace.Inputs, SearchSpace.Nodes)
            .Select(node => (IReadOnlyList<GenotypeEdge>)Enumerable.Range(0, 2).Select(_ => new GenotypeEdge(ops[rng.Next(ops.Length)], rng.Next(node))).ToArray()).ToArray());
    }

    [Fact]
    public void DerivedParameterCountEqualsTheGenotypeFormula()
    {
        var rng = new Random(4);
        for (int i = 0; i < 12; i++)
        {
            var g = RandomGenotype(rng);
            var config = AdaBertCnnConfig.Create(g, vocab: 50, positions: 20, hidden: 8, pad: 0, labels: ["a", "b", "c"], dropout: 0.1);
            using var m = new AdaBertCnnForSequenceClassification(config);
            Assert.Equal(g.ParameterCount(50, 20, 8, 3), m.parameters().Sum(p => p.numel()));
        }
        // At the paper's width with the BERT vocabulary: 8 cells of conv7 edges is about the reported 9.5M upper bound.
        var widest = new Genotype(8, Enumerable.Range(0, 3).Select(j => (IReadOnlyList<GenotypeEdge>)[new("conv7", 0), new("conv7", 1)]).ToArray());
        Assert.InRange(widest.ParameterCount(30522, 512, 128, 2), 9.4e6, 9.6e6);
    }

    static (SuperNet Net, BertInputs Inputs) TinySupernet(int kMax = 3, string head = CnnInputs.PooledHead)
    {
        torch.manual_seed(21);
        var tables = new TeacherTables(randn(30, 12), randn(16, 12));
        var net = new SuperNet(tables, kMax, hidden: 8, numLabels: 2, dropoutP: 0.1, head: head);
        var ids = randint(1, 30, new long[] { 4, 7 });
        var mask = ones(4, 7, dtype: int64);
        mask[2, TensorIndex.Slice(5)] = 0;
        var types = zeros(4, 7, dtype: int64);
        types[3, TensorIndex.Slice(4)] = 1; // a sentence pair
        return (net, new BertInputs(ids, mask, types));
    }

    [Theory]
    [InlineData(CnnInputs.PooledHead)]
    [InlineData(CnnInputs.PairHead)]
    public void TheDerivedStudentComputesWhatTheSupernetComputesForItsArchitecture(string head)
    {
        var (net, inputs) = TinySupernet(head: head);
        var g = new Genotype(2, [[new("conv5", 0), new("max_pool3", 1)], [new("identity", 0), new("dil_conv3", 2)], [new("dil_conv7", 1), new("avg_pool3", 3)]]);
        using (no_grad())
        {
            // Kept edges: their op; the other edges: zero (so the supernet's argmax architecture is the genotype).
            net.alpha.zero_();
            for (int e = 0; e < 9; e++) net.alpha[e, SearchSpace.ZeroOp] = 4;
            foreach (var (edge, target) in g.Edges) net.alpha[SearchSpace.EdgeIndex(edge.Input, target), SearchSpace.OpIndex(edge.Op)] = 8;
            net.alpha_depth.zero_(); net.alpha_depth[1] = 5;
            foreach (var c in net.cells) c.node_weights.copy_(randn(3));
            net.layer_weights[2].copy_(randn(3));
        }
        Assert.Equal(g.ToString(), Derive.FromAlpha(net.alpha, net.alpha_depth).ToString());
        net.train();
        using (no_grad()) using (var arch = net.ArgmaxArch()) for (int i = 0; i < 3; i++) net.forward(inputs, arch); // BN running statistics move
        net.eval();
        using var arch2 = net.ArgmaxArch();
        var expected = net.forward(inputs, arch2)[2];
        var config = AdaBertCnnConfig.Create(g, 30, 16, 8, 0, ["n", "p"], 0.1, head: head);
        using var derived = AdaBertCnnForSequenceClassification.FromSearch(net, g, config);
        derived.eval();
        var actual = derived.forward(inputs);
        Assert.True((expected - actual).abs().max().item<float>() < 1e-4, $"max |diff| {(expected - actual).abs().max().item<float>()}");

        // The folder round trip keeps it, and eval/predict's loader dispatches on model_type.
        string teacherDir = TinyBert.TeacherFolder();
        using var tmp = new TempDir();
        string dir = Path.Combine(tmp.Path, "student");
        AdaBertCnnFolder.Save(dir, derived, teacherDir);
        Assert.Equal("adabert_cnn", ClassifierFolder.ModelType(dir));
        using var loaded = ClassifierFolder.Load(dir);
        loaded.Module.eval();
        Assert.Equal(["n", "p"], loaded.Labels);
        Assert.True((loaded.Logits(inputs) - actual).abs().max().item<float>() < 1e-6);
        Assert.Equal(g.ParameterCount(30, 16, 8, 2, head), loaded.Parameters);
        Assert.Equal(head, AdaBertCnnConfig.Load(Path.Combine(dir, "config.json")).Head);
        if (head == CnnInputs.PairHead)
            Assert.Throws<DistilException>(() => AdaBertCnnForSequenceClassification.FromSearch(net, g, config with { Head = CnnInputs.PooledHead }));
    }

    /// <summary>Toy task (label 1 iff token 7 occurs), probes that know the labels, fixed op costs.</summary>
    static SearchOutcome ToySearch(string dir, double beta, int maxSteps = 0, double archWarmup = 0.1, SuperNet? given = null)
    {
        var (net, _) = given != null ? (given, null!) : TinySupernet();
        var rng = new Random(9);
        var rows = Enumerable.Range(0, 64).Select(i =>
        {
            var ids = Enumerable.Range(0, 6).Select(_ => (long)rng.Next(8, 30)).ToArray();
            if (i % 2 == 1) ids[rng.Next(6)] = 7;
            return new EncodedExample(ids, new long[6], i % 2, -1);
        }).ToArray();
        var probe = zeros(64, 3, 2);
        for (int i = 0; i < 64; i++) probe[i, TensorIndex.Colon, i % 2] = 2;
        var targets = new ProbeTargets(probe, probe[TensorIndex.Colon, 2], [1, 1, 1], null);
        var costs = OpCosts.Fixed([1.0, 1.4, 1.8, 1.1, 1.5, 2.0, 0.3, 0.3, 0.02, 0]);
        var options = new SearchOptions { KMax = 3, HiddenSize = 8, Beta = beta, ArchLearningRate = 0.05, ArchWarmupRatio = archWarmup, BetaWarmupRatio = 0.2 };
        var training = new TrainingOptions { Epochs = 6, BatchSize = 16, LearningRate = 3e-3, WarmupRatio = 0, MaxGradNorm = 5, Seed = 3, MaxSteps = maxSteps };
        var search = new ArchSearch(net, options, training, targets, costs, new EncodedBatchSource(rows, 16, 3, 0), rows[..16], 0, CPU, dir, []);
        return search.Run(resume: false);
    }

    static double Cost(Genotype g) => g.Depth * g.Edges.Sum(e => new[] { 1.0, 1.4, 1.8, 1.1, 1.5, 2.0, 0.3, 0.3, 0.02, 0 }[SearchSpace.OpIndex(e.Edge.Op)]);

    [Fact]
    public void RaisingBetaGivesADerivedModelNoCostlier()
    {
        using var low = new TempDir();
        using var high = new TempDir();
        var cheap = ToySearch(high.Path, beta: 20).Genotype();
        var free = ToySearch(low.Path, beta: 0).Genotype();
        Assert.True(Cost(cheap) < Cost(free), $"beta 20: {cheap} (cost {Cost(cheap):F2}); beta 0: {free} (cost {Cost(free):F2})");
        Assert.True(File.ReadAllLines(Path.Combine(high.Path, "alpha.jsonl")).Length > 0, "the alpha history for the heat-maps is written");
    }

    [Fact]
    public void AlphaStaysFrozenDuringTheWeightWarmUp()
    {
        using var tmp = new TempDir();
        var (net, _) = TinySupernet();
        var alpha0 = net.alpha.detach().clone();
        var weight0 = net.cells[0].node_weights.detach().clone();
        ToySearch(tmp.Path, beta: 4, maxSteps: 6, archWarmup: 0.99, given: net); // 6 steps, all of them warm-up
        Assert.Equal(0, (net.alpha - alpha0).abs().max().item<float>());
        Assert.True((net.cells[0].node_weights - weight0).abs().max().item<float>() > 0, "the weights were trained");
    }
}
