// AdaBERT's search loss L = (1 - gamma) L_CE + gamma L_KD + beta L_E (docs/adabert.md §Loss), as functions of tensors.
using Distil.Models;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Distil.Search;

public static class SearchLosses
{
    /// <summary>Batch-mean cross-entropy of each teacher probe against the gold labels: (B, L+1, C), (B) -> (L+1).</summary>
    public static Tensor ProbeLosses(Tensor probeLogits, Tensor labels)
    {
        using var scope = NewDisposeScope();
        var logp = F.log_softmax(probeLogits.detach(), -1);                                   // (B, L+1, C)
        var index = labels.view(-1, 1, 1).expand(new long[] { -1, probeLogits.shape[1], 1 }); // (B, L+1, 1)
        return (-logp.gather(2, index).squeeze(-1)).mean(new long[] { 0 }).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Attentive hierarchical transfer weights: w_m = exp(-ℓ_{j(m)}) / Σ_m' exp(-ℓ_{j(m')}) over the levels m = 0..K,
    /// so levels mapped to teacher layers whose probes are more accurate on this batch weigh more.
    /// </summary>
    public static Tensor AttentiveWeights(Tensor probeLosses, IReadOnlyList<int> teacherLayerOfLevel)
    {
        using var scope = NewDisposeScope();
        var idx = tensor(teacherLayerOfLevel.Select(j => (long)j).ToArray(), device: probeLosses.device);
        return F.softmax(-probeLosses.index_select(0, idx), 0).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Probe-based KD: Σ_m w_m · CE(softmax(q_{j(m)}), p_m) with p_m the student's level-m head, j(m) = ceil(m·L/K),
    /// teacher probe targets at T = 1, batch mean. <paramref name="levelLogits"/>: K+1 tensors (B, C);
    /// <paramref name="probeLogits"/>: (B, L+1, C) with layer 0 the embeddings.
    /// </summary>
    public static (Tensor Loss, Tensor Weights) ProbeKd(IReadOnlyList<Tensor> levelLogits, Tensor probeLogits, Tensor labels)
    {
        using var scope = NewDisposeScope();
        int depth = levelLogits.Count - 1, teacherLayers = (int)probeLogits.shape[1] - 1;
        var map = Enumerable.Range(0, depth + 1).Select(m => SearchSpace.TeacherLayer(m, teacherLayers, depth)).ToArray();
        var w = AttentiveWeights(ProbeLosses(probeLogits, labels), map);
        Tensor loss = zeros(1, device: probeLogits.device).squeeze();
        for (int m = 0; m <= depth; m++)
        {
            var target = F.softmax(probeLogits.detach().select(1, map[m]), -1);               // (B, C)
            var ce = (-(target * F.log_softmax(levelLogits[m], -1)).sum(-1)).mean();
            loss = loss + w[m] * ce;
        }
        return (loss.MoveToOuterDisposeScope(), w.MoveToOuterDisposeScope());
    }

    /// <summary>E[K] under softmax(alpha_depth), depths 1..K_max.</summary>
    public static Tensor ExpectedDepth(Tensor alphaDepth)
    {
        using var scope = NewDisposeScope();
        var depths = arange(1, alphaDepth.shape[0] + 1, dtype: alphaDepth.dtype, device: alphaDepth.device);
        return (F.softmax(alphaDepth, 0) * depths).sum().MoveToOuterDisposeScope();
    }

    /// <summary>
    /// L_E = (E[K] / K_max) · (1/|E|) Σ_e Σ_o softmax(alpha_e)_o · c_o with c_o the normalised op cost in [0, 1]:
    /// the expected cost per edge times the expected share of the cells used, in [0, 1] whatever beta is.
    /// </summary>
    public static Tensor Efficiency(Tensor alpha, Tensor alphaDepth, IReadOnlyList<double> normalisedCosts)
    {
        using var scope = NewDisposeScope();
        var c = tensor(normalisedCosts.Select(x => (float)x).ToArray(), device: alpha.device);
        var perEdge = (F.softmax(alpha, -1) * c).sum(-1).mean();
        return (ExpectedDepth(alphaDepth) / alphaDepth.shape[0] * perEdge).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Expected batch-1 latency of the cells of a derived model in ms: E[K] · (6/9) · Σ_e E_o[t_o] (a derived cell
    /// keeps 6 of the 9 edges).
    /// </summary>
    public static Tensor ExpectedCellMs(Tensor alpha, Tensor alphaDepth, IReadOnlyList<double> opMs)
    {
        using var scope = NewDisposeScope();
        var t = tensor(opMs.Select(x => (float)x).ToArray(), device: alpha.device);
        var perCell = (F.softmax(alpha, -1) * t).sum(-1).sum() * (2.0 * SearchSpace.Nodes / SearchSpace.EdgesPerCell);
        return (ExpectedDepth(alphaDepth) * perCell).MoveToOuterDisposeScope();
    }

    /// <summary>With --latency-budget-ms, L_E is a hinge: relu(expected ms - budget) / budget (zero inside the budget).</summary>
    public static Tensor LatencyBudget(Tensor alpha, Tensor alphaDepth, IReadOnlyList<double> opMs, double budgetMs)
    {
        using var scope = NewDisposeScope();
        return (F.relu(ExpectedCellMs(alpha, alphaDepth, opMs) - budgetMs) / budgetMs).MoveToOuterDisposeScope();
    }

    /// <summary>beta at a step: 0 until the architecture starts to move, then a linear ramp to beta (collapse guard).</summary>
    public static double BetaAt(double beta, long step, long archStart, long rampSteps) =>
        step < archStart ? 0 : rampSteps <= 0 ? beta : beta * Math.Min(1.0, (double)(step - archStart + 1) / rampSteps);
}
