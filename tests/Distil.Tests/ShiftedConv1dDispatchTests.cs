using Distil.Models;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Distil.Tests;

/// <summary>
/// <see cref="Conv1dDispatch"/> hands a layer configuration to torch's conv1d only where a check in the process found
/// conv1d right (docs/adabert.md §Convolutions on the CPU). The expectations come from an independent check made here
/// (torch's float32 conv1d against plain loops in double, on other random values), never from facts about one CPU; a
/// central difference of the convolution in double checks the gradients of whatever path is chosen; kernels with an
/// injected fault check the fallback.
/// </summary>
public class ShiftedConv1dDispatchTests
{
    public ShiftedConv1dDispatchTests() => torch.set_num_threads(1);

    /// <summary>A configuration: channels in = out, kernel, dilation, groups, bias, batch; "same" padding.</summary>
    public static TheoryData<int, int, int, int, bool, int, bool> Configurations => new()
    {
        { 20, 5, 1, 1, false, 4, true },  // an AdaBERT cell op at a width that is not a multiple of 16
        { 8, 7, 2, 1, false, 3, true },
        { 16, 3, 1, 1, false, 4, true },
        { 128, 3, 1, 1, false, 2, true }, // the student's width
        { 20, 3, 1, 1, false, 1, true },  // batch 1
        { 24, 3, 1, 3, true, 4, true },   // DeBERTa-v2's conv branch: groups and a bias
        { 32, 5, 1, 2, true, 3, true },
        { 20, 5, 1, 1, false, 4, false }, // autograd off (inference)
        { 128, 7, 2, 1, false, 4, false },
    };

    [Theory]
    [MemberData(nameof(Configurations))]
    public void TorchsConv1dIsUsedExactlyWhereAnIndependentCheckFindsItRight(int channels, int k, int d, int groups, bool bias, int batch, bool train)
    {
        int t = 9, p = (k - 1) * d / 2;
        // The independent check: torch's float32 conv1d on three fresh draws against plain loops in double.
        bool torchRight = true;
        string evidence = "";
        for (int draw = 0; draw < 3 && torchRight; draw++)
        {
            torch.manual_seed(100 + draw);
            var c = Case.Random(batch, channels, t, k, d, p, groups, bias);
            var truth = c.Loops();
            var got = c.Run(ShiftedConv1d.TorchKernel, train);
            double err = Worst(truth, got, train ? (bias ? 4 : 3) : 1);
            torchRight = err <= 1e-4;
            evidence = $"draw {draw}: conv1d relative error {err}";
        }

        var dispatch = new Conv1dDispatch(ShiftedConv1d.TorchKernel); // a fresh cache: no verdict from another test
        torch.manual_seed(7);
        var call = Case.Random(batch, channels, t, k, d, p, groups, bias);
        var x = call.X.requires_grad_(train);
        var w = call.W.requires_grad_(train);
        using (enable_grad(train))
        {
            var path = dispatch.Choose(x, w, call.B, d, p, groups);
            var verdict = Assert.Single(dispatch.Verdicts);
            Assert.True((torchRight ? Conv1dPath.Torch : Conv1dPath.Shifted) == path, $"independent check: {evidence}; dispatch: {verdict.Detail}");
            Assert.Equal(train, verdict.Key.Gradients);
            Assert.Equal(batch > 1, verdict.Key.Batched);
        }
    }

    /// <summary>
    /// Whatever path <see cref="ShiftedConv1d.Apply(Tensor, Tensor, Tensor?, int, int, int)"/> takes, its output
    /// matches plain loops in double, and its gradients (input, weight, bias) along a random direction match a central
    /// difference of the double loops. The loss is Σ g·y, quadratic in the step, so the central difference is exact but
    /// for rounding.
    /// </summary>
    [Theory]
    [MemberData(nameof(Configurations))]
    public void GradientsOfTheChosenPathMatchAFloat64CentralDifference(int channels, int k, int d, int groups, bool bias, int batch, bool train)
    {
        int t = 9, p = (k - 1) * d / 2;
        torch.manual_seed(11);
        var c = Case.Random(batch, channels, t, k, d, p, groups, bias);
        var truth = c.Loops();
        for (int call = 0; call < 2; call++) // the first call checks the configuration, the second uses the verdict
        {
            var got = c.Run(ShiftedConv1d.Apply, train);
            string path;
            using (enable_grad(train))
                path = ShiftedConv1d.Default.Verify(c.X.requires_grad_(train), c.W.requires_grad_(train), c.B?.requires_grad_(train), d, p, groups).Detail;
            Assert.True(ShiftedConv1d.RelativeError(truth[0], got[0]!) <= 1e-5, $"call {call}: output off ({path})");
            if (!train) continue;

            torch.manual_seed(12);
            var vx = randn_like(truth[1]);
            var vw = randn_like(truth[2]);
            var vb = bias ? randn(channels, dtype: float64) : null;
            double analytic = Dot(got[1]!, vx) + Dot(got[2]!, vw) + (bias ? Dot(got[3]!, vb!) : 0);
            const double h = 1e-3;
            double Loss(double e) => c.Shifted(e, vx, vw, vb).Loss();
            double numeric = (Loss(h) - Loss(-h)) / (2 * h);
            Assert.True(Math.Abs(analytic - numeric) <= 1e-4 * (1 + Math.Abs(numeric)), $"call {call}: analytic {analytic}, central difference {numeric} ({path})");
        }
    }

    /// <summary>
    /// DeBERTa-v2's conv branch goes through the same dispatch: at a width that is not a multiple of 16, two groups and
    /// a batch of 3, the float32 layer's output and every gradient (both inputs, conv weight and bias) match the same
    /// layer in float64. It called torch's conv1d directly before, wrong at such widths on the AVX-512 machine measured.
    /// </summary>
    [Fact]
    public void DebertaConvBranchMatchesItsFloat64SelfInTraining()
    {
        var config = DebertaV2Config.FromJson("""{"vocab_size":40,"hidden_size":20,"num_hidden_layers":1,"num_attention_heads":4,"intermediate_size":24,"max_position_embeddings":32,"conv_kernel_size":3,"conv_groups":2}""");
        torch.manual_seed(31);
        using var layer32 = new ConvLayer(config);
        using var layer64 = new ConvLayer(config);
        layer64.to(float64);
        using (no_grad())
            foreach (var ((_, p64), (_, p32)) in layer64.named_parameters().Zip(layer32.named_parameters()))
                p64.copy_(p32); // the same weights in float64
        var input = randn(3, 11, 20);
        var output = randn(3, 11, 20);
        var mask = ones(3, 11, 1);
        mask[1, TensorIndex.Slice(7)] = 0; // row 1: padding after 7 tokens
        var g = randn(3, 11, 20);

        Tensor[] Run(ConvLayer layer, ScalarType dtype)
        {
            layer.eval(); // dropout off; autograd still records
            var a = input.to(dtype).clone().requires_grad_(true);
            var b = output.to(dtype).clone().requires_grad_(true);
            var y = layer.forward(a, b, mask.to(dtype));
            (y * g.to(dtype)).sum().backward();
            var conv = layer.named_parameters().ToDictionary(p => p.name, p => p.parameter);
            return [y.detach(), a.grad!, b.grad!, conv["conv.weight"].grad!, conv["conv.bias"].grad!];
        }
        var got = Run(layer32, float32);
        var want = Run(layer64, float64);
        string[] names = ["output", "input grad", "residual grad", "conv weight grad", "conv bias grad"];
        for (int q = 0; q < names.Length; q++)
            Assert.True(ShiftedConv1d.RelativeError(want[q], got[q]) <= 1e-4, $"{names[q]}: relative error {ShiftedConv1d.RelativeError(want[q], got[q])}");
    }

    /// <summary>A kernel whose output is right and whose input gradient is 20% off (the oneDNN fault's shape).</summary>
    static Tensor WrongInputGradient(Tensor x, Tensor w, Tensor? b, int d, int p, int g) =>
        F.conv1d(x, w, b, padding: p, dilation: d, groups: g) + 0.2 * (x - x.detach()); // value unchanged, ∂/∂x gains 0.2·g

    [Fact]
    public void AWrongGradientFallsBackInTrainingOnceWithOneLineAndIsKeptWithoutAutograd()
    {
        var lines = new List<string>();
        var dispatch = new Conv1dDispatch(WrongInputGradient, log: lines.Add);
        torch.manual_seed(21);
        var x = randn(4, 16, 9).requires_grad_(true);
        var w = randn(16, 16, 3) * 0.2;
        var g = randn(4, 16, 9);

        var want = ShiftedConv1d.Sum(x, w, 1, 1);
        (want * g).sum().backward();
        var wantGrad = x.grad!.clone();
        for (int call = 0; call < 2; call++)
        {
            x.grad!.zero_();
            var y = dispatch.Apply(x, w, null, 1, 1, 1);
            (y * g).sum().backward();
            Assert.True(Same(y, want), "the fallback is the shifted sum itself");
            Assert.True(Same(x.grad!, wantGrad));
        }
        Assert.Equal(Conv1dPath.Shifted, dispatch.Choose(x, w, null, 1, 1, 1));
        // Another batch (> 1) and length are the same configuration: no second check, no second line.
        Assert.Equal(Conv1dPath.Shifted, dispatch.Choose(randn(7, 16, 30).requires_grad_(true), w, null, 1, 1, 1));
        Assert.Equal(1, dispatch.ChecksRun);
        var line = Assert.Single(lines);
        Assert.Contains("DISAGREES", line);
        Assert.Contains("input grad", line);

        // Without autograd only the output counts, and it is right: the kernel is kept.
        using (no_grad())
        {
            Assert.Equal(Conv1dPath.Torch, dispatch.Choose(x, w, null, 1, 1, 1));
            Assert.True(ShiftedConv1d.Agrees(want.detach(), dispatch.Apply(x, w, null, 1, 1, 1)));
        }
        Assert.Equal(2, dispatch.ChecksRun);
        Assert.Contains("agrees", lines[1]);
    }

    /// <summary>A kernel that writes NaN into batch rows after the first (right at batch 1, as the measured fault).</summary>
    static Tensor NaNAfterTheFirstRow(Tensor x, Tensor w, Tensor? b, int d, int p, int g)
    {
        var y = F.conv1d(x, w, b, padding: p, dilation: d, groups: g);
        if (y.shape[0] == 1) return y;
        var poison = zeros_like(y);
        poison[TensorIndex.Slice(1), 0, 0] = float.NaN;
        return y + poison;
    }

    [Fact]
    public void ANaNFallsBackPerBatchClass()
    {
        var dispatch = new Conv1dDispatch(NaNAfterTheFirstRow);
        torch.manual_seed(22);
        var w = randn(8, 8, 5) * 0.2;
        using var _ = no_grad();
        Assert.Equal(Conv1dPath.Torch, dispatch.Choose(randn(1, 8, 12), w, null, 2, 4, 1));
        Assert.Equal(Conv1dPath.Shifted, dispatch.Choose(randn(3, 8, 12), w, null, 2, 4, 1));
        var x = randn(5, 8, 40);
        var y = dispatch.Apply(x, w, null, 2, 4, 1);
        Assert.True(y.isfinite().all().item<bool>());
        Assert.True(Same(y, ShiftedConv1d.Sum(x, w, 2, 4)));
        Assert.Equal(2, dispatch.ChecksRun);
        Assert.Contains(dispatch.Verdicts, v => !v.UseTorch && v.Detail.Contains("output NaN/inf", StringComparison.Ordinal));
    }

    [Fact]
    public void ForcedModesSkipTheCheckAndABadValueIsAUsageError()
    {
        Assert.Equal(Conv1dDispatch.Mode.Auto, Conv1dDispatch.ModeFrom(null));
        Assert.Equal(Conv1dDispatch.Mode.Torch, Conv1dDispatch.ModeFrom(" Torch "));
        Assert.Equal(Conv1dDispatch.Mode.Shifted, Conv1dDispatch.ModeFrom("shifted"));
        var e = Assert.Throws<DistilException>(() => Conv1dDispatch.ModeFrom("einsum"));
        Assert.Equal(ExitCodes.InvalidUsage, e.ExitCode);
        Assert.Contains(ShiftedConv1d.ModeVariable, e.Message);

        torch.manual_seed(23);
        var x = randn(3, 8, 9);
        var w = randn(8, 8, 3);
        var forcedTorch = new Conv1dDispatch(NaNAfterTheFirstRow, Conv1dDispatch.Mode.Torch);
        Assert.False(forcedTorch.Apply(x, w, null, 1, 1, 1).isfinite().all().item<bool>()); // the faulty kernel, unchecked
        var forcedShifted = new Conv1dDispatch(NaNAfterTheFirstRow, Conv1dDispatch.Mode.Shifted);
        Assert.True(Same(forcedShifted.Apply(x, w, null, 1, 1, 1), ShiftedConv1d.Sum(x, w, 1, 1)));
        Assert.Equal(0, forcedTorch.ChecksRun + forcedShifted.ChecksRun);
    }

    [Fact]
    public void TheCheckShapeFollowsTheBatchClassCappedByWork()
    {
        static Conv1dDispatch.Key Key(long channels, long k, bool batched) =>
            new(channels, channels, k, 1, (int)(k - 1) / 2, 1, false, ScalarType.Float32, "cpu", 1, true, batched);
        // AdaBERT's widest op: 32 · 64 · 128 · 128 · 7 = 2.3e8 multiply-adds, within 3e8.
        Assert.Equal((32L, 64L), Conv1dDispatch.CheckShape(Key(128, 7, batched: true)));
        Assert.Equal((1L, 64L), Conv1dDispatch.CheckShape(Key(20, 5, batched: false)));
        // 1536 channels, k 3: 7.08e6 per position. Batch 32 -> 2 (2 · 64 · 7.08e6 = 9.1e8), length 64 -> 16 (2.3e8).
        Assert.Equal((2L, 16L), Conv1dDispatch.CheckShape(Key(1536, 3, batched: true)));
        // Batch 1 stays 1; length 64 -> 32 (2.3e8).
        Assert.Equal((1L, 32L), Conv1dDispatch.CheckShape(Key(1536, 3, batched: false)));
        // A receptive field longer than 64 (k 3, dilation 40, no padding): the shortest length with an output, 81.
        Assert.Equal((32L, 81L), Conv1dDispatch.CheckShape(new(8, 8, 3, 40, 0, 1, false, ScalarType.Float32, "cpu", 1, true, true)));
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

    /// <summary>Same shape and bit-identical values.</summary>
    static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    static double Dot(Tensor a, Tensor b) => (a.to(float64) * b.to(float64)).sum().item<double>();

    /// <summary>The largest relative error over the first <paramref name="count"/> of output, input, weight, bias gradient.</summary>
    static double Worst(Tensor[] truth, Tensor?[] got, int count) =>
        Enumerable.Range(0, count)
            .Max(q => got[q] is { } c ? ShiftedConv1d.RelativeError(truth[q], c) : double.PositiveInfinity);

    /// <summary>One convolution problem in double: x (B, I, T), w (O, I/G, k), b (O) or null, output weights g (B, O, T_out).</summary>
    sealed record Case(Tensor X64, Tensor W64, Tensor? B64, Tensor G64, int Dilation, int Padding, int Groups)
    {
        public Tensor X => X64.to(float32);
        public Tensor W => W64.to(float32);
        public Tensor? B => B64?.to(float32);

        public static Case Random(int batch, int channels, int t, int k, int d, int p, int groups, bool bias)
        {
            var x = randn(batch, channels, t, dtype: float64);
            var w = randn(channels, channels / groups, k, dtype: float64) * (1.0 / Math.Sqrt(channels / groups * k));
            var b = bias ? randn(channels, dtype: float64) : null;
            var g = randn(batch, channels, t + 2 * p - (k - 1) * d, dtype: float64);
            return new Case(x, w, b, g, d, p, groups);
        }

        public Case Shifted(double e, Tensor vx, Tensor vw, Tensor? vb) =>
            this with { X64 = X64 + e * vx, W64 = W64 + e * vw, B64 = B64 is null ? null : B64 + e * vb! };

        /// <summary>Σ g·y by <see cref="Loops"/>.</summary>
        public double Loss() => Dot(Loops()[0], G64);

        /// <summary>The float32 kernel's output and, with autograd, the gradients of Σ g·y.</summary>
        public Tensor?[] Run(Conv1dKernel kernel, bool train)
        {
            using var _ = enable_grad(train);
            var x = X.requires_grad_(train);
            var w = W.requires_grad_(train);
            var b = B?.requires_grad_(train);
            var y = kernel(x, w, b, Dilation, Padding, Groups);
            if (!train) return [y.detach()];
            (y * G64.to(float32)).sum().backward();
            return [y.detach(), x.grad, w.grad, b?.grad];
        }

        /// <summary>Output, input, weight and bias gradient of Σ g·y in plain loops over doubles.</summary>
        public Tensor[] Loops()
        {
            int nb = (int)X64.shape[0], ni = (int)X64.shape[1], nt = (int)X64.shape[2], no = (int)W64.shape[0], k = (int)W64.shape[2];
            int perIn = ni / Groups, perOut = no / Groups, nto = (int)G64.shape[2];
            double[] x = X64.data<double>().ToArray(), w = W64.data<double>().ToArray(), g = G64.data<double>().ToArray();
            double[]? b = B64?.data<double>().ToArray();
            var y = new double[nb * no * nto];
            var gx = new double[x.Length];
            var gw = new double[w.Length];
            var gb = new double[no];
            for (int bb = 0; bb < nb; bb++)
                for (int o = 0; o < no; o++)
                    for (int t = 0; t < nto; t++)
                    {
                        int yi = (bb * no + o) * nto + t;
                        double sum = b?[o] ?? 0, up = g[yi];
                        gb[o] += up;
                        for (int i = 0; i < perIn; i++)
                            for (int j = 0; j < k; j++)
                            {
                                int src = t + j * Dilation - Padding;
                                if (src < 0 || src >= nt) continue;
                                int xi = (bb * ni + o / perOut * perIn + i) * nt + src, wi = (o * perIn + i) * k + j;
                                sum += w[wi] * x[xi];
                                gx[xi] += up * w[wi];
                                gw[wi] += up * x[xi];
                            }
                        y[yi] = sum;
                    }
            return [tensor(y).reshape(nb, no, nto), tensor(gx).reshape(X64.shape), tensor(gw).reshape(W64.shape), tensor(gb)];
        }
    }
}
