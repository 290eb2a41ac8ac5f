using Distil.Data;
using Distil.Models;
using Distil.Training;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Distil.Search;

/// <summary>
/// The AdaBERT search loss for the one Trainer: the weight step on one Gumbel sample (the Trainer's optimiser), then,
/// after the weight warm-up, the architecture step on a fresh sample of the same batch with w frozen (docs/adabert.md
/// §Optimisation). The temperature tau and the efficiency weight beta follow the step (schedules over the whole search).
/// </summary>
sealed class ArchSearchObjective(SuperNet net, SearchOptions o, ProbeTargets targets, OpCosts costs, Parameter[] weights,
    OptimizerHelper archOptimizer, Device device) : IObjective<Batch>, IStepAware, ISecondUpdate<Batch>
{
    readonly TemperatureSchedule schedule = new(o.TauStart, o.TauEnd);
    double tau, beta;
    bool archActive;
    BertInputs? inputs;
    Tensor? labels, probes;
    SampledArch? weightSample;

    /// <summary>The first step at which alpha is updated (and the argmax architecture worth evaluating).</summary>
    public long ArchStart(long totalSteps) => (long)Math.Ceiling(o.ArchWarmupRatio * totalSteps);

    public void BeginStep(TrainerState state)
    {
        long archStart = ArchStart(state.TotalSteps);
        long betaRamp = (long)Math.Ceiling(o.BetaWarmupRatio * state.TotalSteps);
        tau = schedule.At(state.GlobalStep, state.TotalSteps);
        beta = SearchLosses.BetaAt(o.Beta, state.GlobalStep, archStart, betaRamp);
        archActive = state.GlobalStep >= archStart;
    }

    public LossResult Compute(Batch b)
    {
        inputs = Classifier.Inputs(b, device);
        labels = b.Labels.to(device);
        probes = targets.ProbeLogits.index_select(0, tensor(b.Indices.Select(i => (long)i).ToArray())).to(device);
        weightSample = net.Sample(tau);
        var (loss, terms) = Loss(inputs, labels, probes, weightSample, beta);
        terms["tau"] = tau;
        terms["beta"] = beta;
        terms["depth"] = weightSample.Depth;
        return new LossResult(loss, terms);
    }

    public int BatchSize(Batch b) => b.Size;

    public (string What, double Value)? AfterStep(Batch b, TrainerState state)
    {
        weightSample?.Dispose();
        weightSample = null;
        if (!archActive) return null;
        var arch = net.ArchParameters.ToArray();
        foreach (var p in weights) p.requires_grad = false; // no weight gradients in the architecture step
        try
        {
            using var archSample = net.Sample(tau);
            var (archLoss, _) = Loss(inputs!, labels!, probes!, archSample, beta);
            double archValue = archLoss.item<float>();
            if (!double.IsFinite(archValue)) return ("architecture loss", archValue);
            archOptimizer.zero_grad();
            archLoss.backward();
            double archNorm = nn.utils.clip_grad_norm_(arch, 5.0);
            if (!double.IsFinite(archNorm))
            {
                archOptimizer.zero_grad();
                return ("architecture gradient norm", archNorm);
            }
            archOptimizer.step();
            return null;
        }
        finally
        {
            foreach (var p in weights) p.requires_grad = true;
        }
    }

    /// <summary>L = z_K [(1 - gamma) CE_K + gamma L_KD] + beta L_E for a sampled depth K (z_K carries alpha_depth's gradient).</summary>
    (Tensor Loss, Dictionary<string, double> Terms) Loss(BertInputs x, Tensor y, Tensor probeLogits, SampledArch arch, double weight)
    {
        var levels = net.forward(x, arch, runEveryOp: o.Estimator == "all");
        var z = arch.DepthWeights[arch.Depth - 1];
        var ce = F.cross_entropy(levels[arch.Depth], y);
        var (kd, _) = SearchLosses.ProbeKd(levels, probeLogits, y);
        var efficiency = o.LatencyBudgetMs is double budget
            ? SearchLosses.LatencyBudget(net.alpha, net.alpha_depth, costs.Milliseconds, budget)
            : SearchLosses.Efficiency(net.alpha, net.alpha_depth, costs.Normalised(o.CostNormalisation));
        var loss = z * ((1 - o.Gamma) * ce + o.Gamma * kd) + weight * efficiency;
        return (loss, new Dictionary<string, double>
        {
            ["ce"] = ce.item<float>(), ["kd"] = kd.item<float>(), ["efficiency"] = efficiency.item<float>(),
        });
    }
}
