using System.Diagnostics;
using System.Text.Json;
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

namespace Distil.Augment.L2A;

/// <summary>One arm of the comparison: its name, training rows (target + augmented), student and teacher accuracy on the target.</summary>
public sealed record L2aArm(string Name, int TargetRows, int AugmentedRows, double DevAccuracy, double TestAccuracy, double TeacherTestAccuracy, double Seconds);

/// <param name="Generator">The generators used: learned or fixed (fixed also where learned was asked for a non-BERT teacher).</param>
public sealed record L2aResult(IReadOnlyList<L2aArm> Arms, int PoolSize, int Selected, IReadOnlyList<SelectorStep> Selector, double Seconds, string Generator = "fixed");

/// <summary>
/// `distil l2a` as a library call (docs/l2a.md): target portion -> generators (chain on target, borrowing from
/// sources) -> teacher labels -> discriminator (rejects the least target-like) -> reinforced selector against a scout
/// student -> selected.tsv -> one KD run per arm (DistillPipeline, kd preset, same steps) -> table, reward plot, report.
/// </summary>
public static class L2aPipeline
{
    public static L2aResult Run(L2aConfig c, RunContext ctx)
    {
        c.Validate();
        var (run, device, log) = (ctx.Run, ctx.Device, ctx.Log);
        var runner = new StageRunner(ctx, new DistillConfig().LogEverySteps); // only the arms train, each as a distill run
        var clock = Stopwatch.StartNew();
        var (teacher, _) = EncoderFamilies.LoadForClassification(c.Teacher!); // any encoder family
        teacher.to(device);
        if (c.Init == "teacher" && teacher is not BertForSequenceClassification) // before anything is generated
            throw DistilException.Usage($"--init teacher copies BERT layers into the scout and the arms; this teacher is {teacher.GetType().Name}: use --init random");
        var tokenizer = TokenizerFolder.Load(c.Teacher!);
        long pad = tokenizer.Pad;
        int maxLen = c.Data.MaxSeqLen;
        var labels = LabelSet.FromConfig(teacher.Shape);
        // Before generating anything: the scout and every arm train this student with the teacher in the step (kd);
        // max_seq_len bounds generated rows, which can be longer than the originals.
        var studentShape = StudentShapes.FromName(c.Student, teacher.Shape);
        runner.CheckMemory("distil l2a", c.Training.BatchSize, b => MemoryEstimate.ForTraining(studentShape, b, maxLen, teacher.Shape), c.Training.MemoryLimitMb);

        var train = Read(c.Data, c.Data.Train!);
        var target = Split.Portion(train.Examples.Where(e => e.Domain == c.Target).ToArray(), c.DataPortion, c.Training.Seed);
        var known = train.Examples.Select(e => e.Domain).Distinct().ToArray();
        if (target.Count == 0) throw DistilException.BadInput($"{c.Data.Train}: no training row has domain '{c.Target}'; domains there: {string.Join(", ", known)}");
        var sources = train.Examples.Where(e => e.Domain != null && c.SourceList.Contains(e.Domain)).ToArray();
        foreach (var s in c.SourceList.Where(s => !known.Contains(s)))
            throw DistilException.BadInput($"{c.Data.Train}: no training row has source domain '{s}'; domains there: {string.Join(", ", known)}");
        var dev = Read(c.Data, c.Data.Dev!).Examples.Where(e => e.Domain == c.Target).ToArray();
        var test = c.Data.Test != null ? Read(c.Data, c.Data.Test).Examples.Where(e => e.Domain == c.Target).ToArray() : null;
        if (dev.Length == 0) throw DistilException.BadInput($"{c.Data.Dev}: no dev row has domain '{c.Target}'; the selector's reward needs held-out target rows");
        log?.Invoke($"target {c.Target}: {target.Count} training rows ({c.DataPortion:P1}), {dev.Length} dev, {test?.Length ?? 0} test; sources {string.Join(",", c.SourceList)}: {sources.Length} rows");

        string dataDir = Path.Combine(run.Dir, "data");
        Directory.CreateDirectory(dataDir);
        string devPath = L2aFiles.WriteTsv(Path.Combine(dataDir, "target-dev.tsv"), dev);
        string? testPath = test != null ? L2aFiles.WriteTsv(Path.Combine(dataDir, "target-test.tsv"), test) : null;

        // Generators (a) and (b), both refilling from the teacher (MLM head when it has one, else word embeddings).
        var refill = TeacherAugmentation.Augmenter(c.Teacher!, EncoderEmbeddings.Word(teacher), tokenizer,
            new AugmentOptions { Copies = c.Copies, Candidates = c.Candidates, Seed = c.Training.Seed, UseMlm = c.UseMlm }, maxLen, device, log);
        var sourceRows = Split.Sample(sources.Length, Math.Min(sources.Length, c.CrossPerTarget * target.Count), c.Training.Seed + 1);
        var borrowing = new CrossDomainBorrowing(refill, target, sources, c.BorrowFraction, 1, c.Training.Seed);
        using var targetPooled = TeacherView.Pooled(teacher, Encode(target, tokenizer, labels, maxLen), c.EvalBatchSize, pad, device);
        var heldOut = Encode(dev, tokenizer, labels, maxLen);
        List<L2aCandidate> chain, cross;
        // The learned head sits on a BERT encoder with a WordPiece vocabulary; other teachers get the fixed generators.
        string generatorKind = c.Generator == "learned" && teacher is BertForSequenceClassification && tokenizer is BertTextTokenizer ? "learned" : "fixed";
        if (generatorKind != c.Generator)
            log?.Invoke($"generator learned needs a BERT teacher with a WordPiece vocabulary; this one is {teacher.GetType().Name}: the fixed generators are used");
        if (generatorKind == "learned")
        {
            using var generator = LearnedGenerator(c, runner, teacher, tokenizer, target, sources, borrowing, targetPooled, heldOut, studentShape, log);
            chain = LearnedGenerators.Chain(generator, target, c.Copies, c.ChainSteps, c.MaskFraction, c.Training.Seed);
            cross = LearnedGenerators.Cross(generator, borrowing, sources, sourceRows, c.BorrowFraction, c.Training.Seed);
        }
        else
        {
            chain = new CorruptReconstructChain(refill, c.MaskFraction, c.ChainSteps, c.Copies, c.Training.Seed).Generate(target);
            cross = borrowing.Generate(sources, sourceRows);
        }
        foreach (var x in chain.Take(2).Concat(cross.Take(2))) log?.Invoke($"  {x.Generator}: \"{x.Original}\" -> \"{x.Text}\"");
        log?.Invoke($"{generatorKind} generators: {chain.Count} chain samples from the target and {cross.Count} rewritten from the sources ({clock.Elapsed.TotalSeconds:F0} s)");

        // Adversarial part: target vs generated on the teacher's sentence vectors; the least target-like are rejected.
        var generated = chain.Concat(cross).ToList();
        using var genPooled = TeacherView.Pooled(teacher, TeacherView.Encode(generated.Select(g => (g.Text, g.TextPair)), tokenizer, maxLen), c.EvalBatchSize, pad, device);
        // The teacher's logits of every generated text, through the label store (the arms' distill runs read the same store).
        var store = TeacherLabels.Open(c.LabelStore, c.Data.Train!, new TorchLabelTeacher(c.Teacher!, teacher, tokenizer, maxLen, device), c.EvalBatchSize, log);
        var genLogits = store.Logits(generated.Select(g => (g.Text, g.TextPair)).ToArray());
        using var discriminator = new DomainDiscriminator((int)targetPooled.shape[1], 32, c.Training.Seed);
        var dLoss = discriminator.Fit(targetPooled, genPooled, c.DiscriminatorSteps, 1e-2);
        var dScore = discriminator.Score(genPooled);
        var keepRows = generated.Select((g, i) => (g, i)).GroupBy(x => x.g.Generator)
            .SelectMany(grp => grp.OrderByDescending(x => dScore[x.i]).ThenBy(x => x.i).Take((int)Math.Ceiling(grp.Count() * (1 - c.AdversarialDrop))))
            .Select(x => x.i).OrderBy(i => i).ToArray();
        log?.Invoke($"discriminator: final loss {dLoss[^1]:F3}, mean P(target) chain {Mean(dScore, generated, "chain"):F3}, cross {Mean(dScore, generated, "cross"):F3}; {generated.Count - keepRows.Length} least target-like rejected");

        var pool = keepRows.Select(i => generated[i]).ToList();
        var poolLogits = keepRows.Select(i => genLogits[i]).ToArray();
        using var poolPooled = genPooled.index_select(0, tensor(keepRows.Select(i => (long)i).ToArray()));
        var candidatePool = new CandidatePool(TeacherView.Encode(pool.Select(g => (g.Text, g.TextPair)), tokenizer, maxLen), poolLogits,
            SelectorTraining.StaticFeatures(poolLogits, keepRows.Select(i => dScore[i]).ToArray(), poolPooled, targetPooled, pool));

        // Reinforced selector against a scout student of the same shape and init as the final students.
        var scout = StudentInit.Create(studentShape, teacher as BertForSequenceClassification, c.Init, c.Training.Seed);
        scout.to(device);
        using var selector = new ReinforcedSelector(CandidatePool.FeatureNames.Length, 16, c.SelectorLearningRate, c.Training.Seed);
        var history = SelectorTraining.Run(selector, scout, candidatePool, heldOut,
            new SelectorTraining.Settings(c.SelectorSteps, c.SelectorBatch, c.Training.LearningRate, c.Temperature, c.RewardScale, c.Training.Seed, c.EvalBatchSize,
                c.Training.MaxBadSteps),
            pad, device, log);
        var keep = SelectorTraining.KeepProbabilities(selector, scout, candidatePool, pad, device, c.EvalBatchSize);
        scout.Dispose();
        var selected = Enumerable.Range(0, pool.Count).Where(i => keep[i] >= c.KeepThreshold).ToArray();
        L2aFiles.WriteCandidates(Path.Combine(run.Dir, "candidates.tsv"), pool, candidatePool, keep, c.KeepThreshold);
        AugmentedSet.Write(Path.Combine(run.Dir, "selected.tsv"), teacher.Shape.Labels, selected.Select(i => Row(pool[i], poolLogits[i], teacher.Shape.Labels)));
        L2aFiles.WriteSelectorLog(Path.Combine(run.Dir, "selector.jsonl"), history);
        RewardPlot.Write(history, Path.Combine(run.Dir, "selector-reward.png"));
        log?.Invoke($"selector kept {selected.Length} of {pool.Count} candidates (π(keep) >= {c.KeepThreshold}); selected.tsv, candidates.tsv written");

        // The arms: the same KD run on target rows + each arm's augmented rows.
        var arms = new List<L2aArm>();
        foreach (string arm in c.ArmList)
        {
            var extra = arm switch
            {
                "none" => new List<(L2aCandidate, float[])>(),
                "pool" => pool.Select((g, i) => (g, poolLogits[i])).ToList(),
                "l2a" => selected.Select(i => (pool[i], poolLogits[i])).ToList(),
                "eda" => Label(new EdaAugmenter(c.EdaAlpha, c.Copies, c.Training.Seed).Generate(target), store),
                "tinybert" => Label(target.SelectMany((e, i) => refill.Augment(e.Text, i).Select(t => new L2aCandidate("tinybert", i, e.Domain, e.Label, e.Text, t, e.TextPair))).ToList(), store),
                _ => throw DistilException.Usage($"unknown arm '{arm}'"),
            };
            arms.Add(RunArm(c, runner, arm, target, extra, devPath, testPath, teacher.Shape.Labels, store.Dir));
        }
        var result = new L2aResult(arms, pool.Count, selected.Length, history, clock.Elapsed.TotalSeconds, generatorKind);
        L2aReport.Write(c, run, result, target.Count, generated.Count);
        return result;
    }

    /// <summary>
    /// The learned generators' head (docs/l2a.md §Learned generators), trained in run/generator/: masked-LM on source +
    /// target text, then REINFORCE against a discriminator fitted on target vs the stage-1 generator's samples and a
    /// scout student (the arms' shape and init) whose dev gain after one KD step rewards each group of samples.
    /// </summary>
    static MlmGenerator LearnedGenerator(L2aConfig c, StageRunner runner, EncoderClassifier teacher, TextTokenizer tokenizer, IReadOnlyList<Example> target,
        IReadOnlyList<Example> sources, CrossDomainBorrowing borrowing, Tensor targetPooled, EncodedExample[] heldOut, BertConfig studentShape, Action<string>? log)
    {
        var bert = teacher as BertForSequenceClassification ?? throw DistilException.Usage(
            $"--generator learned puts a masked-LM head on a BERT teacher's encoder; this teacher is {teacher.GetType().Name}: use --generator fixed");
        var wordPiece = tokenizer as BertTextTokenizer ?? throw DistilException.BadInput($"{tokenizer.Source}: the learned generator needs a WordPiece (BERT vocab.txt) teacher; use --generator fixed");
        var device = runner.Device;
        long pad = tokenizer.Pad;
        int maxLen = c.Data.MaxSeqLen;
        var s = new GeneratorSettings(c.GeneratorMlmSteps, c.GeneratorRlSteps, c.GeneratorBatch, c.GeneratorLearningRate, c.GeneratorRlLearningRate, c.GeneratorTemperature,
            c.GeneratorMlmWeight, c.GeneratorAdversarialWeight, c.GeneratorStudentWeight, c.GeneratorGroups, c.MaskFraction, c.BorrowFraction, c.Training.Seed);
        var g = new MlmGenerator(bert.bert, wordPiece, c.Candidates, c.GeneratorTemperature, maxLen, c.Training.Seed, device, c.GeneratorLayer, c.GeneratorNeighbourWeight);
        var t = target.Select(e => g.Prepare(e.Text)).ToArray();
        var src = sources.Select(e => g.Prepare(e.Text)).ToArray();
        GeneratorTraining.Run(runner, g, s, t, src, () =>
        {
            // The discriminator the generator is pushed against: target vs the stage-1 generator's samples.
            var probe = LearnedGenerators.Chain(g, target, c.Copies, 1, c.MaskFraction, c.Training.Seed + 2)
                .Concat(LearnedGenerators.Cross(g, borrowing, sources, Split.Sample(sources.Count, Math.Min(sources.Count, c.CrossPerTarget * target.Count), c.Training.Seed + 3), c.BorrowFraction, c.Training.Seed + 3))
                .ToArray();
            using var probePooled = TeacherView.Pooled(teacher, TeacherView.Encode(probe.Select(p => (p.Text, p.TextPair)), tokenizer, maxLen), c.EvalBatchSize, pad, device);
            var discriminator = new DomainDiscriminator((int)targetPooled.shape[1], 32, c.Training.Seed + 4);
            var dLoss = discriminator.Fit(targetPooled, probePooled, c.DiscriminatorSteps, 1e-2);
            log?.Invoke($"generator: discriminator fitted on {target.Count} target vs {probe.Length} stage-1 samples (final loss {dLoss[^1]:F3})");
            var scout = StudentInit.Create(studentShape, bert, c.Init, c.Training.Seed);
            scout.to(device);
            var start = scout.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());
            double before = SelectorTraining.HeldOutLoss(scout, heldOut, pad, device, c.EvalBatchSize);
            var budget = new NonFiniteBudget(c.Training.MaxBadSteps);
            (float[][], float[]) Score(IReadOnlyList<string> texts)
            {
                var (logits, pooled) = TeacherView.LogitsAndPooled(teacher, TeacherView.Encode(texts.Select(x => (x, (string?)null)), tokenizer, maxLen), pad, device);
                using (pooled) return (logits, discriminator.Score(pooled));
            }
            double Gain(IReadOnlyList<string> texts, IReadOnlyList<float[]> logits)
            {
                using (no_grad())
                    foreach (var (name, p) in scout.named_parameters()) p.copy_(start[name]);
                using var optimizer = optim.AdamW(scout.parameters(), lr: c.Training.LearningRate);
                var pool = new CandidatePool(TeacherView.Encode(texts.Select(x => (x, (string?)null)), tokenizer, maxLen), logits.ToArray(), Array.Empty<float[]>());
                SelectorTraining.KdStep(scout, optimizer, pool, Enumerable.Range(0, texts.Count).ToArray(), c.Temperature, pad, device, budget);
                double gain = (before - SelectorTraining.HeldOutLoss(scout, heldOut, pad, device, c.EvalBatchSize)) * c.RewardScale;
                return budget.Skip(gain, "reward", "L2A generator (scout reward)", "lower training.learning_rate (the scout's KD step) or reward_scale") ? 0 : gain;
            }
            return (new GeneratorReinforceObjective(g, t, src, borrowing, Score, Gain, s), start.Values.Append<IDisposable>(scout).Append(discriminator).ToArray());
        }, c.Training.MaxBadSteps);
        return g;
    }

    /// <summary>One arm: a `distil distill` run folder of its own in run/arms/ARM (its done.json holds the arm's row).</summary>
    static L2aArm RunArm(L2aConfig c, StageRunner runner, string arm, IReadOnlyList<Example> target, List<(L2aCandidate G, float[] Logits)> extra,
        string devPath, string? testPath, IReadOnlyList<string> labels, string labelStore) =>
        runner.Stage(Path.Combine("arms", arm), dir =>
        {
            var rows = target.Select(e => (e.Text, e.TextPair, e.Label!))
                .Concat(extra.Select(x => (x.G.Text, x.G.TextPair, labels[ArgMax(x.Logits)]))).ToArray();
            string trainPath = L2aFiles.WriteTsv(Path.Combine(runner.Run.Dir, "data", $"train-{arm}.tsv"), rows.Select(r => new Example(r.Item1, r.Item2, r.Item3, c.Target, "")).ToArray());
            var config = new DistillConfig
            {
                Teacher = c.Teacher, Student = c.Student, Init = c.Init, Preset = "kd", Temperature = c.Temperature, Alpha = c.Alpha,
                Data = new DataSettings { Train = trainPath, Dev = devPath, Test = testPath, DomainColumn = "domain", MaxSeqLen = c.Data.MaxSeqLen },
                EvalBatchSize = c.EvalBatchSize, LabelStore = labelStore, Out = dir, Device = c.Device, Threads = c.Threads, Training = c.Training,
            };
            runner.Say($"arm {arm}: KD on {target.Count} target rows + {extra.Count} augmented");
            var clock = Stopwatch.StartNew();
            bool again = runner.Resume && File.Exists(Path.Combine(dir, "config.resolved.json"));
            var armRun = RunFolder.Create(dir, "distill", JsonSerializer.SerializeToNode(config)!, again);
            var r = armRun.Run(() => DistillPipeline.Run(config, runner.Context with { Run = armRun, Resume = again }));
            double Acc(IReadOnlyDictionary<string, double>? m) => m != null && m.TryGetValue("accuracy", out var a) ? a : double.NaN;
            var result = new L2aArm(arm, target.Count, extra.Count, Acc(r.Student.Dev), Acc(r.Student.Test), Acc(r.Teacher.Test), clock.Elapsed.TotalSeconds);
            runner.Say($"arm {arm}: dev {result.DevAccuracy:P2}, test {result.TestAccuracy:P2} (teacher {result.TeacherTestAccuracy:P2})");
            return result;
        }, progressName: $"arm {arm}").Value;

    static List<(L2aCandidate, float[])> Label(List<L2aCandidate> made, TeacherLabels store)
    {
        var logits = store.Logits(made.Select(g => (g.Text, g.TextPair)).ToArray());
        return made.Select((g, i) => (g, logits[i])).ToList();
    }

    static DatasetFile Read(DataSettings d, string path)
    {
        var columns = new ColumnMapping(
            d.TextColumn != null ? Column.Parse(d.TextColumn) : null, d.TextPairColumn != null ? Column.Parse(d.TextPairColumn) : null,
            d.LabelColumn != null ? Column.Parse(d.LabelColumn) : null, d.DomainColumn != null ? Column.Parse(d.DomainColumn) : null);
        return DatasetReader.Read(path, columns, d.Format != null ? DataFormats.Parse(d.Format) : null, skipBadRows: d.SkipBadRows);
    }

    static EncodedExample[] Encode(IReadOnlyList<Example> rows, TextTokenizer tokenizer, LabelSet labels, int maxLen) =>
        ExampleEncoder.Encode(rows, tokenizer, labels, DomainSet.Empty, maxLen);

    static int ArgMax(float[] z) => Array.IndexOf(z, z.Max());

    static double Mean(float[] score, List<L2aCandidate> g, string generator)
    {
        var v = g.Select((x, i) => (x, i)).Where(p => p.x.Generator == generator).Select(p => (double)score[p.i]).ToArray();
        return v.Length > 0 ? v.Average() : double.NaN;
    }

    static AugmentedRow Row(L2aCandidate g, float[] logits, IReadOnlyList<string> labels)
    {
        var p = TeacherLabels.Softmax(logits);
        return new AugmentedRow(g.SourceRow, g.Original, g.Text, g.TextPair, labels[ArgMax(p)], p.Select(v => Math.Round((double)v, 6)).ToArray(), g.SourceDomain);
    }

    /// <summary>A text, label, domain TSV (text_pair too when any row has one); tabs and newlines in texts become spaces.</summary>
}
