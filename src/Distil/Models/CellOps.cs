// The candidate operations of an AdaBERT cell edge. Every op maps (B, H, T) -> (B, H, T) ("same" padding, so any op
// can feed any node) and takes the padding mask (B, 1, T) with 1 = token: padded positions are zero on input and are
// zeroed again on output, because convolution and pooling windows would otherwise leak values across padding.
// Field names (conv, bn) are checkpoint keys of the derived model.
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
        // The module holds the weight (checkpoint key conv.weight); forward runs ShiftedConv1d.Apply: torch's conv1d where a
        // check in this process found it right for this configuration, else the same sum as shifted copies.
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
