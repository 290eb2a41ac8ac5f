using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Distil.Search;

/// <summary>
/// Hard Gumbel-softmax with straight-through gradients (docs/adabert.md §Gumbel sampling, written out rather than taken from a library):
/// soft = softmax((log_softmax(alpha) + g) / tau), g = -log(-log(U + 1e-8) + 1e-8); hard = onehot(argmax soft) - soft.detach() + soft.
/// The forward value is exactly one-hot (one op per edge runs); the backward pass sees d soft / d alpha.
/// </summary>
public static class GumbelSoftmax
{
    /// <summary>One sample per row of <paramref name="logits"/> (..., n): the straight-through one-hot and the argmax indices.</summary>
    public static (Tensor Hard, long[] Index) Sample(Tensor logits, double tau)
    {
        if (tau <= 0) throw new ArgumentOutOfRangeException(nameof(tau), "temperature must be positive");
        using var scope = NewDisposeScope();
        var u = rand_like(logits);
        var g = -(-(u + 1e-8).log() + 1e-8).log();
        var soft = F.softmax((F.log_softmax(logits, -1) + g) / tau, -1);
        var index = soft.argmax(-1);
        var oneHot = F.one_hot(index, logits.shape[^1]).to(logits.dtype);
        var hard = oneHot - soft.detach() + soft;
        return (hard.MoveToOuterDisposeScope(), index.reshape(-1).data<long>().ToArray());
    }

    /// <summary>The noiseless choice (evaluation and derivation): one-hot of argmax alpha, no gradient.</summary>
    public static (Tensor Hard, long[] Index) Argmax(Tensor logits)
    {
        using var scope = NewDisposeScope();
        var index = logits.detach().argmax(-1);
        var oneHot = F.one_hot(index, logits.shape[^1]).to(logits.dtype);
        return (oneHot.MoveToOuterDisposeScope(), index.reshape(-1).data<long>().ToArray());
    }
}

/// <summary>Temperature annealed geometrically from <see cref="Start"/> to <see cref="End"/> over the search, then held.</summary>
public sealed record TemperatureSchedule(double Start, double End)
{
    public double At(long step, long totalSteps) =>
        totalSteps <= 1 ? End : Start * Math.Pow(End / Start, Math.Min(1.0, (double)step / (totalSteps - 1)));
}
