using Distil.Data;
using Distil.Distillation;
using Distil.Models;
using Distil.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Distil.MetaKD;

/// <summary>
/// Meta-distillation stage 1 (docs/metakd.md §Meta-distillation): L = (1/B) Σ_x λ(x) · [L_embd + L_hidn + L_attn + γ₂ · L_dom](x).
/// The embedding / hidden / attention terms are the tinybert preset's matches evaluated per example by MatchLoss
/// (weights applied before the batch mean); L_dom(x) = mean over features of (fit(h^S_dom) - h^T_dom)², the
/// transferable domain knowledge of the meta-teacher. λ is precomputed once (the teacher is frozen).
/// </summary>
public sealed class MetaDistillationObjective : IObjective<Batch>
{
    readonly BertForSequenceClassification student, teacher;
    readonly StudentDomainHead studentHead;
    readonly MetaTeacherHead teacherHead;
    readonly IReadOnlyList<IntermediateMatch> matches;
    readonly Projections projections;
    readonly float[] lambdas;
    readonly double gamma2;
    readonly Device device;
    readonly OutputRequest request;

    public MetaDistillationObjective(BertForSequenceClassification student, StudentDomainHead studentHead, BertForSequenceClassification teacher,
        MetaTeacherHead teacherHead, IReadOnlyList<IntermediateMatch> matches, Projections projections, IReadOnlyList<double> lambdas, double gamma2, Device device)
    {
        this.student = student;
        this.studentHead = studentHead;
        this.teacher = teacher;
        this.teacherHead = teacherHead;
        this.matches = matches;
        this.projections = projections;
        this.lambdas = lambdas.Select(l => (float)l).ToArray();
        this.gamma2 = gamma2;
        this.device = device;
        // The domain term reads the last hidden state whatever the matches read.
        request = MatchRegistry.OutputsFor(matches) with { HiddenStates = true };
        teacher.eval();
        teacherHead.eval();
        foreach (var p in teacher.parameters().Concat(teacherHead.parameters())) p.requires_grad = false;
    }

    public LossResult Compute(Batch b)
    {
        var inputs = Classifier.Inputs(b, device);
        var domains = b.Domains.to(device);
        var w = MetaTeacherObjective.ExampleWeights(lambdas, b, device); // (B,)
        var s = student.forward(inputs, request);
        SequenceClassifierOutput t;
        Tensor teacherDomain;
        using (no_grad())
        {
            t = teacher.forward(inputs, request);
            teacherDomain = teacherHead.domain.forward(t.Encoder.LastHiddenState, inputs.AttentionMask, domains); // (B, H_t), no tanh (as the distill model)
        }
        var result = MatchLoss.Compute(matches, DistillSide.From(s, student.bert), DistillSide.From(t, teacher.bert), inputs.AttentionMask,
            b.Labels.to(device), projections, exampleWeights: w);
        var terms = new Dictionary<string, double>(result.Terms) { ["lambda"] = w.mean().item<float>() };
        var total = result.Total;
        if (gamma2 > 0)
        {
            var studentDomain = studentHead.forward(s.Encoder.LastHiddenState, inputs.AttentionMask, domains); // (B, H_t)
            var domainMse = (studentDomain - teacherDomain.detach()).pow(2).mean(new long[] { 1 }); // (B,)
            terms["domain_mse"] = domainMse.mean().item<float>();
            total = total + gamma2 * (domainMse * w).mean();
        }
        return new LossResult(total, terms);
    }

    public int BatchSize(Batch b) => b.Size;
}
