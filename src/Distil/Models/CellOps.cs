// The candidate operations of an AdaBERT cell edge. Every op maps (B, H, T) -> (B, H, T) ("same" padding, so any op
// can feed any node) and takes the padding mask (B, 1, T) with 1 = token: padded positions are zero on input and are
// zeroed again on output, because convolution and pooling windows would otherwise leak values across padding.
// Field names (conv, bn) are checkpoint keys of the derived model.
using System.Collections.Concurrent;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Distil.Models;

/// <summary>ReLU -> Conv1d (no bias: BN follows) -> BatchNorm1d, the DARTS order (docs/adabert.md §Search space).</summary>
public sealed class ConvOp : nn.Module<Tensor, Tensor, Tensor>
{
    public readonly Conv1d conv;
    public readonly BatchNorm1d bn;
    readonly int dilation, padding;

    public ConvOp(int hidden, int kernel, int dilation, bool affine) : base(nameof(ConvOp))
    {
        this.dilation = dilation;
        padding = (kernel - 1) * dilation / 2; // on each side: keeps the length for odd k
        // The module holds the weight (checkpoint key conv.weight); forward computes the same sum with ShiftedConv1d.
        conv = nn.Conv1d(hidden, hidden, kernel, padding: padding, dilation: dilation, bias: false);
        bn = nn.BatchNorm1d(hidden, affine: affine);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x, Tensor mask)
    {
        using var scope = NewDisposeScope();
        var y = bn.forward(ShiftedConv1d.Apply(F.relu(x), conv.weight!, dilation, padding));
        return (y * mask).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// Conv1d (stride 1, no bias) as one matrix product over shifted copies of the input: y[b,o,t] = Σ_i Σ_j
/// w[o,i,j] · x_pad[b,i,t + j·d]. The same sum as torch's conv1d, but neither the forward nor the backward pass goes
/// through the oneDNN convolution primitives, which libtorch 2.10's CPU build (oneDNN 3.7.1) picks for float32. On an
/// AVX-512 machine their jit:avx512_core kernels were measured wrong whenever the channel count is not a multiple of 16:
/// the input gradient always (garbage, often NaN), the forward output too above 16 channels; the weight gradient and the
/// float64 path were right (docs/adabert.md §Convolutions on the CPU). Matrix products and slices have no such edge case.
/// <para>
/// Inference (no autograd, float32) may use torch's conv1d, which is 1.0-1.5x faster at batch 1 and 2-7x at batch 32
/// (bench/results/conv-kernels.md), but only for a shape whose conv1d output this process has checked: the first call
/// at each (batch, channels in and out, length, kernel, dilation, padding) runs both kernels on random values and
/// keeps conv1d for that shape only if it agrees with this sum (<see cref="Agrees"/>). A wrong kernel is off by about
/// 20% or NaN, float32 rounding by about 1e-6. With autograd on, the sum is always used.
/// </para>
/// </summary>
public static class ShiftedConv1d
{
    /// <param name="x">(B, I, T).</param>
    /// <param name="weight">(O, I, k), torch's Conv1d layout.</param>
    /// <returns>(B, O, T + 2·padding − (k − 1)·dilation).</returns>
    public static Tensor Apply(Tensor x, Tensor weight, int dilation, int padding)
    {
        if (!is_grad_enabled() && x.dtype == ScalarType.Float32 && weight.dtype == ScalarType.Float32 && TorchConvVerified(x, weight, dilation, padding))
            return F.conv1d(x, weight, padding: padding, dilation: dilation);
        return Sum(x, weight, dilation, padding);
    }

    /// <summary>The shifted-copies sum, whatever autograd's state.</summary>
    public static Tensor Sum(Tensor x, Tensor weight, int dilation, int padding)
    {
        using var scope = NewDisposeScope();
        long k = weight.shape[2];
        var padded = F.pad(x, [padding, padding]);                       // (B, I, T + 2p)
        long outLength = padded.shape[2] - (k - 1) * dilation;
        var taps = stack(Enumerable.Range(0, (int)k)
            .Select(j => padded.narrow(2, j * dilation, outLength)), 2);  // (B, I, k, T_out): tap j = input shifted by j·d
        return einsum("oik,bikt->bot", weight, taps).MoveToOuterDisposeScope(); // (B, O, T_out)
    }

    static readonly ConcurrentDictionary<(long B, long I, long T, long O, long K, int D, int P), bool> verified = new();

    /// <summary>Whether torch's float32 conv1d agreed with <see cref="Sum"/> at this shape (checked once per process).</summary>
    public static bool TorchConvVerified(Tensor x, Tensor weight, int dilation, int padding)
    {
        var key = (x.shape[0], x.shape[1], x.shape[2], weight.shape[0], weight.shape[2], dilation, padding);
        if (verified.TryGetValue(key, out bool ok)) return ok;
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        using var generator = new Generator(20240607); // random values of the same shapes; the global RNG is left alone
        var px = randn(x.shape, generator: generator);
        var pw = randn(weight.shape, generator: generator) * (1.0 / Math.Sqrt(weight.shape[1] * weight.shape[2]));
        ok = Agrees(Sum(px, pw, dilation, padding), F.conv1d(px, pw, padding: padding, dilation: dilation));
        return verified.GetOrAdd(key, ok);
    }

    /// <summary>
    /// True when <paramref name="candidate"/> has the reference's shape, no NaN or infinity, and a largest absolute
    /// difference within 1e-4 of the reference's largest magnitude (float32 rounding of these sums: about 5e-7).
    /// </summary>
    public static bool Agrees(Tensor reference, Tensor candidate)
    {
        if (!reference.shape.SequenceEqual(candidate.shape)) return false;
        using var scope = NewDisposeScope();
        if (reference.numel() == 0) return true;
        if (!candidate.isfinite().all().item<bool>()) return false;
        double scale = reference.abs().max().to(float64).item<double>(), err = (candidate - reference).abs().max().to(float64).item<double>();
        return err <= 1e-4 * Math.Max(scale, 1e-30);
    }
}

/// <summary>Max or average pooling, window 3, stride 1, then BatchNorm1d. Padding never enters a window.</summary>
public sealed class PoolOp : nn.Module<Tensor, Tensor, Tensor>
{
    public readonly BatchNorm1d bn;
    readonly bool max;

    public PoolOp(int hidden, bool max, bool affine) : base(nameof(PoolOp))
    {
        this.max = max;
        bn = nn.BatchNorm1d(hidden, affine: affine);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x, Tensor mask)
    {
        using var scope = NewDisposeScope();
        Tensor pooled;
        if (max)
        {
            // Padded positions become -inf-like so they never win a window (MaxPool1d pads with -inf at the ends).
            var filled = x.masked_fill(mask.eq(0), -1e30f);
            pooled = F.max_pool1d(filled, 3, stride: 1, padding: 1);
        }
        else
        {
            // Sum over the window / tokens in the window = AvgPool1d(count_include_pad=False) that also skips padding.
            var sum = F.avg_pool1d(x, 3, stride: 1, padding: 1);
            var count = F.avg_pool1d(mask, 3, stride: 1, padding: 1);
            pooled = sum / count.clamp_min(1e-6);
        }
        var y = bn.forward(pooled * mask);
        return (y * mask).MoveToOuterDisposeScope();
    }
}

public sealed class IdentityOp : nn.Module<Tensor, Tensor, Tensor>
{
    public IdentityOp() : base(nameof(IdentityOp)) { }
    public override Tensor forward(Tensor x, Tensor mask) => x.alias();
}

public sealed class ZeroOp : nn.Module<Tensor, Tensor, Tensor>
{
    public ZeroOp() : base(nameof(ZeroOp)) { }
    public override Tensor forward(Tensor x, Tensor mask) => zeros_like(x);
}

public static class CellOps
{
    /// <param name="affine">BatchNorm scale and shift: off during search (DARTS), on in the derived model.</param>
    public static nn.Module<Tensor, Tensor, Tensor> Create(string op, int hidden, bool affine) => op switch
    {
        _ when SearchSpace.Conv(op) is { } c => new ConvOp(hidden, c.Kernel, c.Dilation, affine),
        "max_pool3" => new PoolOp(hidden, max: true, affine),
        "avg_pool3" => new PoolOp(hidden, max: false, affine),
        "identity" => new IdentityOp(),
        "zero" => new ZeroOp(),
        _ => throw DistilException.BadInput($"operation '{op}' is not in the AdaBERT search space ({string.Join(", ", SearchSpace.Ops)})"),
    };
}
