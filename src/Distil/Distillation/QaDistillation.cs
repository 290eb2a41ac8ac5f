using System.Globalization;
using Distil.Checkpoints;
using Distil.Data;
using Distil.Models;
using Distil.Pipelines;
using Distil.Reports;
using Distil.Text;
using Distil.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Distil.Distillation;

/// <summary>
/// The logit terms of extractive-QA distillation. A QA model's "logits" are two distributions over the positions of
/// a window (start and end), so KD compares softmax(logits/T) over the real tokens of each window (padding masked
/// out of both softmaxes) for start and for end and averages the two; the hard term is transformers' span loss.
/// docs/tasks.md §Extractive QA.
/// </summary>
public static class QaKd
{
    /// <summary>A masked position's logit: finite, so 0 · log q stays 0 where p is 0 (−∞ would give NaN).</summary>
    const double Masked = -1e9;

    /// <summary>
    /// (KD(start) + KD(end)) / 2 with KD = <see cref="KdLosses.SoftCrossEntropy"/> (<paramref name="loss"/> "soft_ce")
    /// or <see cref="KdLosses.KlDivergence"/> ("kl") over the positions where <paramref name="attentionMask"/> (B, T)
    /// is 1; logits (B, T). No T² factor (the kd preset puts it in the match weight, as for sentences).
    /// </summary>
    public static Tensor SpanKd(Tensor studentStart, Tensor studentEnd, Tensor teacherStart, Tensor teacherEnd, Tensor attentionMask, double temperature, string loss)
    {
        using var scope = NewDisposeScope();
        var pad = attentionMask.eq(0);
        Tensor M(Tensor x) => x.masked_fill(pad, Masked);
        Func<Tensor, Tensor, double, Tensor> kd = loss switch
        {
            MatchLosses.SoftCe => KdLosses.SoftCrossEntropy,
            MatchLosses.Kl => KdLosses.KlDivergence,
            _ => throw DistilException.Usage($"QA logits take soft_ce or kl, not '{loss}'"),
        };
        var total = (kd(M(studentStart), M(teacherStart.detach()), temperature) + kd(M(studentEnd), M(teacherEnd.detach()), temperature)) / 2;
        return total.MoveToOuterDisposeScope();
    }
}

/// <summary>
/// One distillation stage on QA windows: student and teacher span models, the plan's matches. <c>logits</c> matches
/// are the start/end KD of <see cref="QaKd"/>, <c>labels hard_ce</c> is the span loss on the gold positions, and every
/// other match (hidden states, attentions, relations: TinyBERT, MiniLM) goes to <see cref="MatchLoss"/> unchanged on
/// the encoders' outputs.
/// </summary>
public sealed class QaDistillationObjective : IObjective<QaBatch>
{
    readonly EncoderQuestionAnswering student, teacher;
    readonly IReadOnlyList<IntermediateMatch> matches;
    readonly Projections projections;
    readonly Device device;
    readonly OutputRequest request;

    public QaDistillationObjective(EncoderQuestionAnswering student, EncoderQuestionAnswering teacher, IReadOnlyList<IntermediateMatch> matches, Projections projections, Device device)
    {
        (this.student, this.teacher, this.matches, this.projections, this.device) = (student, teacher, matches, projections, device);
        request = MatchRegistry.OutputsFor(matches);
        teacher.eval();
        foreach (var p in teacher.parameters()) p.requires_grad = false;
    }

    public LossResult Compute(QaBatch b)
    {
        var inputs = b.Inputs(device);
        var s = student.forward(inputs, request);
        QuestionAnsweringOutput t;
        using (no_grad()) t = teacher.forward(inputs, request);
        var terms = new Dictionary<string, double>(StringComparer.Ordinal);
        Tensor? total = null;
        void Add(string name, Tensor loss, double weight)
        {
            terms[terms.ContainsKey(name) ? $"{name}#{terms.Count + 1}" : name] = loss.detach().cpu().item<float>();
            var weighted = loss.mul(weight);
            total = total is null ? weighted : total.add(weighted);
        }
        var layered = new List<IntermediateMatch>();
        foreach (var m in matches)
        {
            if (m.Feature == MatchFeatures.Logits)
                Add($"span_{m.Loss}", QaKd.SpanKd(s.StartLogits, s.EndLogits, t.StartLogits, t.EndLogits, inputs.AttentionMask, m.Temperature ?? 1, m.Loss), m.Weight);
            else if (m.Feature == MatchFeatures.Labels)
                Add("span_hard_ce", EncoderQuestionAnswering.Loss(s.StartLogits, s.EndLogits, b.StartPositions.to(device), b.EndPositions.to(device)), m.Weight);
            else layered.Add(m);
        }
        if (layered.Count > 0)
        {
            var r = MatchLoss.Compute(layered, new DistillSide(s.StartLogits, s.Encoder, student.AttentionLayers),
                new DistillSide(t.StartLogits, t.Encoder, teacher.AttentionLayers), inputs.AttentionMask, projections: projections);
            foreach (var (k, v) in r.Terms) terms[k] = v;
            total = total is null ? r.Total : total.add(r.Total);
        }
        return new LossResult(total ?? throw DistilException.Usage("no distillation matches to compute"), terms);
    }

    public int BatchSize(QaBatch b) => b.Size;
}

/// <summary>
/// `distil distill` on SQuAD-format data: a BERT-shaped student with a QA head learns from a QA teacher through each
/// stage of the preset (kd: span CE + start/end KD; tinybert/minilm: their intermediate matches, then KD) in the one
/// Trainer; best/ by dev F1; a teacher vs student table of EM/F1 and batch-1 latency. docs/tasks.md §Extractive QA.
/// </summary>
public static class QaDistillPipeline
{
    public static DistillResult Run(DistillConfig c, RunContext ctx)
    {
        c.Validate();
        if (c.Augment.Copies > 0) throw DistilException.Usage("--augment-copies rewrites sentences and would move answer spans; it is not available for extractive QA data");
        if (AlbertStudents.IsAlbert(c.Student)) throw DistilException.Usage($"student {c.Student}: extractive QA students are BERT-shaped (L<layers>-H<hidden>...)");
        var (run, device) = (ctx.Run, ctx.Device);
        var runner = new StageRunner(ctx, c.LogEverySteps);
        var (teacher, _) = QaFolder.Load(c.Teacher!);
        teacher.to(device);
        var tokenizer = TokenizerFolder.Load(c.Teacher!);
        var data = QaTaskData.Load(c.Data, c.Qa, tokenizer);
        bool v2 = data.Train.File.HasImpossible || (data.Dev?.File.HasImpossible ?? false) || (data.Test?.File.HasImpossible ?? false);
        var decoding = c.Qa.Decoding(v2);
        var studentConfig = StudentShapes.FromName(c.Student, teacher.Shape);
        var plan = c.Matches is { } explicitMatches
            ? new DistillationPlan("custom", new[] { (IReadOnlyList<IntermediateMatch>)explicitMatches })
            : DistillationPresets.Get(c.Preset, teacher.Shape, studentConfig, c.Temperature, c.Alpha);
        foreach (var stage in plan.Stages) MatchRegistry.Validate(stage, teacher.Shape, studentConfig);
        int longest = data.Train.Features.Max(f => f.Length);
        runner.CheckMemory("distil distill", c.Training.BatchSize, b => MemoryEstimate.ForTraining(studentConfig, b, longest, teacher.Shape,
            plan.Stages.Any(MatchRegistry.KeepsAttentionMaps)), c.Training.MemoryLimitMb);

        var student = CreateStudent(studentConfig, teacher, c.Init, c.Training.Seed);
        runner.Say($"student {c.Student}: {student.parameters().Sum(p => p.numel()):N0} parameters");
        student.to(device);
        long pad = tokenizer.Pad;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        runner.TrainStages(run.Dir, student, plan.Stages.Count, k =>
        {
            var matches = plan.Stages[k - 1];
            bool last = k == plan.Stages.Count;
            var projections = new Projections(matches, studentConfig.HiddenSize, teacher.Shape.HiddenSize);
            projections.to(device);
            var evaluator = last && data.Dev != null ? new QaEvaluator(student, data.Dev, decoding, c.EvalBatchSize, pad, device) : null;
            return new TrainingStage<QaBatch>(new Dictionary<string, nn.Module> { ["student"] = student, ["projections"] = projections },
                new QaDistillationObjective(student, teacher, matches, projections, device),
                new QaBatchSource(data.Train.Features, c.Training.BatchSize, c.Training.Seed, pad),
                c.Training with { SelectBestBy = evaluator == null ? "loss" : c.Training.SelectBestBy is "exact" ? "exact" : "f1" },
                evaluator, SaveBest: last ? _ => QaFolder.Save(run.BestDir, student, c.Teacher!) : null)
            {
                MetricsStage = plan.Stages.Count > 1 ? k : null,
                Owned = new IDisposable[] { projections },
            };
        }, k => new { matches = plan.Stages[k - 1] }, $"student {c.Student}");
        double seconds = clock.Elapsed.TotalSeconds;
        if (data.Dev == null) QaFolder.Save(run.BestDir, student, c.Teacher!);
        student.Dispose();

        var (best, _) = QaFolder.Load(run.BestDir);
        using (best)
        {
            best.to(device);
            int seq = Math.Min(64, c.Data.MaxSeqLen);
            var result = new DistillResult(Summarize("teacher", teacher, data, decoding, c, pad, device, seq),
                Summarize($"student {c.Student} ({plan.Name})", best, data, decoding, c, pad, device, seq), seconds, run.BestDir);
            WriteReport(c, run, plan, result, data);
            runner.WriteResult(new DistillResultFile(plan.Name, c.Student, "bert", data.Train.Features.Count, 0, seconds, result.Teacher, result.Student));
            return result;
        }
    }

    /// <summary>
    /// The student: <see cref="StudentInit"/>'s encoder (random, or the teacher's every k-th layer when the widths match),
    /// with a new qa_outputs (copied from the teacher when the widths match and init is teacher).
    /// </summary>
    public static BertForQuestionAnswering CreateStudent(BertConfig studentConfig, EncoderQuestionAnswering teacher, string init, int seed)
    {
        BertForSequenceClassification? surrogate = null;
        try
        {
            if (init == "teacher")
            {
                var bert = teacher as BertForQuestionAnswering
                    ?? throw DistilException.Usage($"--init teacher needs a BERT teacher; this teacher is {teacher.GetType().Name}. Use --init random");
                // StudentInit copies from a sequence classifier: give it one with the teacher's encoder (its head is never used).
                surrogate = new BertForSequenceClassification(bert.Config);
                using var _ = no_grad();
                var source = bert.bert.state_dict();
                foreach (var (name, p) in surrogate.bert.state_dict()) p.copy_(source[name]);
            }
            using var encoderSource = StudentInit.Create(studentConfig, surrogate, init, seed);
            var student = new BertForQuestionAnswering(studentConfig);
            using (no_grad())
            {
                var from = encoderSource.bert.state_dict();
                foreach (var (name, p) in student.bert.state_dict()) p.copy_(from[name]);
                if (init == "teacher" && teacher.Shape.HiddenSize == studentConfig.HiddenSize)
                {
                    var t = (BertForQuestionAnswering)teacher;
                    student.qa_outputs.weight!.copy_(t.qa_outputs.weight!);
                    student.qa_outputs.bias!.copy_(t.qa_outputs.bias!);
                }
            }
            return student;
        }
        finally { surrogate?.Dispose(); }
    }

    static ModelSummary Summarize(string name, EncoderQuestionAnswering m, QaTaskData data, QaDecoding decoding, DistillConfig c, long pad, Device device, int seq)
    {
        (Tensor, Tensor) Forward(BertInputs i) { var o = m.forward(i); return (o.StartLogits, o.EndLogits); }
        m.eval();
        IReadOnlyDictionary<string, double> Metrics(QaSplit s) => QuestionAnswering.Evaluate(Forward, s, decoding, c.EvalBatchSize, pad, device).Metrics;
        long all = m.parameters().Sum(p => p.numel());
        long embeddings = m.named_parameters().Where(p => p.name.Contains(".embeddings.", StringComparison.Ordinal)).Sum(p => p.parameter.numel());
        return new ModelSummary(name, all, all - embeddings, data.Dev != null ? Metrics(data.Dev) : new Dictionary<string, double>(),
            data.Test != null ? Metrics(data.Test) : null, TorchLatency.Measure(m, i => m.forward(i).StartLogits, m.Shape.VocabSize, seq, runs: 30).MedianMs);
    }

    static void WriteReport(DistillConfig c, RunFolder run, DistillationPlan plan, DistillResult r, QaTaskData data)
    {
        string F(double v) => v.ToString("F2", CultureInfo.InvariantCulture);
        var rows = new[] { r.Teacher, r.Student };
        var table = "| model | parameters | dev EM | dev F1 | test EM | test F1 | batch-1 latency (ms) |\n|---|---|---|---|---|---|---|\n" + string.Join("\n", rows.Select(m =>
            $"| {m.Name} | {m.Parameters:N0} | {(m.Dev.TryGetValue("exact", out var de) ? F(de) : "-")} | {(m.Dev.TryGetValue("f1", out var df) ? F(df) : "-")} | " +
            $"{(m.Test?.TryGetValue("exact", out var te) == true ? F(te) : "-")} | {(m.Test?.TryGetValue("f1", out var tf) == true ? F(tf) : "-")} | {F(m.LatencyMs)} |"));
        new ReportWriter("distil distill (extractive QA)")
            .KeyValues("Run", new[]
            {
                ("teacher", c.Teacher!), ("student", c.Student), ("preset", plan.Name),
                ("matches", string.Join("; ", plan.Stages.Select((s, k) => $"stage {k + 1}: " + string.Join(", ", s.Select(m => m.Summary))))),
                ("train", $"{c.Data.Train} ({data.Train.Questions.Count} questions, {data.Train.Features.Count} windows)"),
                ("train time", $"{F(r.TrainSeconds)} s"),
            })
            .Paragraph("Exact match and F1 in percent, as the official SQuAD scripts.\n\n" + table)
            .Save(run.ReportPath);
    }
}
