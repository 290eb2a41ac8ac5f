using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Distil.Augment.L2A;

/// <summary>
/// The adversarial part: a small MLP that tells target examples (label 1) from generated ones (label 0) on the
/// teacher's mean-pooled sentence vectors (frozen, so the discriminator is cheap and sees what the teacher sees).
/// Inputs are standardised with the statistics of the data it was fitted on. Its score P(target | x) is a selector
/// feature, and the generators are steered against it (L2aPipeline keeps, per generator, the samples it finds most
/// target-like first). Full-batch Adam on a class-balanced binary cross-entropy; deterministic under a seed.
/// </summary>
public sealed class DomainDiscriminator : nn.Module<Tensor, Tensor>
{
    readonly Linear hidden, output;
    Tensor mean, std;

    public DomainDiscriminator(int features, int width, int seed) : base(nameof(DomainDiscriminator))
    {
        manual_seed(seed);
        hidden = nn.Linear(features, width);
        output = nn.Linear(width, 1);
        mean = zeros(features);
        std = ones(features);
        RegisterComponents();
    }

    /// <summary>(N, F) raw features -> (N,) logits of "target".</summary>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var z = (x - mean) / std;
        return output.forward(F.relu(hidden.forward(z))).squeeze(-1).MoveToOuterDisposeScope(); // (N, 1) -> (N,)
    }

    /// <summary>Fits on target (N_t, F) vs generated (N_g, F); returns the loss of every step.</summary>
    public double[] Fit(Tensor target, Tensor generated, int steps, double lr)
    {
        if (target.shape[0] == 0 || generated.shape[0] == 0)
            throw DistilException.Usage("the discriminator needs target and generated examples; got an empty side (raise data_portion or the generator counts)");
        var x = cat(new[] { target, generated }, 0).to(float32).detach();
        mean.Dispose(); std.Dispose();
        mean = x.mean(new long[] { 0 }).detach();
        std = x.std(0).clamp_min(1e-6).detach();
        var y = cat(new[] { ones(target.shape[0]), zeros(generated.shape[0]) }, 0);
        // Each side weighs half: a small target set is not drowned by many generated samples.
        var w = cat(new[] { full(target.shape[0], 0.5 / target.shape[0]), full(generated.shape[0], 0.5 / generated.shape[0]) }, 0);
        using var opt = optim.Adam(parameters(), lr: lr);
        var losses = new double[steps];
        train();
        for (int s = 0; s < steps; s++)
        {
            using var scope = NewDisposeScope();
            opt.zero_grad();
            var loss = (F.binary_cross_entropy_with_logits(forward(x), y, reduction: nn.Reduction.None) * w).sum();
            losses[s] = Training.NonFinite.Check(loss.item<float>(), "loss", $"domain discriminator training (step {s + 1})",
                "the pooled features hold NaN/Inf (check the teacher folder and the data)");
            loss.backward();
            opt.step();
        }
        eval();
        return losses;
    }

    /// <summary>P(target | x) for each row of (N, F).</summary>
    public float[] Score(Tensor x)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        return F.sigmoid(forward(x.to(float32))).data<float>().ToArray();
    }
}
