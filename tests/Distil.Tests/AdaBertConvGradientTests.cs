using Distil.Models;
using Distil.Search;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Distil.Tests;

/// <summary>
/// The cell convolutions' values and gradients against truths computed without libtorch's convolution kernels: plain
/// loops in double, and central differences of the float64 cell. libtorch 2.10's float32 CPU convolution (oneDNN 3.7.1,
/// jit:avx512_core) returned a wrong input gradient, often NaN, when the channel count is not a multiple of 16, and a
/// wrong output above 16 channels: AdaBERT search diverged at step 1 (docs/adabert.md §Convolutions on the CPU).
/// </summary>
public class AdaBertConvGradientTests
{
    public AdaBertConvGradientTests() => torch.set_num_threads(1);

    /// <summary>8 channels: the gradient was wrong; 20: the output was wrong too; 16: a multiple of 16, both were right.</summary>
    [Theory]
    [InlineData("conv3", 8)]
    [InlineData("conv7", 8)]
    [InlineData("dil_conv3", 8)]
    [InlineData("dil_conv5", 8)]
    [InlineData("dil_conv7", 8)]
    [InlineData("conv5", 20)]
    [InlineData("dil_conv5", 20)]
    [InlineData("dil_conv7", 16)]
    public void ConvOpOutputAndGradientsMatchPlainLoops(string op, int hidden)
    {
        var (k, d) = SearchSpace.Conv(op)!.Value;
        int b = 4, t = 7, p = (k - 1) * d / 2;
        torch.manual_seed(3);
        using var m = (ConvOp)CellOps.Create(op, hidden, affine: true);
        m.eval(); // fresh BN statistics: y = conv / sqrt(1 + eps)
        var x = randn(b, hidden, t).requires_grad_(true);
        var mask = ones(b, 1, t);
        mask[1, 0, TensorIndex.Slice(t - 2)] = 0; // row 1: the last two positions are padding
        var g = randn(b, hidden, t);
        var y = m.forward(x * mask, mask);
        (y * g).sum().backward();

        // L = Σ g·y, y[b,o,t] = s·mask[b,t]·Σ_i Σ_j w[o,i,j]·relu(x·mask)[b,i,t + j·d − p] (zero outside 0..T−1).
        double s = 1 / Math.Sqrt(1 + 1e-5);
        float[] xa = x.detach().data<float>().ToArray(), wa = m.conv.weight!.detach().data<float>().ToArray();
        float[] ga = g.data<float>().ToArray(), ma = mask.data<float>().ToArray();
        var yy = new double[b * hidden * t];
        var gx = new double[b * hidden * t];
        var gw = new double[hidden * hidden * k];
        for (int bb = 0; bb < b; bb++)
            for (int o = 0; o < hidden; o++)
                for (int i = 0; i < hidden; i++)
                    for (int j = 0; j < k; j++)
                        for (int tt = 0; tt < t; tt++)
                        {
                            int src = tt + j * d - p;
                            if (src < 0 || src >= t) continue;
                            double xin = xa[(bb * hidden + i) * t + src] * ma[bb * t + src];
                            double relu = Math.Max(xin, 0), w = wa[(o * hidden + i) * k + j];
                            double outScale = s * ma[bb * t + tt], up = ga[(bb * hidden + o) * t + tt] * outScale;
                            yy[(bb * hidden + o) * t + tt] += outScale * w * relu;
                            gw[(o * hidden + i) * k + j] += up * relu;
                            if (xin > 0) gx[(bb * hidden + i) * t + src] += up * w * ma[bb * t + src];
                        }

        AssertClose(yy, y, "output");
        AssertClose(gx, x.grad!, "input gradient");
        AssertClose(gw, m.conv.weight!.grad!, "weight gradient");
    }

    /// <summary>
    /// The cell that diverged at step 1 (lead's reduction): dil_conv3(s0) + dil_conv7(s1) feed max_pool3 and dil_conv5,
    /// BN in train mode. The float32 gradients of s0, s1 and the op weights are finite and agree with a central difference
    /// of the same cell in float64 along a random direction.
    /// </summary>
    [Fact]
    public void SearchCellGradientMatchesACentralDifference()
    {
        long[] ops = [3, 5, 1, 2, 6, 4, 1, 4, 8];
        torch.manual_seed(0);
        using var cell = new SearchCell(8);
        cell.train();
        var s0 = randn(16, 8, 6).requires_grad_(true);
        var s1 = randn(16, 8, 6).requires_grad_(true);
        var mask = ones(16, 1, 6);
        var opWeights = F.one_hot(tensor(ops), SearchSpace.Ops.Count).to(float32).requires_grad_(true);
        var g = randn(16, 8, 6);
        (cell.forward(s0, s1, mask, opWeights, ops) * g).sum().backward();
        foreach (var (name, grad) in new[] { ("s0", s0.grad!), ("s1", s1.grad!), ("op weights", opWeights.grad!) })
            Assert.True(grad.isfinite().all().item<bool>(), $"{name}: gradient not finite");
        foreach (var (name, prm) in cell.named_parameters())
            if (prm.grad is { } pg) Assert.True(pg.isfinite().all().item<bool>(), $"{name}: gradient not finite");

        var v0 = randn(16, 8, 6, dtype: float64);
        var v1 = randn(16, 8, 6, dtype: float64);
        var vw = randn(ops.Length, SearchSpace.Ops.Count, dtype: float64);
        double analytic = (s0.grad!.to(float64) * v0).sum().item<double>() + (s1.grad!.to(float64) * v1).sum().item<double>()
            + (opWeights.grad!.to(float64) * vw).sum().item<double>();

        cell.to(float64);
        Tensor s0d = s0.detach().to(float64), s1d = s1.detach().to(float64), wd = opWeights.detach().to(float64);
        double Loss(double e)
        {
            using var noGrad = no_grad();
            return (cell.forward(s0d + e * v0, s1d + e * v1, mask.to(float64), wd + e * vw, ops) * g.to(float64)).sum().item<double>();
        }
        const double h = 1e-6;
        double numeric = (Loss(h) - Loss(-h)) / (2 * h);
        Assert.True(Math.Abs(analytic - numeric) <= 1e-3 * (1 + Math.Abs(numeric)), $"analytic {analytic}, central difference {numeric}");
    }

    static void AssertClose(double[] truth, Tensor got, string what)
    {
        var a = got.detach().to(float64).reshape(-1).data<double>().ToArray();
        double scale = truth.Max(Math.Abs), worst = 0;
        for (int i = 0; i < truth.Length; i++) worst = Math.Max(worst, double.IsFinite(a[i]) ? Math.Abs(a[i] - truth[i]) : double.PositiveInfinity);
        Assert.True(worst <= 1e-5 * (1 + scale), $"{what}: max |difference| {worst} (largest value {scale})");
    }
}
