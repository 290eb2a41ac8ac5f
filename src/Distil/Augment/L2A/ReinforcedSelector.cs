using Distil.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Distil.Augment.L2A;

/// <summary>The selector's policy π_θ(keep | s): features (N, F) -> keep logits (N,) through one tanh hidden layer.</summary>
public sealed class SelectorPolicy : nn.Module<Tensor, Tensor>
{
    readonly Linear hidden, output;

    public SelectorPolicy(int features, int width) : base(nameof(SelectorPolicy))
    {
        hidden = nn.Linear(features, width);
        output = nn.Linear(width, 1);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return output.forward(tanh(hidden.forward(x))).squeeze(-1).MoveToOuterDisposeScope(); // (N, 1) -> (N,)
    }
}

/// <summary>
/// The reinforced selector (docs/l2a.md §Pipeline, step 4; Qu, Qiu et al. WSDM 2019): each candidate of a batch is kept or dropped by
/// an independent Bernoulli draw from π_θ(keep | s); after the caller measures the reward R of the kept set, REINFORCE
/// with a moving-average baseline b updates θ by ∇J = (R - b) Σ_i ∇ log π_θ(a_i | s_i), then b ← β b + (1 - β) R.
/// The first reward initialises b (so the first update does not chase the reward's scale). Draws use a seeded
/// System.Random and weights a seeded torch generator: deterministic under a seed.
/// </summary>
public sealed class ReinforcedSelector : IDisposable
{
    public SelectorPolicy Policy { get; }
    readonly optim.Optimizer optimizer;
    readonly Random rng;
    readonly double decay;
    public double? Baseline { get; private set; }

    public ReinforcedSelector(int features, int width, double learningRate, int seed, double baselineDecay = 0.9)
    {
        if (!(baselineDecay >= 0 && baselineDecay < 1)) throw DistilException.Usage($"baseline decay {baselineDecay} must be in [0, 1)");
        manual_seed(seed);
        Policy = new SelectorPolicy(features, width);
        optimizer = optim.Adam(Policy.parameters(), lr: learningRate);
        rng = new Random(seed);
        decay = baselineDecay;
    }

    public float[] KeepProbabilities(Tensor features)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        return F.sigmoid(Policy.forward(features)).data<float>().ToArray();
    }

    /// <summary>Samples keep (true) / drop for each row.</summary>
    public bool[] Act(Tensor features) => KeepProbabilities(features).Select(p => rng.NextDouble() < p).ToArray();

    /// <summary>One REINFORCE step for the actions taken on <paramref name="features"/>; returns the advantage R - b.
    /// A non-finite reward or loss is a skipped step (no update, the baseline unchanged) while <paramref name="budget"/>
    /// allows, else the numerical fault.</summary>
    public double Update(Tensor features, bool[] actions, double reward, NonFiniteBudget? budget = null)
    {
        budget ??= new NonFiniteBudget(0);
        const string where = "L2A selector (REINFORCE step)", advice = "lower selector_lr or reward_scale; the selector features may hold NaN/Inf";
        if (budget.Skip(reward, "reward", where, advice)) return 0;
        double advantage = reward - (Baseline ?? reward);
        Baseline = Baseline is double b ? decay * b + (1 - decay) * reward : reward;
        if (advantage == 0) return 0;
        using var scope = NewDisposeScope();
        optimizer.zero_grad();
        var a = tensor(actions.Select(k => k ? 1f : 0f).ToArray());
        // log π(a|s) = -BCE(logit, a); loss = -(R - b) Σ log π(a_i|s_i)
        var logProb = -F.binary_cross_entropy_with_logits(Policy.forward(features), a, reduction: nn.Reduction.Sum);
        var loss = -advantage * logProb;
        if (budget.Skip(loss.item<float>(), "policy loss", where, advice)) return 0;
        loss.backward();
        optimizer.step();
        return advantage;
    }

    public void Dispose()
    {
        optimizer.Dispose();
        Policy.Dispose();
    }
}
