using Distil.Data;
using Distil.Models;
using Distil.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Distil.Distillation;

/// <summary>
/// The distillation loss of one stage for the Trainer: student forward, teacher forward under no_grad (or the
/// teacher's cached logits when only logits are matched, or its cached hidden states), then the matches. The teacher is frozen and stays in
/// eval mode; gradients reach the student and the projections only.
/// </summary>
public sealed class DistillationObjective : IObjective<Batch>
{
    readonly EncoderClassifier student;
    readonly EncoderClassifier teacher;
    readonly IReadOnlyList<IntermediateMatch> matches;
    readonly Projections projections;
    readonly Device device;
    readonly Tensor? cachedTeacherLogits;
    readonly TeacherHiddenCache? cachedTeacher;
    readonly OutputRequest request;

    public DistillationObjective(EncoderClassifier student, EncoderClassifier teacher,
        IReadOnlyList<IntermediateMatch> matches, Projections projections, Device device, Tensor? cachedTeacherLogits = null,
        TeacherHiddenCache? cachedTeacher = null)
    {
        this.student = student;
        this.teacher = teacher;
        this.matches = matches;
        this.projections = projections;
        this.device = device;
        this.cachedTeacherLogits = cachedTeacherLogits;
        this.cachedTeacher = cachedTeacher;
        request = MatchRegistry.OutputsFor(matches);
        teacher.eval();
        foreach (var p in teacher.parameters()) p.requires_grad = false;
    }

    public LossResult Compute(Batch b)
    {
        var inputs = Classifier.Inputs(b, device);
        var s = student.forward(inputs, request);
        DistillSide teacherSide;
        if (cachedTeacherLogits is not null && MatchRegistry.LogitsOnly(matches))
        {
            using var index = tensor(b.Indices.Select(i => (long)i).ToArray());
            var logits = cachedTeacherLogits.index_select(0, index).to(device);
            teacherSide = new DistillSide(logits, new BertEncoderOutput(logits, null, null, null, null));
        }
        else if (cachedTeacher is not null)
            using (no_grad())
                teacherSide = cachedTeacher.Side(b, teacher, inputs.AttentionMask, device);
        else
            using (no_grad())
                teacherSide = DistillSide.From(teacher.forward(inputs, request), teacher.AttentionLayers);
        var result = MatchLoss.Compute(matches, DistillSide.From(s, student.AttentionLayers), teacherSide, inputs.AttentionMask, b.Labels.to(device), projections, task: student.Task);
        return new LossResult(result.Total, result.Terms);
    }

    public int BatchSize(Batch b) => b.Size;
}
