using System.Diagnostics;
using Distil.Checkpoints;
using Distil.Data;
using Distil.Pipelines;
using Distil.Text;
using Distil.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Distil.FineTune;

/// <summary>The metrics of best/ on one split.</summary>
public sealed record SplitMetrics(string Split, IReadOnlyDictionary<string, double> Metrics);

/// <summary>What `distil finetune` produced (result.json).</summary>
public sealed record FineTuneResult(IReadOnlyList<SplitMetrics> Splits, long Steps, double TrainSeconds, double SecondsPerEpoch, string BestDir);

/// <summary>`distil finetune` as a library call: data -> teacher + new head -> Trainer -> best/ -> metrics -> report.md.</summary>
public static class FineTunePipeline
{
    public static FineTuneResult Run(FineTuneConfig c, RunContext ctx)
    {
        c.Validate();
        if (QaTaskData.IsSquad(c.Data.Train)) return QaFineTunePipeline.Run(c, ctx); // SQuAD JSON: extractive QA
        var (run, device) = (ctx.Run, ctx.Device);
        var runner = new StageRunner(ctx, c.LogEverySteps);
        var tokenizer = TokenizerFolder.Load(c.Model!);
        var data = TaskData.Load(c.Data, tokenizer);
        var (labels, domains, trainSet, devSet, testSet) = (data.Labels, data.Domains, data.TrainSet, data.DevSet, data.TestSet);

        manual_seed(c.Training.Seed); // the new classifier head
        var (model, load) = TaskModels.Load(c.Model!, data.Task, labels.Names, c.Pooling);
        model.to(device);
        // Before any training: a run that cannot fit is refused with the estimate, not killed by the OOM killer midway.
        string memory = runner.CheckMemory("distil finetune", c.Training.BatchSize,
            b => MemoryEstimate.ForTraining(model.Shape, b, MemoryEstimate.LongestBatch(c.Data.MaxSeqLen, trainSet)), c.Training.MemoryLimitMb);
        long pad = tokenizer.Pad;

        var source = new EncodedBatchSource(trainSet, c.Training.BatchSize, c.Training.Seed, pad);
        var evaluator = devSet != null ? new TaskEvaluator(model, devSet, labels, domains, data.Threshold, c.EvalBatchSize, pad, device) : null;
        // The default (accuracy) picks best/ by the task's headline metric: entity F1, Pearson, micro F1.
        var training = c.Training.SelectBestBy == "accuracy" ? c.Training with { SelectBestBy = TaskHeads.HeadlineMetric(data.Task) } : c.Training;
        var session = new SessionStart();
        var clock = Stopwatch.StartNew();
        // Fine-tuning is one training in the run folder itself (run/checkpoints, run/best).
        var state = runner.Train(run.Dir, new TrainingStage<Batch>(new Dictionary<string, nn.Module> { ["model"] = model },
            new CrossEntropyObjective(model, device), source, training with { SelectBestBy = devSet != null ? training.SelectBestBy : "loss" },
            evaluator, SaveBest: dir => ModelFolder.Save(dir, model, c.Model!))
        { Callbacks = new[] { session } });
        double seconds = clock.Elapsed.TotalSeconds;
        if (evaluator == null) ModelFolder.Save(run.BestDir, model, c.Model!); // nothing to select by: the last weights

        // Final numbers always come from best/ as saved, i.e. what a user will load.
        var (best, _) = TaskModels.Load(run.BestDir);
        best.to(device);
        var splits = new List<SplitMetrics>();
        foreach (var (name, set) in new[] { ("dev", devSet), ("test", testSet) })
            if (set != null)
                splits.Add(new SplitMetrics(name, TaskHeads.Metrics(best.Task,
                    Classifier.Predict(best, i => best.forward(i).Logits, set, c.EvalBatchSize, pad, device, task: best.Task), set, labels, domains, data.Threshold)));

        double epochs = Math.Max(1e-9, (double)(state.GlobalStep - session.Step) / Math.Max(1, source.BatchCount(0))); // this session's share
        var result = new FineTuneResult(splits, state.GlobalStep, seconds, seconds / epochs, run.BestDir);
        FineTuneReport.Write(c, run, result, load, data, ctx.Resume, memory);
        runner.WriteResult(result);
        return result;
    }

    /// <summary>The step this session started at (0, or the checkpoint resumed from), for honest time per epoch.</summary>
    sealed class SessionStart : TrainerCallback
    {
        public long Step { get; private set; }
        public override void OnTrainBegin(TrainerState state) => Step = state.GlobalStep;
    }
}
