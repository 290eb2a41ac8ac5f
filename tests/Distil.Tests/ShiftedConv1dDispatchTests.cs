using Distil.Models;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Distil.Tests;

/// <summary>
/// <see cref="ShiftedConv1d.Apply"/> with autograd off may hand a shape to torch's conv1d once conv1d agreed with the
/// shifted sum there (bench/results/conv-kernels.md: 1.0-1.5x faster at batch 1, 2-7x at batch 32). Whatever it picks,
/// the output must be the convolution: checked against plain loops in double at 128 channels (conv1d right on the
/// AVX-512 machine measured) and 20 (conv1d wrong there), and the agreement test against hand-made wrong outputs.
/// </summary>
public class ShiftedConv1dDispatchTests
{
    public ShiftedConv1dDispatchTests() => torch.set_num_threads(1);

    [Theory]
    [InlineData(128, 3, 1)]
    [InlineData(128, 7, 2)]
    [InlineData(20, 5, 1)]
    [InlineData(20, 7, 2)]
    public void NoGradForwardIsTheConvolutionWhicheverKernelRuns(int channels, int k, int d)
    {
        int b = 2, t = 9, p = (k - 1) * d / 2;
        torch.manual_seed(5);
        using var x = randn(b, channels, t);
        using var w = randn(channels, channels, k) * (1.0 / Math.Sqrt(channels * k));
        float[] xa = x.data<float>().ToArray(), wa = w.data<float>().ToArray();
        var want = new double[b * channels * t];
        for (int bb = 0; bb < b; bb++)
            for (int o = 0; o < channels; o++)
                for (int tt = 0; tt < t; tt++)
                {
                    double sum = 0;
                    for (int i = 0; i < channels; i++)
                        for (int j = 0; j < k; j++)
                        {
                            int src = tt + j * d - p;
                            if (src >= 0 && src < t) sum += (double)wa[(o * channels + i) * k + j] * xa[(bb * channels + i) * t + src];
                        }
                    want[(bb * channels + o) * t + tt] = sum;
                }
        double scale = want.Max(Math.Abs);
        using (no_grad())
            for (int call = 0; call < 2; call++) // the first call checks conv1d at this shape, the second uses the verdict
            {
                using var y = ShiftedConv1d.Apply(x, w, d, p);
                Assert.Equal(new long[] { b, channels, t }, y.shape);
                var got = y.data<float>().ToArray();
                double err = got.Select((v, n) => Math.Abs(v - want[n])).Max();
                Assert.True(err <= 1e-5 * scale, $"call {call}: max error {err} (scale {scale}), conv1d verified: {ShiftedConv1d.TorchConvVerified(x, w, d, p)}");
            }
    }

    [Fact]
    public void AgreesRejectsNaNInfinityAWrongKernelAndAnotherShape()
    {
        using var reference = tensor(new float[] { 1, -2, 4, 0.5f }).reshape(1, 1, 4);
        using var rounding = reference + tensor(new float[] { 1e-7f, 0, -2e-7f, 0 }).reshape(1, 1, 4); // 2e-7 / 4 = 5e-8 relative
        using var wrong = reference * 1.2f;                                                             // 20% off, as the faulty kernels
        using var slightly = reference + tensor(new float[] { 0, 0, 1e-3f, 0 }).reshape(1, 1, 4);     // 1e-3 / 4 = 2.5e-4 > 1e-4
        using var nan = reference.clone(); nan[0, 0, 2] = float.NaN;
        using var inf = reference.clone(); inf[0, 0, 1] = float.PositiveInfinity;
        Assert.True(ShiftedConv1d.Agrees(reference, reference.clone()));
        Assert.True(ShiftedConv1d.Agrees(reference, rounding));
        Assert.False(ShiftedConv1d.Agrees(reference, wrong));
        Assert.False(ShiftedConv1d.Agrees(reference, slightly));
        Assert.False(ShiftedConv1d.Agrees(reference, nan));
        Assert.False(ShiftedConv1d.Agrees(reference, inf));
        Assert.False(ShiftedConv1d.Agrees(reference, reference.reshape(1, 4, 1)));
    }

    [Fact]
    public void WithAutogradOnTheInputGradientIsTheShiftedSums()
    {
        // Training never takes conv1d: Apply's input gradient is Sum's exactly (same ops, same order).
        torch.manual_seed(6);
        using var x = randn(2, 20, 9);
        using var w = randn(20, 20, 5);
        using var g = randn(2, 20, 9);
        using var x1 = x.detach().requires_grad_(true);
        using var x2 = x.detach().requires_grad_(true);
        (ShiftedConv1d.Apply(x1, w, 2, 4) * g).sum().backward();
        (ShiftedConv1d.Sum(x2, w, 2, 4) * g).sum().backward();
        Assert.True(x1.grad!.eq(x2.grad!).all().item<bool>());
    }
}
