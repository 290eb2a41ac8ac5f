using System.Text.Json;
using System.Text.Json.Serialization;
using Distil.Augment;
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

namespace Distil.Search;

public sealed record SearchRunResult(ModelSummary Teacher, ModelSummary Student, Genotype Genotype, SearchOutcome Search,
    double RetrainSeconds, OpCosts Costs, ProbeTargets Probes, string BestDir);

/// <summary>run/result.json of `distil search` (read by bench summaries).</summary>
public sealed record SearchResultFile(
    [property: JsonPropertyName("teacher")] ModelSummary Teacher,
    [property: JsonPropertyName("student")] ModelSummary Student,
    [property: JsonPropertyName("genotype")] Genotype Genotype,
    [property: JsonPropertyName("genotype_text")] string GenotypeText,
    [property: JsonPropertyName("search_seconds")] double SearchSeconds,
    [property: JsonPropertyName("retrain_seconds")] double RetrainSeconds,
    [property: JsonPropertyName("retrain_augment_copies")] int? RetrainAugmentCopies,
    [property: JsonPropertyName("retrain_transfer")] string? RetrainTransfer,
    [property: JsonPropertyName("search_step")] long SearchStep,
    [property: JsonPropertyName("search_dev_accuracy")] double? SearchDevAccuracy,
    [property: JsonPropertyName("op_costs_ms")] IReadOnlyList<double>? OpCostsMs,
    [property: JsonPropertyName("machine")] string? Machine,
    [property: JsonPropertyName("latency_seq_len")] int LatencySeqLen,
    [property: JsonPropertyName("seed")] int Seed);

/// <summary>
/// `distil search` as a library call: teacher probes (cached) -> op costs (cached per machine) -> search (run/search,
/// resumable, done.json when finished) -> derive (run/genotype.json) -> retrain through the shared Trainer
/// (run/retrain, resumable) -> best/ (an adabert_cnn model folder) -> teacher vs student -> report.md with pictures.
/// </summary>
public static class SearchPipeline
{
    /// <summary>What the retrain stage's done.json records.</summary>
    sealed record RetrainRecord(int Rows);

    public static SearchRunResult Run(SearchConfig c, RunContext ctx)
    {
        c.Validate();
        var (run, device, log) = (ctx.Run, ctx.Device, ctx.Log);
        var runner = new StageRunner(ctx, c.LogEverySteps);
        var (teacher, _) = EncoderFamilies.LoadForClassification(c.Teacher!); // any encoder family
        teacher.to(device);
        teacher.eval();
        var tokenizer = TokenizerFolder.Load(c.Teacher!);
        var data = TaskData.Load(c.Data, tokenizer, LabelSet.FromConfig(teacher.Shape));
        long pad = tokenizer.Pad;
        int latencySeq = Math.Min(64, c.Data.MaxSeqLen);
        var o = c.Search;
        if (o.Head == CnnInputs.PairHead && !data.Train.Examples.Any(e => e.TextPair != null))
            throw DistilException.Usage($"--cnn-head pair pools each text of a pair apart, but {c.Data.Train} has no second text (text_b / text_pair column); use --cnn-head pooled");

        var probes = TeacherProbes.GetOrCompute(c.Teacher!, teacher, data, new ProbeSettings(o.ProbeEpochs, o.ProbeLearningRate, 32, c.SearchTraining.Seed),
            c.EvalBatchSize, pad, device, log);
        var costs = o.OpCostsMs != null ? OpCosts.Fixed(o.OpCostsMs, o.HiddenSize, latencySeq) : OpCosts.GetOrMeasure(o.HiddenSize, latencySeq, log: log);

        manual_seed(c.SearchTraining.Seed);
        var tables = TeacherTables.Of(teacher, device);
        using var net = new SuperNet(tables, o.KMax, o.HiddenSize, data.Labels.Count, o.Dropout, o.Pooling, o.Head);
        net.to(device);
        // Before the search and the retraining: refused up front when the supernet at this batch cannot fit.
        runner.CheckMemory("distil search", c.SearchTraining.BatchSize,
            b => SearchMemory.Estimate(net.parameters().Sum(p => p.numel()), teacher.Shape, o, b, c.Data.MaxSeqLen), c.SearchTraining.MemoryLimitMb);

        // 1. search
        string searchDir = Path.Combine(run.Dir, "search");
        Directory.CreateDirectory(searchDir);
        var search = new ArchSearch(net, o, c.SearchTraining, probes, costs,
            new EncodedBatchSource(data.TrainSet, c.SearchTraining.BatchSize, c.SearchTraining.Seed, pad), data.DevSet, pad, device, searchDir,
            Callbacks(run, 1, c.LogEverySteps, ctx.Progress), c.EvalBatchSize);
        ctx.Progress?.OnStageBegin("search");
        var outcome = runner.Stage("search", _ => search.Run(ctx.Resume)).Value;

        // 2. derive (or its identity-only ablation)
        var genotype = outcome.Genotype();
        if (c.Retrain.Cells == "identity")
        {
            log?.Invoke($"derived: {genotype}; retraining its identity-only cells (retrain.cells identity)");
            genotype = genotype.IdentityOnly();
        }
        RunFolder.WriteAtomic(Path.Combine(run.Dir, "genotype.json"), JsonSerializer.Serialize(genotype, new JsonSerializerOptions { WriteIndented = true }));
        log?.Invoke($"derived: {genotype}");

        // 3. retrain from the search weights of the selected step
        net.load(search.BestSupernetPath);
        var config = AdaBertCnnConfig.Create(genotype, teacher.Shape.VocabSize, (int)tables.Position.shape[0], o.HiddenSize, teacher.Shape.PadTokenId,
            data.Labels.Names, o.Dropout, o.Pooling, o.Head);
        using var student = AdaBertCnnForSequenceClassification.FromSearch(net, genotype, config);
        student.to(device);
        double retrainSeconds = runner.Stage("retrain", dir =>
        {
            var evaluator = data.DevSet != null
                ? new ModuleEvaluator(student, student.forward, data.DevSet, data.Labels.Count, data.Domains, c.EvalBatchSize, pad, device) : null;
            var (retrainSet, teacherLogits) = RetrainData(c, teacher, tokenizer, data, probes, device, log);
            runner.Train(dir, new TrainingStage<Batch>(new Dictionary<string, nn.Module> { ["student"] = student },
                new RetrainObjective(student, teacherLogits, c.Retrain.KdWeight, c.Retrain.Temperature, device),
                new EncodedBatchSource(retrainSet, c.Retrain.Training.BatchSize, c.Retrain.Training.Seed, pad), c.Retrain.Training,
                evaluator, SaveBest: _ => AdaBertCnnFolder.Save(run.BestDir, student, c.Teacher!))
            { MetricsStage = 2 });
            if (evaluator == null) AdaBertCnnFolder.Save(run.BestDir, student, c.Teacher!);
            return new RetrainRecord(retrainSet.Length);
        }, progressName: "retrain").Seconds;

        // 4. compare
        using var best = AdaBertCnnFolder.Load(run.BestDir);
        best.to(device);
        var teacherSummary = Summarize("teacher", teacher, i => teacher.forward(i).Logits, teacher.Shape.VocabSize,
            StudentShapes.NonEmbeddingParameters(teacher), data, c, pad, device, latencySeq);
        long studentTables = best.embeddings.word_embeddings.weight!.numel() + best.embeddings.position_embeddings.weight!.numel();
        var studentSummary = Summarize($"AdaBERT CNN ({genotype.Depth} cells, hidden {o.HiddenSize})", best, best.forward, best.Config.VocabSize,
            best.parameters().Sum(p => p.numel()) - studentTables, data, c, pad, device, latencySeq);
        var result = new SearchRunResult(teacherSummary, studentSummary, genotype, outcome, retrainSeconds, costs, probes, run.BestDir);
        SearchReport.Write(c, run, result, data, search.AlphaLogPath);
        // The numbers of the report as data (bench summaries aggregate seeds from these).
        runner.WriteResult(new SearchResultFile(teacherSummary, studentSummary, genotype, genotype.ToString(), outcome.Seconds, retrainSeconds,
            c.Retrain.Augment.Copies, c.Retrain.Transfer.Path, outcome.Step, outcome.DevAccuracy, costs.Milliseconds, costs.Machine, latencySeq,
            c.SearchTraining.Seed));
        return result;
    }

    /// <summary>`distil search --derive-only RUN`: the genotype of a finished (or interrupted) search, from run/search/best.json.</summary>
    public static Genotype DeriveOnly(string runDir)
    {
        var outcome = ArchSearch.ReadBest(Path.Combine(runDir, "search", "best.json"));
        var g = outcome.Genotype();
        RunFolder.WriteAtomic(Path.Combine(runDir, "genotype.json"), JsonSerializer.Serialize(g, new JsonSerializerOptions { WriteIndented = true }));
        return g;
    }

    /// <summary>
    /// The retraining rows and the teacher's logits for each (row order): the training set as searched, plus, with
    /// retrain.augment, its teacher-labelled augmented copies, plus, with retrain.transfer, the teacher-labelled
    /// sentences of the transfer file (labels through the label store, so seeds and other commands share them).
    /// </summary>
    static (EncodedExample[] Rows, Tensor TeacherLogits) RetrainData(SearchConfig c, EncoderClassifier teacher, TextTokenizer tokenizer,
        TaskData data, ProbeTargets probes, Device device, Action<string>? log)
    {
        var rows = new List<EncodedExample>(data.TrainSet);
        var logits = new List<Tensor> { probes.TeacherLogits };
        TeacherLabels? store = null;
        TeacherLabels Store() => store ??= TeacherLabels.Open(c.LabelStore, data.Train.Path, new TorchLabelTeacher(c.Teacher!, teacher, tokenizer, c.Data.MaxSeqLen, device), c.EvalBatchSize, log);
        if (c.Retrain.Augment.Copies > 0)
        {
            var (extended, added) = TeacherAugmentation.Extend(c.Teacher!, teacher as BertForSequenceClassification
                ?? throw DistilException.Usage($"retrain.augment (word replacement from the masked-LM head) needs a BERT teacher; this one is {teacher.GetType().Name}: leave it out"), tokenizer, data, c.Retrain.Augment, c.Data.MaxSeqLen, Store(), device, log);
            rows.AddRange(extended.TrainSet[data.TrainSet.Length..]);
            logits.Add(tensor(Store().Logits(added).SelectMany(l => l).ToArray()).view(added.Count, -1));
        }
        if (c.Retrain.Transfer.Enabled)
        {
            var sentences = TransferSet.ReadSentences(c.Retrain.Transfer, TransferSet.HeldOut(data), log);
            var (extra, extraLogits) = LabelStore.IsStore(c.Retrain.Transfer.Path!)
                ? TransferSet.FromStore(c.Teacher!, teacher, tokenizer, sentences, c.Data.MaxSeqLen, c.Retrain.Transfer.Path!, log)
                : TransferSet.Label(Store(), teacher, tokenizer, sentences, c.Data.MaxSeqLen, log);
            rows.AddRange(extra);
            logits.Add(extraLogits);
        }
        if (rows.Count > data.TrainSet.Length) log?.Invoke($"retraining on {data.TrainSet.Length} rows + {rows.Count - data.TrainSet.Length} teacher-labelled");
        return (rows.ToArray(), logits.Count == 1 ? logits[0] : cat(logits, 0));
    }

    static List<TrainerCallback> Callbacks(RunFolder run, int stage, int logEvery, TrainerCallback? progress)
    {
        var list = new List<TrainerCallback> { new MetricsLog(run.MetricsPath, logEvery, stage) };
        if (progress != null) list.Add(progress);
        return list;
    }

    static ModelSummary Summarize(string name, nn.Module m, Func<BertInputs, Tensor> logits, int vocab, long nonEmbedding, TaskData data, SearchConfig c, long pad, Device device, int seq) =>
        ModelSummary.Measure(name, m, logits, vocab, nonEmbedding, data, c.EvalBatchSize, pad, device, seq, latencyRuns: 50);

}
