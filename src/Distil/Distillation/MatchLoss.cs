using Distil.Models;
using static TorchSharp.torch;

namespace Distil.Distillation;

/// <summary>Weighted total (a scalar with grad to the student and projections) and each unweighted term for logs.</summary>
public sealed record MatchLossResult(Tensor Total, IReadOnlyDictionary<string, double> Terms) : IDisposable
{
    public void Dispose() => Total.Dispose();
}

/// <summary>
/// Evaluates a list of validated matches on one batch: total = Σ weight_i · loss_i. With per-example weights w (B,)
/// (Meta-KD's domain-expertise λ), loss_i = mean_b w_b · loss_i(b): each example's loss is weighted before the batch
/// mean (a weight applied after averaging would only rescale the batch loss).
/// </summary>
public static class MatchLoss
{
    /// <summary>
    /// <paramref name="teacher"/> should come from a forward under no_grad; its tensors are detached here anyway
    /// and teacher-side query/key/value recomputation runs under no_grad, so no gradient can reach the teacher.
    /// <paramref name="labels"/> (int64 (B,)) is needed only by a <c>labels hard_ce</c> match.
    /// </summary>
    public static MatchLossResult Compute(IReadOnlyList<IntermediateMatch> matches, DistillSide student, DistillSide teacher,
        Tensor attentionMask, Tensor? labels = null, Projections? projections = null, Tensor? exampleWeights = null, TaskKind task = TaskKind.Sequence)
    {
        if (exampleWeights is not null && (exampleWeights.dim() != 1 || exampleWeights.shape[0] != attentionMask.shape[0]))
            throw DistilException.Usage($"example weights must be one per example, shape ({attentionMask.shape[0]}), got ({string.Join(", ", exampleWeights.shape)})");
        using var scope = NewDisposeScope();
        var terms = new Dictionary<string, double>(StringComparer.Ordinal);
        Tensor? total = null;
        for (int i = 0; i < matches.Count; i++)
        {
            var m = matches[i];
            var kind = MatchRegistry.Get(m, i);
            var s = kind.Extract(student, m.StudentLayer);
            if (m.Projection is not null)
            {
                if (projections is null) throw DistilException.Usage($"{MatchRegistry.Describe(m, i)} declares a projection: pass Projections");
                s = s.Select(x => projections.Apply(m, x)).ToArray();
            }
            Tensor[] t;
            if (MatchRegistry.TryGetFeature(m.Feature, out var feature) && feature.FromLabels)
                t = new[] { labels ?? throw DistilException.Usage($"{MatchRegistry.Describe(m, i)} needs the gold labels") };
            else
                using (no_grad())
                    t = kind.Extract(teacher, m.TeacherLayer).Select(x => x.detach()).ToArray();
            Tensor loss, logged;
            if (task != TaskKind.Sequence && m.Feature is MatchFeatures.Logits or MatchFeatures.Labels)
            {
                // Logits and gold labels of a token, regression or multi-label head: that task's KD and supervised losses.
                if (exampleWeights is not null) throw DistilException.Usage($"{MatchRegistry.Describe(m, i)}: example weights are for sequence classifiers; this is a {task.Name()} model");
                logged = loss = TaskKdLosses.Compute(task, m, s[0], t[0], attentionMask);
            }
            else if (exampleWeights is null) logged = loss = kind.Compute(s, t, attentionMask, m);
            else
            {
                var perExample = (kind.PerExample ?? throw DistilException.Usage($"{MatchRegistry.Describe(m, i)} has no per-example form; it cannot take example weights"))
                    (s, t, attentionMask, m); // (B,)
                loss = perExample.mul(exampleWeights).mean();
                logged = perExample.mean(); // the unweighted term, comparable with runs without weights
            }
            var name = m.TermName;
            if (terms.ContainsKey(name)) name = $"{name}_{m.Loss}";
            if (terms.ContainsKey(name)) name = $"{name}#{i + 1}";
            terms[name] = logged.detach().cpu().item<float>();
            var weighted = loss.mul(m.Weight);
            total = total is null ? weighted : total.add(weighted);
        }
        if (total is null) throw DistilException.Usage("no distillation matches to compute");
        return new MatchLossResult(total.MoveToOuterDisposeScope(), terms);
    }
}
