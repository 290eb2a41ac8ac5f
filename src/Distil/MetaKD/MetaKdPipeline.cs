using System.Diagnostics;
using Distil.Checkpoints;
using Distil.Data;
using Distil.Distillation;
using Distil.Models;
using Distil.Pipelines;
using Distil.Text;
using Distil.Training;
using TorchSharp;

namespace Distil.MetaKD;

/// <summary>One row of the paper-style table: a teacher or a student, its test accuracy per domain, and its time.</summary>
public sealed record MetaKdRow(string Name, string Kind, IReadOnlyDictionary<string, double> Accuracy, double Seconds)
{
    public double Average => Accuracy.Count == 0 ? double.NaN : Accuracy.Values.Average();
}

/// <summary>What one `distil metakd` run produced (result.json).</summary>
public sealed record MetaKdResult(IReadOnlyList<string> Domains, MetaKdRow Teacher, MetaKdRow Student, IReadOnlyDictionary<string, double> Settings,
    IReadOnlyDictionary<string, string> Labels, double TotalSeconds);

/// <summary>
/// `distil metakd` as a library call (docs/metakd.md). Stages of the one StageRunner, each in its own folder of the run
/// with its done.json, each resumable: prototype scores (prototypes/prototype_scores.tsv) -> teacher(s) fine-tuned from
/// the pre-trained encoder (teacher/ or teacher-DOMAIN/) -> domain-expertise weights (lambda/lambda.tsv) -> per target
/// domain a student in two stages (students/DOMAIN/stage-1, stage-2) -> result.json and report.md with the per-domain table.
/// Baselines run through the same code with other teacher_mode / distill settings, so only the method differs.
/// </summary>
public static partial class MetaKdPipeline
{
    const string AllDomains = "all";

    public static MetaKdResult Run(MetaKdConfig c, RunContext ctx)
    {
        c.Validate();
        var device = ctx.Device;
        var runner = new StageRunner(ctx, c.LogEverySteps);
        Action<string> log = runner.Say;
        var clock = Stopwatch.StartNew();
        var tokenizer = TokenizerFolder.Load(c.Teacher!);
        var data = TaskData.Load(c.Data, tokenizer);
        if (data.Domains.Count == 0)
            throw DistilException.BadInput($"{c.Data.Train}: no domain column; Meta-KD needs a domain per row (a 'domain' column, or --domain-column)");
        if (data.TestSet == null) throw DistilException.Usage("the per-domain table is measured on test data: pass --test FILE (with the domain column)");
        var domainNames = c.Domains is { } list ? list.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries) : data.Domains.Names.ToArray();
        foreach (var d in domainNames.Append(c.HoldoutDomain).OfType<string>())
            if (!data.Domains.Contains(d)) throw DistilException.Usage($"domain '{d}' is not in {c.Data.Train}; its domains are {string.Join(", ", data.Domains.Names)}");
        if (c.HoldoutDomain != null && !domainNames.Contains(c.HoldoutDomain))
            throw DistilException.Usage($"--holdout-domain {c.HoldoutDomain} must be one of --domains ({string.Join(",", domainNames)})");
        if (c.HoldoutDomain != null && c.TeacherMode == "single")
            throw DistilException.Usage("--holdout-domain with teacher_mode single: a single-domain teacher of the held-out domain would see it; use meta or mix");
        int Id(string d) => data.Domains.IdOf(d, "--domains");
        var ids = domainNames.Select(Id).ToArray();
        int? holdout = c.HoldoutDomain != null ? Id(c.HoldoutDomain) : null;
        var teacherIds = ids.Where(d => d != holdout).ToArray();
        if (teacherIds.Length == 0) throw DistilException.Usage("no domain is left to train the teacher on");
        var targets = holdout is int h ? new[] { h } : ids;
        long pad = tokenizer.Pad;
        int seed = c.Training.Seed;

        // Every part sees the same few-shot sample of each domain.
        var selected = DomainSelection.Sample(data.TrainSet, ids, c.DataPortion, seed);
        foreach (int d in ids)
            if (!selected.Any(i => data.TrainSet[i].Domain == d)) throw DistilException.BadInput($"{c.Data.Train}: no training rows of domain '{data.Domains.NameOf(d)}'");
        log($"training rows: {selected.Length} of {data.TrainSet.Length} (portion {c.DataPortion}) in {string.Join(", ", domainNames)}" +
            (holdout != null ? $"; teacher trained without {c.HoldoutDomain}" : ""));

        // Before any training: the larger of teacher fine-tuning and student distillation must fit.
        var encoder = BertConfig.Load(Path.Combine(c.FinetunedTeacher ?? c.Teacher!, "config.json")).WithLabels(data.Labels.Names);
        var studentShape = StudentShapes.FromName(c.Student, encoder);
        int longest = MemoryEstimate.LongestBatch(c.Data.MaxSeqLen, data.TrainSet);
        runner.CheckMemory("distil metakd", c.Training.BatchSize, b =>
        {
            var teacherRun = MemoryEstimate.ForTraining(encoder, b, longest);
            var studentRun = MemoryEstimate.ForTraining(studentShape, b, longest, encoder, teacherAttentions: c.Distill != "kd");
            return teacherRun.TotalBytes >= studentRun.TotalBytes ? teacherRun : studentRun;
        }, c.Training.MemoryLimitMb);

        // 1. Prototype scores t(x) of the selected rows (aligned with `selected`).
        // Scores weight the meta-teacher's training and enter λ; a reused teacher distilled without λ needs neither.
        bool needScores = (c.TeacherMode == "meta" && c.FinetunedTeacher == null) || c.Distill == "metakd";
        double[] scores = needScores ? PrototypeStage(c, runner, data, selected, holdout, pad) : selected.Select(_ => 1.0).ToArray();
        var scoreOf = selected.Select((row, k) => (row, k)).ToDictionary(p => p.row, p => scores[p.k]);

        // 2. Teacher(s).
        var teacherName = c.TeacherMode switch { "meta" => "Meta-teacher", "mix" => "BERT-mix", _ => "BERT-s" };
        var teacherAccuracy = new Dictionary<string, double>();
        double teacherSeconds = 0;
        var teacherDirs = new Dictionary<int, string>(); // target domain -> teacher folder
        if (c.TeacherMode == "single")
            foreach (int d in targets)
            {
                var rows = DomainSelection.OfDomains(data.TrainSet, selected, new[] { d });
                var (dir, seconds) = TeacherStage(c, runner, data, $"teacher-{data.Domains.NameOf(d)}", rows, rows.Select(_ => 1.0).ToArray(), 0, new[] { d }, pad);
                teacherDirs[d] = dir;
                teacherSeconds += seconds;
            }
        else
        {
            var rows = DomainSelection.OfDomains(data.TrainSet, selected, teacherIds);
            string dir;
            if (c.FinetunedTeacher != null) { dir = c.FinetunedTeacher; log($"teacher: using the fine-tuned {dir} (not trained here)"); }
            else
            {
                bool meta = c.TeacherMode == "meta";
                double seconds;
                (dir, seconds) = TeacherStage(c, runner, data, "teacher", rows, rows.Select(r => meta ? scoreOf[r] : 1.0).ToArray(),
                    meta ? c.Gamma1 : 0, teacherIds, pad);
                teacherSeconds += seconds;
            }
            foreach (int d in targets) teacherDirs[d] = dir;
        }
        foreach (int d in targets)
        {
            using var teacher = LoadTeacher(teacherDirs[d], data, device);
            teacherAccuracy[data.Domains.NameOf(d)] = Accuracy(teacher, data.TestSet, d, c.EvalBatchSize, pad, device);
        }
        var teacherRow = new MetaKdRow(teacherName, "teacher", teacherAccuracy, teacherSeconds);

        // 3. Domain-expertise weights λ of the student rows (only Meta-KD uses them).
        var studentRows = DomainSelection.OfDomains(data.TrainSet, selected, targets);
        Dictionary<int, double>? lambdaOf = c.Distill == "metakd"
            ? LambdaStage(c, runner, data, studentRows, scoreOf, teacherDirs) : null;

        // 4. Students: one per target domain, or one for all.
        var studentAccuracy = new Dictionary<string, double>();
        double studentSeconds = 0;
        var groups = c.StudentScope == "all" ? new[] { (Name: AllDomains, Ids: targets) } : targets.Select(d => (Name: data.Domains.NameOf(d), Ids: new[] { d })).ToArray();
        foreach (var (name, groupIds) in groups)
        {
            var rows = DomainSelection.OfDomains(data.TrainSet, studentRows, groupIds);
            // A per-domain student learns from its domain's teacher; one student for all needs one teacher (meta or mix).
            string teacherDir = teacherDirs[groupIds[0]];
            if (groupIds.Any(d => teacherDirs[d] != teacherDir)) throw DistilException.Usage("student_scope all needs one teacher for all domains: use teacher_mode meta or mix");
            var (bestDir, seconds) = StudentStage(c, runner, data, name, rows, lambdaOf, teacherDir, groupIds, pad);
            studentSeconds += seconds;
            var (best, _) = ModelFolder.LoadForClassification(bestDir);
            using (best)
            {
                best.to(device);
                foreach (int d in groupIds) studentAccuracy[data.Domains.NameOf(d)] = Accuracy(best, data.TestSet, d, c.EvalBatchSize, pad, device);
            }
        }
        string method = c.Distill switch { "metakd" => "Meta-distillation (Meta-KD)", "tinybert" => "TinyBERT-KD", _ => "KD" };
        var studentRow = new MetaKdRow($"{teacherName} → {method}", "student", studentAccuracy, studentSeconds);

        var result = new MetaKdResult(targets.Select(data.Domains.NameOf).ToArray(), teacherRow, studentRow,
            new Dictionary<string, double>
            {
                ["seed"] = seed, ["data_portion"] = c.DataPortion, ["gamma1"] = c.Gamma1, ["gamma2"] = c.Gamma2, ["train_rows"] = selected.Length,
                ["teacher_epochs"] = c.Training.Epochs, ["stage1_epochs"] = c.Stage1Epochs, ["stage2_epochs"] = c.Stage2Epochs, ["max_seq_len"] = c.Data.MaxSeqLen,
            },
            new Dictionary<string, string>
            {
                ["teacher_mode"] = c.TeacherMode, ["distill"] = c.Distill, ["student"] = c.Student, ["student_scope"] = c.StudentScope, ["init"] = c.Init,
                ["holdout_domain"] = c.HoldoutDomain ?? "", ["teacher_source"] = c.FinetunedTeacher ?? c.Teacher!,
            },
            clock.Elapsed.TotalSeconds);
        runner.WriteResult(result);
        MetaKdReport.Write(c, ctx.Run, result);
        return result;
    }
}
