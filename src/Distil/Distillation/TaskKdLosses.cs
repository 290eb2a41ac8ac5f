using Distil.Models;
using Distil.Training;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Distil.Distillation;

/// <summary>
/// The logits and gold-label matches of a token, regression or multi-label model (docs/tasks.md §Distillation); the
/// presets' matches are unchanged, only what "logits" and "labels" mean follows the head. No T² factor here: as in
/// <see cref="KdLosses"/>, the presets put it in the match weight.
/// <list type="bullet">
/// <item>token: soft cross-entropy (soft_ce) or KL (kl) of softmax(logits/T) per token, averaged over the real (non-pad)
/// tokens of the attention mask; gold labels: cross-entropy over the positions whose label is not -100;</item>
/// <item>regression: MSE between the student's and the teacher's score (T is not used); gold: MSE to the label;</item>
/// <item>multi-label: per-label sigmoid KD, BCE of sigmoid(s/T) against sigmoid(t/T) averaged over examples and
/// labels (kl: minus the teacher's binary entropy, the same gradient); gold: BCE with logits.</item>
/// </list>
/// </summary>
public static class TaskKdLosses
{
    public static Tensor Compute(TaskKind task, IntermediateMatch m, Tensor student, Tensor teacherOrLabels, Tensor attentionMask)
    {
        if (m.Feature == MatchFeatures.Labels) return TaskHeads.Loss(task, student, teacherOrLabels);
        double temperature = m.Temperature ?? 1.0;
        bool kl = m.Loss == MatchLosses.Kl;
        return task switch
        {
            TaskKind.Token => kl ? KdLosses.TokenKlDivergence(student, teacherOrLabels, attentionMask, temperature)
                : TokenSoftCrossEntropy(student, teacherOrLabels, attentionMask, temperature),
            TaskKind.Regression => ScoreMse(student, teacherOrLabels),
            TaskKind.MultiLabel => SigmoidKd(student, teacherOrLabels, temperature, kl),
            _ => throw new ArgumentException("sequence classifiers use the registry's own logits losses", nameof(task)),
        };
    }

    /// <summary>-Σ_c softmax(t/T)_c · log_softmax(s/T)_c per token (B, T, C), averaged over the tokens where <paramref name="tokenMask"/> (B, T) is 1.</summary>
    public static Tensor TokenSoftCrossEntropy(Tensor studentLogits, Tensor teacherLogits, Tensor tokenMask, double temperature)
    {
        using var scope = NewDisposeScope();
        var p = F.softmax(teacherLogits.detach() / temperature, -1);
        var perToken = -(p * F.log_softmax(studentLogits / temperature, -1)).sum(-1); // (B, T)
        var mask = tokenMask.to(perToken.dtype);
        return perToken.mul(mask).sum().div(mask.sum().clamp_min(1)).MoveToOuterDisposeScope();
    }

    /// <summary>Mean of (s - t)² over the batch's scores (B, 1).</summary>
    public static Tensor ScoreMse(Tensor studentScores, Tensor teacherScores) => F.mse_loss(studentScores, teacherScores.detach());

    /// <summary>Mean over (B, C) of BCE(sigmoid(s/T), sigmoid(t/T)); with <paramref name="kl"/> minus the teacher's binary entropy.</summary>
    public static Tensor SigmoidKd(Tensor studentLogits, Tensor teacherLogits, double temperature, bool kl = false)
    {
        using var scope = NewDisposeScope();
        var p = F.sigmoid(teacherLogits.detach() / temperature);
        var bce = F.binary_cross_entropy_with_logits(studentLogits / temperature, p);
        if (kl)
        {
            var q = p.clamp(1e-12, 1 - 1e-12);
            bce = bce + (q * q.log() + (1 - q) * (1 - q).log()).mean();
        }
        return bce.MoveToOuterDisposeScope();
    }
}
