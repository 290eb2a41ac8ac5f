using System.Text.Json.Serialization;
using Distil.Augment;
using Distil.Checkpoints;
using Distil.Data;
using Distil.Models;
using Distil.Pipelines;
using Distil.Text;
using Distil.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Distil.Distillation;

public sealed record DistillResult(ModelSummary Teacher, ModelSummary Student, double TrainSeconds, string BestDir);

/// <summary>run/result.json of `distil distill` (read by bench summaries).</summary>
public sealed record DistillResultFile(
    [property: JsonPropertyName("preset")] string Preset,
    [property: JsonPropertyName("student_shape")] string StudentShape,
    [property: JsonPropertyName("student_model_type")] string StudentModelType,
    [property: JsonPropertyName("train_examples")] int TrainExamples,
    [property: JsonPropertyName("augmented_examples")] int AugmentedExamples,
    [property: JsonPropertyName("train_seconds")] double TrainSeconds,
    [property: JsonPropertyName("teacher")] ModelSummary Teacher,
    [property: JsonPropertyName("student")] ModelSummary Student);

/// <summary>
/// `distil distill` as a library call: teacher + data -> student -> each stage of the plan through the one Trainer ->
/// best/ -> teacher vs student table -> report.md. Stages run one after another in run/stage-k/; a finished stage
/// leaves run/stage-k/done.json and its weights, so --resume skips it.
/// </summary>
public static class DistillPipeline
{
    public static DistillResult Run(DistillConfig c, RunContext ctx)
    {
        c.Validate();
        var (run, device) = (ctx.Run, ctx.Device);
        var runner = new StageRunner(ctx, c.LogEverySteps);
        var (teacher, _) = TaskModels.Load(c.Teacher!);
        teacher.to(device);
        var task = teacher.Task; // the teacher's head decides the task; --task, when given, must agree
        if (c.Data.Task != null && c.Data.Kind != task)
            throw DistilException.Usage($"--task {c.Data.Task} but the teacher {c.Teacher} is a {task.Name()} model; leave --task out or give a {c.Data.Task} teacher");
        var tokenizer = TokenizerFolder.Load(c.Teacher!);
        var data = TaskData.Load(c.Data with { Task = task.Name() }, tokenizer, LabelSet.FromConfig(teacher.Shape));
        int augmented = 0;
        if (c.Augment.Copies > 0 && task != TaskKind.Sequence) throw DistilException.Usage($"--augment-copies is for sequence classification; this teacher is a {task.Name()} model");
        if (c.Augment.Copies > 0) (data, augmented) = TeacherAugmentation.Extend(c.Teacher!, (BertForSequenceClassification)BertTeacher(teacher, "--augment-copies (its masked-LM augmenter)"), tokenizer, data, c.Augment, c.Data.MaxSeqLen, c.EvalBatchSize, device, ctx.Log);
        if (task != TaskKind.Sequence && AlbertStudents.IsAlbert(c.Student)) throw DistilException.Usage($"a {task.Name()} student is a BERT; {c.Student} is an ALBERT shape");
        // An ALBERT student is validated and matched through its hidden-side shape (every hidden state is H wide).
        var albertConfig = AlbertStudents.IsAlbert(c.Student) ? AlbertStudents.FromName(c.Student, teacher.Shape) : null;
        var studentConfig = albertConfig?.Shape ?? StudentShapes.FromName(c.Student, teacher.Shape);
        var plan = c.Matches is { } explicitMatches
            ? new DistillationPlan("custom", new[] { (IReadOnlyList<IntermediateMatch>)explicitMatches })
            : DistillationPresets.Get(c.Preset, teacher.Shape, studentConfig, c.Temperature, c.Alpha);
        foreach (var stage in plan.Stages) MatchRegistry.Validate(stage, teacher.Shape, studentConfig); // before any training
        runner.CheckMemory("distil distill", c.Training.BatchSize, b => EstimateMemory(c, plan, teacher.Shape, studentConfig, data, b), c.Training.MemoryLimitMb);

        EncoderClassifier student = albertConfig != null
            ? AlbertStudents.Create(albertConfig, c.Init == "teacher" ? (BertForSequenceClassification)BertTeacher(teacher, "--init teacher") : null, c.Init, c.Training.Seed)
            : StudentInit.Create(task, studentConfig, c.Init == "teacher" ? BertTeacher(teacher, "--init teacher") : null, c.Init, c.Training.Seed);
        runner.Say($"student {c.Student}: {student.parameters().Sum(p => p.numel()):N0} parameters, {StudentShapes.NonEmbeddingParameters(student):N0} outside the embeddings");
        student.to(device);
        long pad = tokenizer.Pad;
        // Token logits are per position: the caches hold one row per example, so a token teacher runs in every step.
        Tensor? cached = c.CacheTeacherLogits && task != TaskKind.Token && plan.Stages.Any(MatchRegistry.LogitsOnly)
            ? TeacherLogitsCache.GetOrCompute(c.Teacher!, teacher, data.TrainSet, c.Data.Train!, c.EvalBatchSize, pad, device, ctx.Log)
            : null;

        var clock = System.Diagnostics.Stopwatch.StartNew();
        runner.TrainStages(run.Dir, student, plan.Stages.Count, k =>
        {
            var matches = plan.Stages[k - 1];
            bool last = k == plan.Stages.Count;
            var hidden = c.CacheTeacherHidden && task != TaskKind.Token && !MatchRegistry.LogitsOnly(matches) && TeacherNeeds.For(matches) is { } needs
                ? TeacherHiddenCache.GetOrCompute(c.Teacher!, teacher, data.TrainSet, c.Data.Train!, needs, c.EvalBatchSize, pad, device, c.TeacherCacheMaxMb * 1048576L, ctx.Log)
                : null;
            var projections = new Projections(matches, studentConfig.HiddenSize, teacher.Shape.HiddenSize);
            projections.to(device);
            var evaluator = last && data.DevSet != null
                ? new TaskEvaluator(student, data.DevSet, data.Labels, data.Domains, data.Threshold, c.EvalBatchSize, pad, device) : null;
            return new TrainingStage<Batch>(new Dictionary<string, nn.Module> { ["student"] = student, ["projections"] = projections },
                new DistillationObjective(student, teacher, matches, projections, device, cached, hidden),
                new EncodedBatchSource(data.TrainSet, c.Training.BatchSize, c.Training.Seed, pad),
                c.Training.SelectBestBy == "accuracy" ? c.Training with { SelectBestBy = TaskHeads.HeadlineMetric(task) } : c.Training,
                evaluator, SaveBest: last ? _ => ModelFolder.Save(run.BestDir, student, c.Teacher!) : null)
            {
                MetricsStage = plan.Stages.Count > 1 ? k : null,
                Owned = hidden != null ? new IDisposable[] { projections, hidden } : new IDisposable[] { projections },
            };
        }, k => new { matches = plan.Stages[k - 1] }, $"student {c.Student}");
        double seconds = clock.Elapsed.TotalSeconds;
        if (data.DevSet == null) ModelFolder.Save(run.BestDir, student, c.Teacher!);

        using var best = ModelFolder.LoadEncoderClassifier(run.BestDir);
        best.to(device);
        int latencySeq = Math.Min(64, c.Data.MaxSeqLen);
        var result = new DistillResult(Summarize("teacher", teacher, data, c, pad, device, latencySeq),
            Summarize($"student {c.Student} ({plan.Name})", best, data, c, pad, device, latencySeq), seconds, run.BestDir);
        DistillReport.Write(c, run, plan, result, data, augmented);
        // The same numbers for scripts (bench/kd-presets.sh): sizes, dev/test metrics, latency, training time.
        runner.WriteResult(new DistillResultFile(plan.Name, c.Student, albertConfig != null ? AlbertConfig.Type : "bert", data.TrainSet.Length, augmented,
            seconds, result.Teacher, result.Student));
        return result;
    }

    /// <summary>The teacher as a BERT, for what copies or reuses BERT modules; any other family is refused naming the option.</summary>
    static EncoderClassifier BertTeacher(EncoderClassifier teacher, string what) =>
        teacher is BertForSequenceClassification or BertForTokenClassification ? teacher
        : throw DistilException.Usage($"{what} needs a BERT teacher; this teacher is {teacher.GetType().Name}. Leave it out (logit and hidden-state matches work with any family)");

    /// <summary>The student trained with the teacher in every step (an upper bound: a cached teacher does not run), plus the
    /// teacher hidden-state cache (at most teacher_cache_max_mb) and the augmented rows it would hold.</summary>
    public static MemoryEstimate EstimateMemory(DistillConfig c, DistillationPlan plan, BertConfig teacher, BertConfig student, TaskData data, int batch)
    {
        bool maps = plan.Stages.Any(MatchRegistry.KeepsAttentionMaps);
        long cache = 0;
        if (c.CacheTeacherHidden)
        {
            long rows = data.TrainSet.Length * (1L + c.Augment.Copies), tokens = data.TrainSet.Sum(e => (long)e.InputIds.Length) * (1L + c.Augment.Copies);
            foreach (var stage in plan.Stages)
                if (!MatchRegistry.LogitsOnly(stage) && TeacherNeeds.For(stage) is { } needs)
                    cache = Math.Max(cache, Math.Min(c.TeacherCacheMaxMb * 1048576L, needs.Bytes(rows, tokens, teacher.HiddenSize, teacher.NumLabels)));
        }
        // Augmented rows can be longer than the originals: then only max_seq_len bounds them.
        int seq = c.Augment.Copies > 0 ? c.Data.MaxSeqLen : MemoryEstimate.LongestBatch(c.Data.MaxSeqLen, data.TrainSet);
        return MemoryEstimate.ForTraining(student, batch, seq, teacher, maps, cache);
    }

    static ModelSummary Summarize(string name, EncoderClassifier m, TaskData data, DistillConfig c, long pad, Device device, int seq) =>
        ModelSummary.Measure(name, m, i => m.forward(i).Logits, m.Shape.VocabSize, StudentShapes.NonEmbeddingParameters(m), data, c.EvalBatchSize, pad, device, seq, latencyRuns: 30);

}
