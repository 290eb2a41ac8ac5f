using System.Text.Json.Serialization;
using Distil.Augment;
using Distil.Checkpoints;
using Distil.Data;
using Distil.Labels;
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
        if (QaTaskData.IsSquad(c.Data.Train)) return QaDistillPipeline.Run(c, ctx); // SQuAD JSON: extractive QA
        var (run, device) = (ctx.Run, ctx.Device);
        var runner = new StageRunner(ctx, c.LogEverySteps);
        var (teacher, _) = TaskModels.Load(c.Teacher!);
        teacher.to(device);
        var task = teacher.Task; // the teacher's head decides the task; --task, when given, must agree
        if (c.Data.Task != null && c.Data.Kind != task)
            throw DistilException.Usage($"--task {c.Data.Task} but the teacher {c.Teacher} is a {task.Name()} model; leave --task out or give a {c.Data.Task} teacher");
        var tokenizer = TokenizerFolder.Load(c.Teacher!);
        // A student with its own tokenizer: each side tokenises the text itself (CrossVocabulary).
        var studentTokenizer = c.StudentTokenizer != null ? TokenizerFolder.Load(c.StudentTokenizer) : tokenizer;
        bool crossVocab = !ReferenceEquals(studentTokenizer, tokenizer) && !CrossVocabulary.SameVocabulary(tokenizer, studentTokenizer);
        if (crossVocab && c.Augment.Copies > 0) throw DistilException.Usage("--augment needs one vocabulary (the teacher's masked LM writes the copies); leave it out with --student-tokenizer");
        if (crossVocab && c.Init == "teacher") throw DistilException.Usage("--init teacher copies the teacher's embeddings, which belong to its vocabulary; use --init random with --student-tokenizer");
        if (crossVocab && task == TaskKind.Token) throw DistilException.Usage("--student-tokenizer with a token classifier: per-token logits do not line up across vocabularies; distil with the teacher's tokenizer");
        var data = TaskData.Load(c.Data with { Task = task.Name() }, tokenizer, LabelSet.FromConfig(teacher.Shape));
        if (crossVocab && c.Transfer.Enabled) throw DistilException.Usage("--transfer with --student-tokenizer is not supported yet (the transfer rows are tokenised for the teacher only); leave one out");
        if (c.Transfer.Enabled && task != TaskKind.Sequence) throw DistilException.Usage($"--transfer is for sequence classification (a transfer row's label is the teacher's argmax); this teacher is a {task.Name()} model");
        if (c.Augment.Copies > 0 && task != TaskKind.Sequence) throw DistilException.Usage($"--augment is for sequence classification; this teacher is a {task.Name()} model");
        if (task != TaskKind.Sequence && AlbertStudents.IsAlbert(c.Student)) throw DistilException.Usage($"a {task.Name()} student is a BERT; {c.Student} is an ALBERT shape");
        // An ALBERT student is validated and matched through its hidden-side shape (every hidden state is H wide).
        var studentBase = crossVocab
            ? teacher.Shape with { VocabSize = studentTokenizer.VocabSize, PadTokenId = studentTokenizer.Pad, TypeVocabSize = Math.Max(2, teacher.Shape.TypeVocabSize) }
            : teacher.Shape;
        var albertConfig = AlbertStudents.IsAlbert(c.Student) ? AlbertStudents.FromName(c.Student, studentBase) : null;
        var studentConfig = albertConfig?.Shape ?? StudentShapes.FromName(c.Student, studentBase);
        var plan = c.Matches is { } explicitMatches
            ? new DistillationPlan("custom", new[] { (IReadOnlyList<IntermediateMatch>)explicitMatches })
            : DistillationPresets.Get(c.Preset, teacher.Shape, studentConfig, c.Temperature, c.Alpha);
        if (crossVocab)
        {
            CrossVocabulary.CheckPlan(plan, tokenizer, studentTokenizer); // before any training
            runner.Say($"cross-vocabulary distillation: teacher {tokenizer.ModelType} tokenizer ({tokenizer.VocabSize} tokens), student {studentTokenizer.ModelType} ({studentTokenizer.VocabSize}); the teacher's outputs are computed once on its own tokens");
        }
        foreach (var stage in plan.Stages) MatchRegistry.Validate(stage, teacher.Shape, studentConfig); // before any training
        // After the plan is checked (labelling a transfer set can take long). Every teacher label of this run goes through
        // one label store: a row labelled before (by any command) is read back.
        TeacherLabels? store = null;
        TeacherLabels Store() => store ??= TeacherLabels.Open(c.LabelStore, c.Data.Train!, new TorchLabelTeacher(c.Teacher!, teacher, tokenizer, c.Data.MaxSeqLen, device), c.EvalBatchSize, ctx.Log);
        var texts = data.Train.Examples.Select(e => (e.Text, e.TextPair)).ToList(); // TrainSet order
        int augmented = 0;
        if (c.Augment.Copies > 0)
        {
            (data, var added) = TeacherAugmentation.Extend(c.Teacher!, (BertForSequenceClassification)BertTeacher(teacher, "--augment (its masked-LM augmenter)"), tokenizer, data, c.Augment, c.Data.MaxSeqLen, Store(), device, ctx.Log);
            augmented = added.Count;
            texts.AddRange(added);
        }
        Tensor? transferLogits = null;
        if (c.Transfer.Enabled)
        {
            var sentences = TransferSet.ReadSentences(c.Transfer, TransferSet.HeldOut(data), ctx.Log);
            (var rows, transferLogits) = LabelStore.IsStore(c.Transfer.Path!)
                ? TransferSet.FromStore(c.Teacher!, teacher, tokenizer, sentences, c.Data.MaxSeqLen, c.Transfer.Path!, ctx.Log)
                : TransferSet.Label(Store(), teacher, tokenizer, sentences, c.Data.MaxSeqLen, ctx.Log);
            data = data with { TrainSet = data.TrainSet.Concat(rows).ToArray() };
            ctx.Log?.Invoke($"training on {data.TrainSet.Length - rows.Length} rows + {rows.Length} transfer sentences labelled by the teacher");
        }
        // The student's rows: the same rows in the same order, through its own tokenizer (the teacher's labels are read by text).
        var studentData = crossVocab ? TaskData.Load(c.Data with { Task = task.Name() }, studentTokenizer, LabelSet.FromConfig(teacher.Shape)) : data;
        runner.CheckMemory("distil distill", c.Training.BatchSize, b => EstimateMemory(c, plan, teacher.Shape, studentConfig, studentData, b), c.Training.MemoryLimitMb);

        EncoderClassifier student = albertConfig != null
            ? AlbertStudents.Create(albertConfig, c.Init == "teacher" ? (BertForSequenceClassification)BertTeacher(teacher, "--init teacher") : null, c.Init, c.Training.Seed)
            : StudentInit.Create(task, studentConfig, c.Init == "teacher" ? BertTeacher(teacher, "--init teacher") : null, c.Init, c.Training.Seed);
        runner.Say($"student {c.Student}: {student.parameters().Sum(p => p.numel()):N0} parameters, {StudentShapes.NonEmbeddingParameters(student):N0} outside the embeddings");
        student.to(device);
        long pad = studentTokenizer.Pad, teacherPad = tokenizer.Pad;
        string studentTokenizerDir = crossVocab ? c.StudentTokenizer! : c.Teacher!;
        // Logit-only stages read the teacher's logits of every row (the transfer rows': those given with them); across
        // vocabularies the teacher never sees the student's ids, so its logits always come from the store. Token logits are
        // per position and the store holds one row per text, so a token teacher runs in every step.
        Tensor? cached = null;
        if ((c.CacheTeacherLogits || crossVocab) && task != TaskKind.Token && plan.Stages.Any(MatchRegistry.LogitsOnly))
        {
            var own = tensor(Store().Logits(texts).SelectMany(l => l).ToArray()).view(texts.Count, -1); // (N, C)
            cached = transferLogits is null ? own : cat(new[] { own, transferLogits }, 0);
        }

        var clock = System.Diagnostics.Stopwatch.StartNew();
        runner.TrainStages(run.Dir, student, plan.Stages.Count, k =>
        {
            var matches = plan.Stages[k - 1];
            bool last = k == plan.Stages.Count;
            var hidden = (c.CacheTeacherHidden || crossVocab) && task != TaskKind.Token && !MatchRegistry.LogitsOnly(matches) && TeacherNeeds.For(matches) is { } needs
                ? TeacherHiddenCache.GetOrCompute(c.Teacher!, teacher, data.TrainSet, c.Data.Train!, needs, c.EvalBatchSize, teacherPad, device, c.TeacherCacheMaxMb * 1048576L, ctx.Log)
                : null;
            if (crossVocab && hidden == null && !MatchRegistry.LogitsOnly(matches))
                throw DistilException.Usage($"cross-vocabulary distillation needs the teacher's cls_hidden states cached, and they exceed teacher_cache_max_mb {c.TeacherCacheMaxMb}; raise it");
            var projections = new Projections(matches, studentConfig.HiddenSize, teacher.Shape.HiddenSize);
            projections.to(device);
            var evaluator = last && studentData.DevSet != null
                ? new TaskEvaluator(student, studentData.DevSet, studentData.Labels, studentData.Domains, studentData.Threshold, c.EvalBatchSize, pad, device) : null;
            return new TrainingStage<Batch>(new Dictionary<string, nn.Module> { ["student"] = student, ["projections"] = projections },
                new DistillationObjective(student, teacher, matches, projections, device, cached, hidden),
                new EncodedBatchSource(studentData.TrainSet, c.Training.BatchSize, c.Training.Seed, pad),
                c.Training.SelectBestBy == "accuracy" ? c.Training with { SelectBestBy = TaskHeads.HeadlineMetric(task) } : c.Training,
                evaluator, SaveBest: last ? _ => ModelFolder.Save(run.BestDir, student, studentTokenizerDir) : null)
            {
                MetricsStage = plan.Stages.Count > 1 ? k : null,
                Owned = hidden != null ? new IDisposable[] { projections, hidden } : new IDisposable[] { projections },
            };
        }, k => new { matches = plan.Stages[k - 1] }, $"student {c.Student}");
        double seconds = clock.Elapsed.TotalSeconds;
        if (studentData.DevSet == null) ModelFolder.Save(run.BestDir, student, studentTokenizerDir);

        using var best = ModelFolder.LoadEncoderClassifier(run.BestDir);
        best.to(device);
        int latencySeq = Math.Min(64, c.Data.MaxSeqLen);
        var result = new DistillResult(Summarize("teacher", teacher, data, c, teacherPad, device, latencySeq),
            Summarize($"student {c.Student} ({plan.Name})", best, studentData, c, pad, device, latencySeq), seconds, run.BestDir);
        DistillReport.Write(c, run, plan, result, studentData, augmented);
        // The same numbers for scripts (bench/kd-presets.sh): sizes, dev/test metrics, latency, training time.
        runner.WriteResult(new DistillResultFile(plan.Name, c.Student, albertConfig != null ? AlbertConfig.Type : "bert", studentData.TrainSet.Length, augmented,
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
