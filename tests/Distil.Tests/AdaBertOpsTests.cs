using Distil.Models;
using Distil.Search;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Distil.Tests;

/// <summary>AdaBERT's search space: op shapes and padding, real dilation, pooling over tokens only, Gumbel sampling, straight-through gradients.</summary>
public class AdaBertOpsTests
{
    public AdaBertOpsTests() => torch.set_num_threads(1);

    [Fact]
    public void EveryOpKeepsTheLengthAndLeavesPaddingAtZero()
    {
        torch.manual_seed(1);
        foreach (int len in new[] { 5, 9 })
        {
            var x = randn(2, 8, len);
            var mask = ones(2, 1, len);
            mask[1, 0, TensorIndex.Slice(len - 2)] = 0;   // row 1: the last two positions are padding
            x = x * mask;
            foreach (string op in SearchSpace.Ops)
            {
                using var m = CellOps.Create(op, 8, affine: true);
                var y = m.forward(x, mask);
                Assert.Equal(new long[] { 2, 8, len }, y.shape);
                Assert.Equal(0.0, y[1, TensorIndex.Colon, TensorIndex.Slice(len - 2)].abs().max().item<float>(), 6);
            }
        }
    }

    /// <summary>A conv whose only non-zero tap is the first one shifts an impulse right by (k-1)/2 * dilation positions.</summary>
    [Theory]
    [InlineData("conv3", 1)]
    [InlineData("dil_conv3", 2)]
    [InlineData("conv5", 2)]
    [InlineData("dil_conv5", 4)]
    [InlineData("dil_conv7", 6)]
    public void DilatedConvolutionsReallySkipPositions(string op, int shift)
    {
        using var m = (ConvOp)CellOps.Create(op, 1, affine: true);
        m.eval(); // fresh BN statistics: mean 0, variance 1
        using (no_grad())
        {
            m.conv.weight!.zero_();
            m.conv.weight![0, 0, 0] = 1;
        }
        var x = zeros(1, 1, 15);
        x[0, 0, 4] = 1;
        var y = m.forward(x, ones(1, 1, 15)).reshape(-1).data<float>().ToArray();
        int peak = Array.IndexOf(y, y.Max());
        Assert.Equal(4 + shift, peak);
        Assert.Equal(1 / Math.Sqrt(1 + 1e-5), y[peak], 4);
        Assert.Equal(1, y.Count(v => Math.Abs(v) > 1e-6));
    }

    [Fact]
    public void PoolingSeesOnlyTokens()
    {
        var mask = tensor(new float[] { 1, 1, 1, 1, 0 }).view(1, 1, 5);
        double bn = 1 / Math.Sqrt(1 + 1e-5); // eval-mode BN with fresh statistics
        using var avg = CellOps.Create("avg_pool3", 1, affine: true);
        avg.eval();
        var a = avg.forward(tensor(new float[] { 1, 2, 3, 4, 0 }).view(1, 1, 5), mask).reshape(-1).data<float>().ToArray();
        Assert.Equal(new[] { 1.5, 2, 3, 3.5, 0 }.Select(v => v * bn), a.Select(v => (double)v), new Tol(1e-5));
        using var max = CellOps.Create("max_pool3", 1, affine: true);
        max.eval();
        var b = max.forward(tensor(new float[] { -1, -2, -3, -4, 0 }).view(1, 1, 5), mask).reshape(-1).data<float>().ToArray();
        Assert.Equal(new[] { -1.0, -1, -2, -3, 0 }.Select(v => v * bn), b.Select(v => (double)v), new Tol(1e-5));
    }

    sealed class Tol(double eps) : IEqualityComparer<double>
    {
        public bool Equals(double x, double y) => Math.Abs(x - y) <= eps;
        public int GetHashCode(double obj) => 0;
    }

    [Fact]
    public void GumbelSampleFrequenciesMatchSoftmaxAlpha()
    {
        torch.manual_seed(7);
        var alpha = tensor(new float[] { 1.0f, 0.0f, -1.0f, 0.5f });
        const int n = 40000;
        var (hard, index) = GumbelSoftmax.Sample(alpha.expand(n, 4), tau: 1.0);
        Assert.True(hard.sum(1).sub(1).abs().max().item<float>() < 1e-5, "every sample is one-hot in value");
        var expected = F.softmax(alpha, 0).data<float>().ToArray();
        for (int o = 0; o < 4; o++)
        {
            double freq = index.Count(i => i == o) / (double)n;
            Assert.True(Math.Abs(freq - expected[o]) < 0.01, $"op {o}: sampled {freq:F4}, softmax {expected[o]:F4}");
        }
        // A low temperature does not change which op is sampled (argmax of log-softmax + g), only the gradient scale.
        torch.manual_seed(7);
        var (_, cold) = GumbelSoftmax.Sample(alpha.expand(n, 4), tau: 0.2);
        Assert.Equal(index, cold);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void StraightThroughGradientReachesEveryAlpha(bool sampledOnly)
    {
        torch.manual_seed(3);
        using var edge = new MixedOp(4);
        var alpha = nn.Parameter(randn(SearchSpace.Ops.Count) * 0.1);
        var x = randn(2, 4, 6);
        var mask = ones(2, 1, 6);
        for (int attempt = 0; attempt < 20; attempt++)
        {
            alpha.grad?.zero_();
            var (hard, index) = GumbelSoftmax.Sample(alpha, tau: 0.5);
            if (SearchSpace.Ops[(int)index[0]] == "zero") continue; // its output is 0: no signal through the loss
            var y = edge.forward(x, mask, hard, sampledOnly ? index[0] : null);
            y.pow(2).sum().backward();
            var g = alpha.grad!.data<float>().ToArray();
            Assert.All(g, v => Assert.True(Math.Abs(v) > 0, $"gradient {string.Join(", ", g)}"));
            return;
        }
        Assert.Fail("only zero was sampled");
    }

    /// <summary>Finite differences in float64 against autograd for the exact mixture Σ_o w_o op_o(x), w.r.t. w and x.</summary>
    [Fact]
    public void MixedOpPassesAGradientCheck()
    {
        torch.manual_seed(5);
        using var edge = new MixedOp(3);
        edge.to(float64);
        edge.train(); // batch-statistics BN, a smooth function of the input
        var x = randn(2, 3, 5, dtype: float64).requires_grad_();
        var w = randn(SearchSpace.Ops.Count, dtype: float64).requires_grad_();
        var mask = ones(2, 1, 5, dtype: float64);
        var probe = randn(2, 3, 5, dtype: float64); // loss = <probe, y>: every output element matters
        Tensor Loss(Tensor xx, Tensor ww) => (edge.forward(xx, mask, F.softmax(ww, 0), null) * probe).sum();
        Loss(x, w).backward();
        var gw = w.grad!.data<double>().ToArray();
        var gx = x.grad!.data<double>().ToArray();
        const double h = 1e-6;
        using var _ = no_grad();
        for (int o = 0; o < gw.Length; o++)
        {
            var plus = w.detach().clone(); plus[o] += h;
            var minus = w.detach().clone(); minus[o] -= h;
            double numeric = (Loss(x.detach(), plus).item<double>() - Loss(x.detach(), minus).item<double>()) / (2 * h);
            Assert.True(Math.Abs(numeric - gw[o]) < 1e-5 * Math.Max(1, Math.Abs(numeric)), $"d/dw[{o}]: autograd {gw[o]}, numeric {numeric}");
        }
        var flat = x.detach().reshape(-1);
        foreach (int i in new[] { 0, 7, 13, 22, 29 })
        {
            var plus = flat.clone(); plus[i] += h;
            var minus = flat.clone(); minus[i] -= h;
            double numeric = (Loss(plus.view(2, 3, 5), w.detach()).item<double>() - Loss(minus.view(2, 3, 5), w.detach()).item<double>()) / (2 * h);
            Assert.True(Math.Abs(numeric - gx[i]) < 1e-5 * Math.Max(1, Math.Abs(numeric)), $"d/dx[{i}]: autograd {gx[i]}, numeric {numeric}");
        }
    }

    [Fact]
    public void TemperatureAnnealsFromStartToEnd()
    {
        var s = new TemperatureSchedule(1.0, 0.2);
        Assert.Equal(1.0, s.At(0, 101), 9);
        Assert.Equal(Math.Sqrt(0.2), s.At(50, 101), 9);
        Assert.Equal(0.2, s.At(100, 101), 9);
        Assert.Equal(0.2, s.At(500, 101), 9);
    }

    [Fact]
    public void PairsAreSplitIntoTwoInputsWithRestartedPositions()
    {
        var types = tensor(new long[] { 0, 0, 0, 1, 1, 0 }).view(1, 6);
        var mask = tensor(new long[] { 1, 1, 1, 1, 1, 0 }).view(1, 6);
        Assert.Equal(new long[] { 0, 1, 2, 0, 1, 3 }, CnnInputs.Positions(types).data<long>().ToArray()); // padding position is masked anyway
        var h = ones(1, 6, 2);
        var (s0, s1, m) = CnnInputs.Split(h, types, mask);
        Assert.Equal(new float[] { 1, 1, 1, 0, 0, 0 }, s0[0, 0].data<float>().ToArray());
        Assert.Equal(new float[] { 0, 0, 0, 1, 1, 0 }, s1[0, 0].data<float>().ToArray());
        var (a, b, _) = CnnInputs.Split(h, zeros(1, 6, dtype: int64), mask);
        Assert.Equal(a.data<float>().ToArray(), b.data<float>().ToArray()); // a single sentence feeds both inputs
    }

    [Fact]
    public void PairHeadPoolsEachTextApartThenCompares()
    {
        // (B 2, H 2, T 4): row 0 a pair (A = tokens 0-1, B = token 2, token 3 padding with large values), row 1 one sentence.
        var cell = tensor(new float[] { 1, 3, 5, 100, 2, -2, 4, -50, -3, -1, -4, -2, 2, 2, 2, 2 }).view(2, 2, 4);
        var types = tensor(new long[] { 0, 0, 1, 1, 0, 0, 0, 0 }).view(2, 4);
        var mask = tensor(new long[] { 1, 1, 1, 0, 1, 1, 1, 1 }).view(2, 4);
        var masks = CnnInputs.HeadMasks(types, mask, CnnInputs.PairHead);
        Assert.Equal(new long[] { 2, 2, 4 }, masks.shape);
        Assert.Equal(new float[] { 1, 1, 0, 0, 0, 0, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1 }, masks.data<float>().ToArray()); // a single sentence: every token twice
        var mean = CnnInputs.Pool(cell, masks, CnnInputs.MeanPooling);                       // (B, S, H)
        Assert.Equal(new float[] { 2, 0, 5, 4, -2.5f, 2, -2.5f, 2 }, mean.data<float>().ToArray());
        Assert.Equal(new float[] { 3, 2, 5, 4, -1, 2, -1, 2 }, CnnInputs.Pool(cell, masks, CnnInputs.MaxPooling).data<float>().ToArray());
        // [u, v, |u - v|, u * v]: u = (2, 0), v = (5, 4) -> 2 0 | 5 4 | 3 4 | 10 0; the single sentence has u = v.
        var features = CnnInputs.HeadInput(mean, CnnInputs.PairHead);
        Assert.Equal(new long[] { 2, 8 }, features.shape);
        Assert.Equal(new float[] { 2, 0, 5, 4, 3, 4, 10, 0, -2.5f, 2, -2.5f, 2, 0, 0, 6.25f, 4 }, features.data<float>().ToArray());
        // The paper's head: one vector of every real token of both texts.
        var pooled = CnnInputs.HeadInput(CnnInputs.Pool(cell, CnnInputs.HeadMasks(types, mask, CnnInputs.PooledHead), CnnInputs.MeanPooling), CnnInputs.PooledHead);
        Assert.Equal(new float[] { 3, 4 / 3f, -2.5f, 2 }, pooled.data<float>().ToArray());
    }

    [Fact]
    public void HeadPoolingCountsOnlyRealTokens()
    {
        // (B 2, H 2, T 4); row 0 has 3 real tokens and a large value on its padding, row 1 all 4 real and negative.
        var cell = tensor(new float[] { 1, 5, 3, 100, -2, 0, 4, -50, -3, -1, -4, -2, 2, 2, 2, 2 }).view(2, 2, 4);
        var mask = tensor(new float[] { 1, 1, 1, 0, 1, 1, 1, 1 }).view(2, 1, 4);
        Assert.Equal(new float[] { 5, 4, -1, 2 }, CnnInputs.Pool(cell, mask, CnnInputs.MaxPooling).data<float>().ToArray());
        Assert.Equal(new float[] { 3, 2 / 3f, -2.5f, 2 }, CnnInputs.Pool(cell, mask, CnnInputs.MeanPooling).data<float>().ToArray());
    }
}
