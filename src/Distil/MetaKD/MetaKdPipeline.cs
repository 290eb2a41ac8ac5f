using System.Diagnostics;
using Distil.Checkpoints;
using Distil.Data;
using Distil.Distillation;
using Distil.Models;
using Distil.Pipelines;
using Distil.Reports;
using Distil.Text;
using Distil.Training;
using TorchSharp;
using static TorchSharp.torch;

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
public static class MetaKdPipeline
{
    const string AllDomains = "all";

    public static MetaKdResult Run(MetaKdConfig c, RunContext ctx)
    {
        c.Validate();
        var device = ctx.Device;
        var runner = new StageRunner(ctx, c.LogEverySteps);
        Action<string> log = runner.Say;
        var clock = Stopwatch.StartNew();
        var tokenizer = BertTextTokenizer.FromFolder(c.Teacher!);
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
            ? LambdaStage(c, runner, data, studentRows, scoreOf, teacherDirs, pad) : null;

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

    // ---- stage 1: prototype scores --------------------------------------------------------------------------------

    static double[] PrototypeStage(MetaKdConfig c, StageRunner runner, TaskData data, int[] selected, int? holdout, long pad) =>
        runner.Stage("prototypes", dir =>
        {
            runner.Say($"prototype scores: embedding {selected.Length} rows with the pre-trained encoder {c.Teacher}");
            using var encoder = ModelFolder.LoadEncoder(c.Teacher!);
            encoder.to(runner.Device);
            var rows = DomainSelection.Pick(data.TrainSet, selected);
            var h = PrototypeScores.Embed(encoder, rows, c.EvalBatchSize, pad, runner.Device);
            var domains = rows.Select(r => r.Domain).ToArray();
            var all = PrototypeScores.Compute(h, domains, data.Domains.Count);
            var scores = all;
            if (holdout is int ho)
            {
                // The teacher's weights use the prototypes of its own domains only; held-out rows keep the all-domain score
                // (their own prototype vs the teacher domains'), which only their λ uses.
                var seen = Enumerable.Range(0, rows.Length).Where(i => domains[i] != ho).ToArray();
                var teacherScores = PrototypeScores.Compute(seen.Select(i => h[i]).ToArray(), seen.Select(i => domains[i]).ToArray(), data.Domains.Count);
                scores = (double[])all.Clone();
                for (int k = 0; k < seen.Length; k++) scores[seen[k]] = teacherScores[k];
            }
            // The table is for people; done.json holds the exact scores that a resumed run reads back.
            PrototypeScores.WriteTable(Path.Combine(dir, "prototype_scores.tsv"), DomainSelection.Pick(data.Train.Examples, selected), new[] { ("weight", (IReadOnlyList<double>)scores) });
            foreach (var g in Enumerable.Range(0, rows.Length).GroupBy(i => domains[i]))
                runner.Say($"  {data.Domains.NameOf(g.Key)}: mean t = {g.Average(i => scores[i]):F4} (min {g.Min(i => scores[i]):F4}, max {g.Max(i => scores[i]):F4})");
            return scores;
        }).Value;

    // ---- stage 2: teacher fine-tuning -----------------------------------------------------------------------------

    /// <summary>What a teacher stage's done.json records.</summary>
    sealed record TeacherStageRecord(string Name, int Rows, double Gamma1);

    static (string BestDir, double Seconds) TeacherStage(MetaKdConfig c, StageRunner runner, TaskData data, string name, int[] rows,
        double[] weights, double gamma1, int[] devDomains, long pad)
    {
        var device = runner.Device;
        var done = runner.Stage(name, dir =>
        {
            runner.Say($"{name}: fine-tuning {c.Teacher} on {rows.Length} rows (gamma1 {gamma1}, weights {(weights.All(w => w == 1) ? "1" : "prototype scores")})");
            manual_seed(c.Training.Seed); // the new classifier and domain heads
            var (model, _) = ModelFolder.LoadForClassification(c.Teacher!, data.Labels.Names, c.Pooling);
            model.to(device);
            var head = gamma1 > 0 ? new MetaTeacherHead(data.Domains.Count, model.Config.HiddenSize, model.Config.HiddenDropoutProb) : null;
            head?.to(device);
            var modules = new Dictionary<string, nn.Module> { ["model"] = model };
            if (head != null) modules["domain_head"] = head;
            var dev = DevOf(data, devDomains);
            string metrics = Path.Combine(dir, "metrics.jsonl");
            runner.Train(dir, new TrainingStage<Batch>(modules, new MetaTeacherObjective(model, head, weights, gamma1, device),
                new EncodedBatchSource(DomainSelection.Pick(data.TrainSet, rows), c.Training.BatchSize, c.Training.Seed, pad), c.Training,
                new ClassificationEvaluator(model, dev, data.Labels.Count, data.Domains, c.EvalBatchSize, pad, device),
                SaveBest: b =>
                {
                    ModelFolder.Save(b, model, c.Teacher!);
                    if (head != null) StateDictLoader.SaveStateDict(head, Path.Combine(dir, "domain_head.safetensors"));
                })
            { MetricsPath = metrics });
            TrainingPlot.Write(metrics, Path.Combine(dir, "training.png"));
            model.Dispose();
            head?.Dispose();
            return new TeacherStageRecord(name, rows.Length, gamma1);
        }, progressName: name);
        return (Path.Combine(runner.Run.Dir, name, "best"), done.Seconds);
    }

    // ---- stage 3: domain-expertise weights ------------------------------------------------------------------------

    static Dictionary<int, double> LambdaStage(MetaKdConfig c, StageRunner runner, TaskData data, int[] rows, Dictionary<int, double> scoreOf,
        Dictionary<int, string> teacherDirs, long pad)
    {
        var lambdas = runner.Stage("lambda", dir =>
        {
            var probs = new float[rows.Length][];
            foreach (var g in Enumerable.Range(0, rows.Length).GroupBy(k => teacherDirs[data.TrainSet[rows[k]].Domain]))
            {
                using var teacher = LoadTeacher(g.Key, data, runner.Device);
                var ks = g.ToArray();
                var p = Classifier.PredictProbabilities(teacher, ks.Select(k => data.TrainSet[rows[k]]).ToArray(), c.EvalBatchSize, pad, runner.Device);
                for (int j = 0; j < ks.Length; j++) probs[ks[j]] = p[j];
            }
            var t = rows.Select(r => scoreOf[r]).ToArray();
            var gold = rows.Select(r => data.TrainSet[r].Label).ToArray();
            var lambdas = ExpertiseWeights.Compute(probs, gold, t);
            var pGold = rows.Select((r, k) => (double)probs[k][gold[k]]).ToArray();
            string path = Path.Combine(dir, "lambda.tsv");
            PrototypeScores.WriteTable(path, DomainSelection.Pick(data.Train.Examples, rows),
                new (string, IReadOnlyList<double>)[] { ("weight", t), ("p_gold", pGold), ("lambda", lambdas) });
            runner.Say($"domain-expertise weights: mean λ {lambdas.Average():F4} (min {lambdas.Min():F4}, max {lambdas.Max():F4}) -> {path}");
            return lambdas;
        }).Value;
        return rows.Select((r, k) => (r, k)).ToDictionary(p => p.r, p => lambdas[p.k]);
    }

    // ---- stage 4: students ----------------------------------------------------------------------------------------

    /// <summary>What a student stage's done.json records.</summary>
    sealed record StudentStageRecord(string Name, int Rows);

    static (string BestDir, double Seconds) StudentStage(MetaKdConfig c, StageRunner runner, TaskData data, string name, int[] rows,
        Dictionary<int, double>? lambdaOf, string teacherDir, int[] domainIds, long pad)
    {
        var device = runner.Device;
        string stage = Path.Combine("students", name), best = Path.Combine(runner.Run.Dir, stage, "best");
        var done = runner.Stage(stage, dir =>
        {
            using var teacher = LoadTeacher(teacherDir, data, device);
            var studentConfig = StudentShapes.FromName(c.Student, teacher.Config);
            var student = CreateStudent(c, studentConfig, data, teacher);
            student.to(device);
            var stages = Stages(c, teacher.Config, studentConfig);
            var trainRows = DomainSelection.Pick(data.TrainSet, rows);
            var dev = DevOf(data, domainIds);
            string metrics = Path.Combine(dir, "metrics.jsonl");
            runner.TrainStages(dir, student, stages.Count, k =>
            {
                var (matches, epochs, lr, weighted) = stages[k - 1];
                bool last = k == stages.Count;
                runner.Say($"student {name}: stage {k}/{stages.Count} on {rows.Length} rows ({string.Join(", ", matches.Select(m => m.Feature).Distinct())}{(weighted ? ", λ-weighted + domain term" : "")})");
                var projections = new Projections(matches, studentConfig.HiddenSize, teacher.Config.HiddenSize);
                projections.to(device);
                var modules = new Dictionary<string, nn.Module> { ["student"] = student, ["projections"] = projections };
                var owned = new List<IDisposable> { projections };
                IObjective<Batch> objective;
                if (weighted)
                {
                    var teacherHead = LoadTeacherHead(teacherDir, data, teacher.Config, device);
                    manual_seed(c.Training.Seed);
                    var studentHead = new StudentDomainHead(data.Domains.Count, studentConfig.HiddenSize, teacher.Config.HiddenSize);
                    studentHead.to(device);
                    modules["domain_head"] = studentHead;
                    owned.Add(studentHead);
                    owned.Add(teacherHead);
                    objective = new MetaDistillationObjective(student, studentHead, teacher, teacherHead, matches, projections,
                        rows.Select(r => lambdaOf![r]).ToArray(), c.Gamma2, device);
                }
                else objective = new DistillationObjective(student, teacher, matches, projections, device);
                var options = c.Training with
                {
                    Epochs = epochs,
                    LearningRate = lr,
                    // Intermediate-layer distillation runs without warm-up, as TinyBERT and the official Meta-KD stage 1.
                    WarmupRatio = last ? c.Training.WarmupRatio : 0,
                };
                return new TrainingStage<Batch>(modules, objective, new EncodedBatchSource(trainRows, c.Training.BatchSize, c.Training.Seed, pad), options,
                    last ? new ClassificationEvaluator(student, dev, data.Labels.Count, data.Domains, c.EvalBatchSize, pad, device) : null,
                    SaveBest: last ? _ => ModelFolder.Save(best, student, c.Teacher!) : null)
                { MetricsPath = metrics, MetricsStage = k, Owned = owned };
            }, k => new { stages[k - 1].Matches, stages[k - 1].Weighted }, $"student {name}");
            TrainingPlot.Write(metrics, Path.Combine(dir, "training.png"));
            student.Dispose();
            return new StudentStageRecord(name, rows.Length);
        }, progressName: $"student {name}");
        return (best, done.Seconds);
    }

    /// <summary>(matches, epochs, lr, λ-weighted with the domain term) per stage: the tinybert preset's two stages for
    /// metakd and tinybert (metakd weights stage 1), or one Hinton KD stage for kd.</summary>
    static IReadOnlyList<(IReadOnlyList<IntermediateMatch> Matches, int Epochs, double Lr, bool Weighted)> Stages(MetaKdConfig c, BertConfig teacher, BertConfig student)
    {
        if (c.Distill == "kd")
            return new[] { (DistillationPresets.Get("kd", teacher, student, c.Temperature).Stages[0], c.Stage2Epochs, c.Stage2LearningRate, false) };
        var plan = DistillationPresets.Get("tinybert", teacher, student);
        // Stage 2: soft CE on the teacher's predictions (no hard labels, no λ), at the configured temperature.
        var prediction = new[] { new IntermediateMatch(0, 0, MatchFeatures.Logits, MatchLosses.SoftCe, 1, c.Temperature) };
        var list = new List<(IReadOnlyList<IntermediateMatch>, int, double, bool)>();
        if (c.Stage1Epochs > 0) list.Add((plan.Stages[0], c.Stage1Epochs, c.Stage1LearningRate, c.Distill == "metakd"));
        list.Add((prediction, c.Stage2Epochs, c.Stage2LearningRate, false));
        return list;
    }

    static BertForSequenceClassification CreateStudent(MetaKdConfig c, BertConfig studentConfig, TaskData data, BertForSequenceClassification teacher)
    {
        if (c.Init == "random") return StudentInit.Create(studentConfig, teacher, "random", c.Training.Seed);
        // Like starting from a general-distilled TinyBERT: copy the embeddings and every k-th layer of the pre-trained
        // encoder (not of the fine-tuned teacher), so every method starts from the same student.
        manual_seed(c.Training.Seed);
        var (pretrained, _) = ModelFolder.LoadForClassification(c.Teacher!, data.Labels.Names, c.Pooling);
        using (pretrained)
        {
            try { return StudentInit.Create(studentConfig, pretrained, "teacher", c.Training.Seed); }
            catch (DistilException e) when (e.ExitCode == ExitCodes.InvalidUsage)
            {
                throw DistilException.Usage($"--init model copies layers of --model {c.Teacher}: {e.Message.Replace("Use --init random", "use --init random or a student of the encoder's width")}");
            }
        }
    }

    static BertForSequenceClassification LoadTeacher(string dir, TaskData data, Device device)
    {
        var (teacher, _) = ModelFolder.LoadForClassification(dir);
        if (!teacher.Config.Labels.SequenceEqual(data.Labels.Names))
            throw DistilException.BadInput($"{dir}: the teacher's labels ({string.Join(", ", teacher.Config.Labels)}) are not the data's ({string.Join(", ", data.Labels.Names)})");
        teacher.to(device);
        teacher.eval();
        return teacher;
    }

    static MetaTeacherHead LoadTeacherHead(string teacherBest, TaskData data, BertConfig teacher, Device device)
    {
        string path = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(teacherBest))!, "domain_head.safetensors");
        if (!File.Exists(path)) throw DistilException.NotFound($"{path}: the meta-teacher's domain head is missing; rerun the teacher stage (delete {Path.GetDirectoryName(path)}/done.json)");
        var head = new MetaTeacherHead(data.Domains.Count, teacher.HiddenSize, 0);
        StateDictLoader.LoadFile(head, path, strict: true);
        head.to(device);
        head.eval();
        return head;
    }

    static EncodedExample[] DevOf(TaskData data, int[] domainIds)
    {
        var dev = data.DevSet!.Where(e => domainIds.Contains(e.Domain)).ToArray();
        if (dev.Length == 0) throw DistilException.BadInput($"{data.Dev!.Path}: no dev rows of {string.Join(", ", domainIds.Select(data.Domains.NameOf))}; each domain needs dev rows to pick its best student");
        return dev;
    }

    static double Accuracy(BertForSequenceClassification model, EncodedExample[] set, int domain, int batchSize, long pad, Device device)
    {
        var rows = set.Where(e => e.Domain == domain).ToArray();
        if (rows.Length == 0) return double.NaN;
        var probs = Classifier.PredictProbabilities(model, rows, batchSize, pad, device);
        return rows.Select((e, i) => Array.IndexOf(probs[i], probs[i].Max()) == e.Label ? 1.0 : 0.0).Average();
    }
}
