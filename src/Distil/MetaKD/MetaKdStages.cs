using Distil.Checkpoints;
using Distil.Data;
using Distil.Distillation;
using Distil.Labels;
using Distil.Models;
using Distil.Pipelines;
using Distil.Reports;
using Distil.Text;
using Distil.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Distil.MetaKD;

/// <summary>The stages of `distil metakd`, each a StageRunner stage of its own folder (see MetaKdPipeline.Run for the chain).</summary>
public static partial class MetaKdPipeline
{
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
        Dictionary<int, string> teacherDirs)
    {
        var lambdas = runner.Stage("lambda", dir =>
        {
            var probs = new float[rows.Length][];
            foreach (var g in Enumerable.Range(0, rows.Length).GroupBy(k => teacherDirs[data.TrainSet[rows[k]].Domain]))
            {
                using var teacher = LoadTeacher(g.Key, data, runner.Device);
                var ks = g.ToArray();
                // Each domain teacher's labels through its label store (next to the data): a rerun reads them back.
                var store = TeacherLabels.Open(null, data.Train.Path, new TorchLabelTeacher(g.Key, teacher, TokenizerFolder.Load(g.Key), c.Data.MaxSeqLen, runner.Device), c.EvalBatchSize, runner.Say);
                var logits = store.Logits(ks.Select(k => data.Train.Examples[rows[k]]).Select(e => (e.Text, e.TextPair)).ToArray());
                for (int j = 0; j < ks.Length; j++) probs[ks[j]] = TeacherLabels.Softmax(logits[j]);
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
