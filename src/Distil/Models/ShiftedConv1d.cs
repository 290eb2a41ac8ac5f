// Conv1d (stride 1) for the AdaBERT cells and DeBERTa-v2's conv branch: torch's conv1d where a one-time check in this
// process shows it right for the layer's configuration, otherwise the same sum as a matrix product over shifted copies
// of the input. docs/adabert.md §Convolutions on the CPU says why (a oneDNN fault on AVX-512) and what it costs.
using System.Collections.Concurrent;
using System.Globalization;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Distil.Models;

/// <summary>Which kernel computes a convolution.</summary>
public enum Conv1dPath { Torch, Shifted }

/// <summary>A conv1d kernel with torch's signature (stride 1): x (B, I, T), weight (O, I / groups, k), bias (O) or null.</summary>
public delegate Tensor Conv1dKernel(Tensor x, Tensor weight, Tensor? bias, int dilation, int padding, int groups);

/// <summary>
/// Conv1d (stride 1) that never trusts libtorch's float32 CPU kernels blindly. libtorch 2.10's CPU build sends float32
/// convolutions to oneDNN 3.7.1, whose jit:avx512_core kernels were measured wrong on an AVX-512 EPYC whenever the
/// channel count is not a multiple of 16 and the batch is above 1: the input gradient always (garbage, often NaN), the
/// output too above 16 channels; batch 1, the weight gradient and float64 were right (docs/adabert.md §Convolutions on
/// the CPU). <see cref="Sum"/> computes the same sum with matrix products and slices, which have no such edge case, but
/// it is 2-3x slower in training at batch 32 (bench/results/conv-kernels.md).
/// <para>
/// <see cref="Apply(Tensor, Tensor, Tensor?, int, int, int)"/> therefore runs torch's conv1d for a configuration only
/// once <see cref="Default"/> (a <see cref="Conv1dDispatch"/>) has checked it in this process, and the sum otherwise.
/// <see cref="ModeVariable"/> forces either path, <see cref="VerboseVariable"/> prints every verdict.
/// </para>
/// </summary>
public static class ShiftedConv1d
{
    /// <summary>DISTIL_CONV1D: <c>auto</c> (default: the checked dispatch), <c>torch</c> (always torch's conv1d, to see
    /// the fault) or <c>shifted</c> (always the shifted sum, the behaviour before the training check).</summary>
    public const string ModeVariable = "DISTIL_CONV1D";

    /// <summary>DISTIL_CONV1D_VERBOSE=1: one line on stderr per checked configuration, with the errors it measured.</summary>
    public const string VerboseVariable = "DISTIL_CONV1D_VERBOSE";

    static readonly Lazy<Conv1dDispatch> defaultDispatch = new(() => new Conv1dDispatch(TorchKernel, Conv1dDispatch.ModeFrom(Environment.GetEnvironmentVariable(ModeVariable)),
        Environment.GetEnvironmentVariable(VerboseVariable) is "1" or "true" ? line => Console.Error.WriteLine(line) : null));

    static volatile Conv1dDispatch? replaced;

    /// <summary>The process-wide dispatch, torch's conv1d as the candidate, mode and log from the environment (or the
    /// one <see cref="Replace"/> put in place).</summary>
    public static Conv1dDispatch Default => replaced ?? defaultDispatch.Value;

    /// <summary>Puts <paramref name="dispatch"/> in place of <see cref="Default"/> until the result is disposed (the
    /// bench compares forced modes in one process this way).</summary>
    public static IDisposable Replace(Conv1dDispatch dispatch)
    {
        var before = replaced;
        replaced = dispatch;
        return new Restore(() => replaced = before);
    }

    sealed class Restore(Action undo) : IDisposable
    {
        public void Dispose() => undo();
    }

    /// <summary>torch's conv1d, stride 1.</summary>
    public static Tensor TorchKernel(Tensor x, Tensor weight, Tensor? bias, int dilation, int padding, int groups) =>
        F.conv1d(x, weight, bias, padding: padding, dilation: dilation, groups: groups);

    /// <summary>The convolution by the verified kernel (<see cref="Default"/>); no bias, one group.</summary>
    public static Tensor Apply(Tensor x, Tensor weight, int dilation, int padding) => Default.Apply(x, weight, null, dilation, padding, 1);

    /// <summary>The convolution by the verified kernel (<see cref="Default"/>).</summary>
    public static Tensor Apply(Tensor x, Tensor weight, Tensor? bias, int dilation, int padding, int groups) =>
        Default.Apply(x, weight, bias, dilation, padding, groups);

    /// <summary>The shifted-copies sum, no bias, one group.</summary>
    public static Tensor Sum(Tensor x, Tensor weight, int dilation, int padding) => Sum(x, weight, null, dilation, padding, 1);

    /// <summary>
    /// y[b,o,t] = bias[o] + Σ_i Σ_j w[o,i,j] · x_pad[b, g(o)·I/G + i, t + j·d], i over the I/G input channels of o's
    /// group: one einsum over the k shifted copies of the padded input, whatever autograd's state.
    /// </summary>
    /// <param name="x">(B, I, T).</param>
    /// <param name="weight">(O, I / groups, k), torch's Conv1d layout.</param>
    /// <param name="bias">(O) or null.</param>
    /// <returns>(B, O, T + 2·padding − (k − 1)·dilation).</returns>
    public static Tensor Sum(Tensor x, Tensor weight, Tensor? bias, int dilation, int padding, int groups)
    {
        long k = weight.shape[2], b = x.shape[0], o = weight.shape[0], perGroup = weight.shape[1];
        if (groups < 1 || x.shape[1] != perGroup * groups || o % groups != 0)
            throw new ArgumentException($"conv1d: input (B, {x.shape[1]}, T) and weight ({o}, {perGroup}, {k}) do not fit {groups} group(s)");
        using var scope = NewDisposeScope();
        var padded = F.pad(x, [padding, padding]);                       // (B, I, T + 2p)
        long outLength = padded.shape[2] - (k - 1) * dilation;
        var taps = stack(Enumerable.Range(0, (int)k)
            .Select(j => padded.narrow(2, j * dilation, outLength)), 2);  // (B, I, k, T_out): tap j = input shifted by j·d
        var y = groups == 1
            ? einsum("oik,bikt->bot", weight, taps)                       // (B, O, T_out)
            : einsum("goik,bgikt->bgot",
                weight.reshape(groups, o / groups, perGroup, k),           // (O, I/G, k) -> (G, O/G, I/G, k)
                taps.reshape(b, groups, perGroup, k, outLength))           // (B, I, k, T_out) -> (B, G, I/G, k, T_out)
              .reshape(b, o, outLength);                                   // (B, G, O/G, T_out) -> (B, O, T_out)
        if (bias is not null) y = y + bias.reshape(1, o, 1);               // (O) -> (1, O, 1)
        return y.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// max |candidate − reference| / max |reference|: 0 for two empty tensors, +∞ for another shape or a NaN or
    /// infinity in the candidate.
    /// </summary>
    public static double RelativeError(Tensor reference, Tensor candidate)
    {
        if (!reference.shape.SequenceEqual(candidate.shape)) return double.PositiveInfinity;
        if (reference.numel() == 0) return 0;
        using var scope = NewDisposeScope();
        var r = reference.to(float64).cpu();
        var c = candidate.detach().to(float64).cpu();
        if (!c.isfinite().all().item<bool>()) return double.PositiveInfinity;
        double scale = r.abs().max().item<double>(), err = (c - r).abs().max().item<double>();
        return err / Math.Max(scale, 1e-30);
    }

    /// <summary>
    /// True when <paramref name="candidate"/> has the reference's shape, no NaN or infinity, and a largest absolute
    /// difference within 1e-4 of the reference's largest magnitude. Float32 rounding of these sums is about 5e-7; the
    /// faulty kernels were 15-100% off or NaN.
    /// </summary>
    public static bool Agrees(Tensor reference, Tensor candidate) => RelativeError(reference, candidate) <= Conv1dDispatch.Tolerance;
}

/// <summary>
/// Picks torch's conv1d or <see cref="ShiftedConv1d.Sum"/> per layer configuration. The first call at a configuration
/// runs the candidate kernel (torch's conv1d in <see cref="ShiftedConv1d.Default"/>) on random values of that layout,
/// <see cref="Rounds"/> times with fresh values, and compares its output and, when autograd is recording the call, the
/// gradients of input, weight and bias against <see cref="ShiftedConv1d.Sum"/> in float64. The candidate is kept for
/// that configuration only if every quantity agrees within <see cref="Tolerance"/> in every round; otherwise the
/// configuration falls back to the sum for the rest of the process, with one line to the log.
/// <para>
/// The configuration (<see cref="Key"/>): channels in and out, kernel, dilation, padding, groups, bias, dtype, device,
/// torch's thread count, whether gradients are recorded, and whether the batch is above 1. The fault measured depends on
/// the channels and on batch 1 against batch > 1 (batches 2, 3, 4 and 32 and lengths 7-64 gave the same verdict), so the
/// batch enters only as that class and the length not at all: a training run whose batches differ in padded length
/// pays for one check per layer configuration, not one per shape. The check's shape follows from the configuration
/// alone (<see cref="CheckShape"/>: batch 32 or 1, length 64, smaller for a wide layer). The rounds are there because
/// the fault can hide: with 2 threads, 8 channels, kernel 7 and dilation 2 it showed in 30-60% of the draws at batch 2
/// and 4, though in all at batch 32 (bench/results/conv-survey.md). A configuration that passes is likely, not
/// provably, right.
/// </para>
/// </summary>
public sealed class Conv1dDispatch
{
    /// <summary>Largest relative error a kept kernel may show (<see cref="ShiftedConv1d.RelativeError"/>).</summary>
    public const double Tolerance = 1e-4;

    /// <summary>Draws of random values per check; all must agree.</summary>
    public const int Rounds = 3;

    /// <summary>The check's batch (for the batch-above-1 class) and length, before <see cref="MaxCheckMacs"/> (<see cref="CheckShape"/>).</summary>
    public const int CheckBatch = 32, CheckLength = 64;

    /// <summary>Most multiply-adds of one check round's convolution (AdaBERT's widest op, 128 channels, kernel 7, at
    /// batch 32 and length 64: 2.3e8, within it).</summary>
    public const double MaxCheckMacs = 3e8;

    public enum Mode { Auto, Torch, Shifted }

    /// <summary>What a verdict is cached under.</summary>
    public readonly record struct Key(long In, long Out, long Kernel, int Dilation, int Padding, int Groups, bool Bias,
        ScalarType Dtype, string Device, int Threads, bool Gradients, bool Batched)
    {
        public override string ToString() => string.Create(CultureInfo.InvariantCulture,
            $"conv1d {In}->{Out} k{Kernel} d{Dilation} p{Padding} g{Groups}{(Bias ? " bias" : "")} {Dtype} {Device} {Threads} thread(s) {(Gradients ? "train" : "no-grad")} batch {(Batched ? "> 1" : "1")}");
    }

    /// <param name="UseTorch">The candidate kernel agreed in every round.</param>
    /// <param name="Detail">The largest relative errors measured (output, input/weight/bias gradient), or the reason.</param>
    public sealed record Verdict(Key Key, bool UseTorch, string Detail, long CheckedBatch, long CheckedLength);

    readonly Conv1dKernel candidate;
    readonly Action<string>? log;
    readonly ConcurrentDictionary<Key, Verdict> verdicts = new();
    readonly Lock gate = new();
    int checksRun;

    /// <param name="candidate">The kernel to check and use where it agrees (torch's conv1d; tests inject faulty ones).</param>
    /// <param name="mode">Auto: the check decides; Torch / Shifted: always that path, no check.</param>
    /// <param name="log">Receives one line per check (the verdict and the errors), e.g. stderr under DISTIL_CONV1D_VERBOSE=1.</param>
    public Conv1dDispatch(Conv1dKernel candidate, Mode mode = Mode.Auto, Action<string>? log = null)
    {
        this.candidate = candidate;
        this.log = log;
        ForcedMode = mode;
    }

    public Mode ForcedMode { get; }

    /// <summary>How many checks ran (one per configuration).</summary>
    public int ChecksRun => Volatile.Read(ref checksRun);

    /// <summary>Every verdict so far.</summary>
    public IReadOnlyCollection<Verdict> Verdicts => verdicts.Values.ToArray();

    /// <summary>Parses DISTIL_CONV1D (null or empty: auto).</summary>
    public static Mode ModeFrom(string? value) => value?.Trim().ToLowerInvariant() switch
    {
        null or "" or "auto" => Mode.Auto,
        "torch" => Mode.Torch,
        "shifted" => Mode.Shifted,
        _ => throw DistilException.Usage($"{ShiftedConv1d.ModeVariable}='{value}' is not one of auto, torch, shifted: unset it, or pick one"),
    };

    /// <summary>The convolution by the path <see cref="Choose"/> picks.</summary>
    public Tensor Apply(Tensor x, Tensor weight, Tensor? bias, int dilation, int padding, int groups) =>
        Choose(x, weight, bias, dilation, padding, groups) == Conv1dPath.Torch
            ? candidate(x, weight, bias, dilation, padding, groups)
            : ShiftedConv1d.Sum(x, weight, bias, dilation, padding, groups);

    /// <summary>The path for this call: the forced one, else the shifted sum for dtypes other than float32 and float64,
    /// else the cached or freshly checked verdict of this call's configuration.</summary>
    public Conv1dPath Choose(Tensor x, Tensor weight, Tensor? bias, int dilation, int padding, int groups)
    {
        if (ForcedMode == Mode.Torch) return Conv1dPath.Torch;
        if (ForcedMode == Mode.Shifted) return Conv1dPath.Shifted;
        if (x.dtype is not (ScalarType.Float32 or ScalarType.Float64) || weight.dtype != x.dtype) return Conv1dPath.Shifted;
        return Verify(x, weight, bias, dilation, padding, groups).UseTorch ? Conv1dPath.Torch : Conv1dPath.Shifted;
    }

    /// <summary>The configuration of a call.</summary>
    public static Key KeyOf(Tensor x, Tensor weight, Tensor? bias, int dilation, int padding, int groups) => new(
        x.shape[1], weight.shape[0], weight.shape[2], dilation, padding, groups, bias is not null, x.dtype, x.device.ToString(),
        get_num_threads(), is_grad_enabled() && (x.requires_grad || weight.requires_grad || bias?.requires_grad == true), x.shape[0] > 1);

    /// <summary>The cached verdict of this call's configuration, checked now if it is new.</summary>
    public Verdict Verify(Tensor x, Tensor weight, Tensor? bias, int dilation, int padding, int groups)
    {
        var key = KeyOf(x, weight, bias, dilation, padding, groups);
        if (verdicts.TryGetValue(key, out var verdict)) return verdict;
        lock (gate)
        {
            if (verdicts.TryGetValue(key, out verdict)) return verdict;
            var (batch, length) = CheckShape(key);
            verdict = Check(key, batch, length);
            verdicts[key] = verdict;
        }
        log?.Invoke($"{key}: {(verdict.UseTorch ? "torch's conv1d agrees" : "torch's conv1d DISAGREES, using the shifted sum")} " +
            $"(batch {verdict.CheckedBatch}, length {verdict.CheckedLength}, {Rounds} rounds; {verdict.Detail})");
        return verdict;
    }

    /// <summary>
    /// The check's batch and length, a function of the configuration alone (so no verdict depends on which call came
    /// first): batch <see cref="CheckBatch"/> for the batch-above-1 class (the fault showed in every draw at batch 32,
    /// in 30-60% at batch 2 with 2 threads, bench/results/conv-survey.md) or 1, length <see cref="CheckLength"/>
    /// (or the shortest with an output); then halved (the batch first, never below 2 for the batched class, the length
    /// never below 16) while one round would exceed <see cref="MaxCheckMacs"/> multiply-adds: a wide layer (DeBERTa-v2
    /// xlarge's 1536 channels) would otherwise spend seconds on the float64 reference.
    /// </summary>
    public static (long Batch, long Length) CheckShape(Key key)
    {
        long minLength = Math.Max(1, (key.Kernel - 1) * key.Dilation - 2 * key.Padding + 1); // shortest input with an output
        long batch = key.Batched ? CheckBatch : 1, length = Math.Max(CheckLength, minLength);
        long minBatch = key.Batched ? 2 : 1, floorLength = Math.Max(16, minLength);
        double perPosition = (double)key.Out * (key.In / key.Groups) * key.Kernel;
        while (batch * length * perPosition > MaxCheckMacs && batch > minBatch) batch = Math.Max(minBatch, batch / 2);
        while (batch * length * perPosition > MaxCheckMacs && length > floorLength) length = Math.Max(floorLength, length / 2);
        return (batch, length);
    }

    Verdict Check(Key key, long batch, long length)
    {
        Interlocked.Increment(ref checksRun);
        using var scope = NewDisposeScope();
        using var grad = enable_grad(key.Gradients);
        var device = new Device(key.Device);
        using var generator = new Generator(20240607); // random values on the CPU; the global RNG is left alone
        long perGroup = key.In / key.Groups, k = key.Kernel;
        var worst = new double[4];
        string[] names = ["output", "input grad", "weight grad", "bias grad"];
        for (int round = 0; round < Rounds; round++)
        {
            var x = randn([batch, key.In, length], float64, generator: generator);
            var w = randn([key.Out, perGroup, k], float64, generator: generator) * (1.0 / Math.Sqrt(perGroup * k));
            var b = key.Bias ? randn([key.Out], float64, generator: generator) : null;
            long outLength = length + 2 * key.Padding - (k - 1) * key.Dilation;
            var g = randn([batch, key.Out, outLength], float64, generator: generator);

            Tensor?[] Run(Conv1dKernel kernel, ScalarType dtype, Device on)
            {
                // Copies: the two runs must not share leaves (to() returns x itself for float64 on the CPU).
                var xl = x.to(dtype, on).clone().requires_grad_(key.Gradients);
                var wl = w.to(dtype, on).clone().requires_grad_(key.Gradients);
                var bl = b?.to(dtype, on).clone().requires_grad_(key.Gradients);
                var y = kernel(xl, wl, bl, key.Dilation, key.Padding, key.Groups);
                if (!key.Gradients) return [y];
                (y * g.to(dtype, on)).sum().backward();
                return [y, xl.grad, wl.grad, bl?.grad];
            }

            var want = Run(ShiftedConv1d.Sum, float64, CPU);
            var got = Run(candidate, key.Dtype, device);
            for (int q = 0; q < want.Length; q++)
            {
                if (want[q] is null) continue;
                double err = got[q] is { } c ? ShiftedConv1d.RelativeError(want[q]!, c) : double.PositiveInfinity;
                worst[q] = Math.Max(worst[q], double.IsNaN(err) ? double.PositiveInfinity : err);
            }
            if (worst.Any(e => e > Tolerance))
                return new Verdict(key, false, Describe(worst, names, key) + $"; failed in round {round + 1}", batch, length);
        }
        return new Verdict(key, true, Describe(worst, names, key), batch, length);
    }

    static string Describe(double[] worst, string[] names, Key key) => string.Join(", ", names
        .Select((n, q) => (n, q))
        .Where(p => p.q == 0 || (key.Gradients && (p.q < 3 || key.Bias)))
        .Select(p => double.IsPositiveInfinity(worst[p.q]) ? $"{p.n} NaN/inf" : string.Create(CultureInfo.InvariantCulture, $"{p.n} {worst[p.q]:0.0e+0}")));
}
