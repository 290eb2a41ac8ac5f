using System.Diagnostics;
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

namespace Distil.FineTune;

/// <summary>
/// `distil finetune` on SQuAD-format data: windows with doc stride -> the family's ...ForQuestionAnswering (a new
/// qa_outputs on an encoder folder) -> the one Trainer through the StageRunner, best/ chosen by dev F1 -> EM/F1 of
/// best/ as saved -> report.md. docs/tasks.md §Extractive QA.
/// </summary>
public static class QaFineTunePipeline
{
    public static FineTuneResult Run(FineTuneConfig c, RunContext ctx)
    {
        c.Validate();
        var (run, device) = (ctx.Run, ctx.Device);
        var runner = new StageRunner(ctx, c.LogEverySteps);
        var tokenizer = TokenizerFolder.Load(c.Model!);
        var data = QaTaskData.Load(c.Data, c.Qa, tokenizer);
        bool v2 = data.Train.File.HasImpossible || (data.Dev?.File.HasImpossible ?? false) || (data.Test?.File.HasImpossible ?? false);
        var decoding = c.Qa.Decoding(v2);

        manual_seed(c.Training.Seed); // the new qa_outputs
        var (model, load) = QaFolder.Load(c.Model!);
        model.to(device);
        int longest = data.Train.Features.Max(f => f.Length);
        string memory = runner.CheckMemory("distil finetune", c.Training.BatchSize,
            b => MemoryEstimate.ForTraining(model.Shape, b, longest), c.Training.MemoryLimitMb);
        long pad = tokenizer.Pad;

        var source = new QaBatchSource(data.Train.Features, c.Training.BatchSize, c.Training.Seed, pad);
        var evaluator = data.Dev != null ? new QaEvaluator(model, data.Dev, decoding, c.EvalBatchSize, pad, device) : null;
        var clock = Stopwatch.StartNew();
        long startStep = 0;
        var state = runner.Train(run.Dir, new TrainingStage<QaBatch>(new Dictionary<string, nn.Module> { ["model"] = model },
            new QaObjective(model, device), source, c.Training with { SelectBestBy = evaluator == null ? "loss" : c.Training.SelectBestBy is "exact" ? "exact" : "f1" },
            evaluator, SaveBest: dir => QaFolder.Save(dir, model, c.Model!))
        { Callbacks = new[] { new StepAtStart(s => startStep = s) } });
        double seconds = clock.Elapsed.TotalSeconds;
        if (evaluator == null) QaFolder.Save(run.BestDir, model, c.Model!);
        model.Dispose();

        var (best, _) = QaFolder.Load(run.BestDir);
        using (best)
        {
            best.to(device);
            best.eval(); // a loaded module starts in training mode: dropout would score a random thinning of best/
            var splits = new List<SplitMetrics>();
            foreach (var (name, split) in new[] { ("dev", data.Dev), ("test", data.Test) })
                if (split != null)
                    splits.Add(new SplitMetrics(name, QuestionAnswering.Evaluate(i => { var o = best.forward(i); return (o.StartLogits, o.EndLogits); },
                        split, decoding, c.EvalBatchSize, pad, device).Metrics));
            double epochs = Math.Max(1e-9, (double)(state.GlobalStep - startStep) / Math.Max(1, source.BatchCount(0)));
            var result = new FineTuneResult(splits, state.GlobalStep, seconds, seconds / epochs, run.BestDir);
            WriteReport(c, run, result, load, data, v2, memory);
            runner.WriteResult(result);
            return result;
        }
    }

    sealed class StepAtStart(Action<long> set) : TrainerCallback
    {
        public override void OnTrainBegin(TrainerState state) => set(state.GlobalStep);
    }

    static void WriteReport(FineTuneConfig c, RunFolder run, FineTuneResult r, LoadReport load, QaTaskData data, bool v2, string memory)
    {
        string plot = "training.png";
        TrainingPlot.Write(run.MetricsPath, Path.Combine(run.Dir, plot), metric: data.Dev != null ? "f1" : "loss");
        string F(double v) => v.ToString("F1", CultureInfo.InvariantCulture);
        string Split(string? path, QaSplit? s) => s == null ? "none" : $"{path} ({s.Questions.Count} questions, {s.Features.Count} windows, {s.File.Skipped} bad rows skipped)";
        var w = new ReportWriter("distil finetune (extractive QA)")
            .KeyValues("Run", new[]
            {
                ("model", c.Model!), ("train", Split(c.Data.Train, data.Train)), ("dev", Split(c.Data.Dev, data.Dev)), ("test", Split(c.Data.Test, data.Test)),
                ("format", v2 ? "SQuAD 2.0 (questions without an answer)" : "SQuAD 1.1"),
                ("newly initialised", load.Missing.Count > 0 ? string.Join(", ", load.Missing) : "nothing"),
                ("steps", r.Steps.ToString(CultureInfo.InvariantCulture)), ("train time", $"{F(r.TrainSeconds)} s"), ("time per epoch", $"{F(r.SecondsPerEpoch)} s"),
                ("settings", $"epochs {c.Training.Epochs}, batch {c.Training.BatchSize}, lr {c.Training.LearningRate}, max_seq_len {c.Data.MaxSeqLen}, " +
                    $"doc_stride {c.Qa.Windowing(c.Data.MaxSeqLen).DocStride}, max_answer_length {c.Qa.MaxAnswerLength}, seed {c.Training.Seed}, threads {torch.get_num_threads()}"),
                ("memory", memory),
            })
            .MetricsTable("Metrics of best/ (exact and f1 in percent, as the official SQuAD scripts)", r.Splits.Select(m => (m.Split, m.Metrics)).ToList())
            .Image("loss and dev F1", plot);
        if (data.Train.File.Skipped > 0) w.Paragraph("Skipped questions (first reasons):\n\n" + string.Join("\n", data.Train.File.SkipReasons.Select(s => $"- {s}")));
        w.Save(run.ReportPath);
    }
}
