using System.CommandLine;
using Distil.FineTune;
using Distil.Pipelines;
using Distil.Reports;
using Distil.Training;
using Spectre.Console;

namespace Distil.Cli.Commands;

/// <summary>`distil finetune`: fine-tune a BERT teacher for sequence classification.</summary>
public static class FinetuneCommand
{
    public static Command Create()
    {
        var common = new CommonOptions();
        var cmd = new Command("finetune", """
            Fine-tune a BERT model (HF folder) for sentence or sentence-pair classification.
            Writes a run folder: config.resolved.json, metrics.jsonl, checkpoints/, best/ (a loadable model folder), report.md.

            Examples:
              distil finetune --model models/minilm --train data/uci-sentiment/train.domain.tsv --dev data/uci-sentiment/dev.domain.tsv --out runs/ft
              distil finetune --config run.json --epochs 2        (flags override the config file)
              distil finetune --model models/minilm --task token --train data/wordnet-supersense/train.conll --dev data/wordnet-supersense/dev.conll --out runs/ft-sst
              distil finetune --out runs/ft --resume              (continue after an interruption, with the run's own settings)
            """);
        common.AddTo(cmd);
        void Add<T>(Option<T> o, string path) { cmd.Options.Add(o); common.Map(o, path); }
        Add(OptionMeanings.Create<string?>("--model", ": a model folder (config.json, model.safetensors, vocab.txt) to fine-tune; a pre-trained encoder gets a new classifier head"), "model");
        common.AddDataOptions(cmd, new FineTuneConfig().Data);
        common.AddTaskOptions(cmd, "; the head: HF's ...ForTokenClassification for token, a sequence head with config.json's problem_type for regression and multi-label");
        Add(OptionMeanings.Create<string?>("--pooling", "(default: the model's own)"), "pooling");
        common.AddTrainingOptions(cmd, new FineTuneConfig().Training);
        QaOptions.AddTo(cmd, common);
        cmd.SetAction(r =>
        {
            var (result, run) = PipelineCommand.Run<FineTuneConfig, FineTuneResult>(r, common, "finetune", FineTunePipeline.Run);
            Print(result, run);
            return ExitCodes.Ok;
        });
        return cmd;
    }

    public static void Print(FineTuneResult result, RunFolder run)
    {
        if (result.Splits.Any(s => s.Metrics.ContainsKey("exact"))) { QaOptions.Print(result.Splits, run); return; }
        if (result.Splits.Count > 0 && !result.Splits[0].Metrics.ContainsKey("accuracy"))
        {
            // Token, regression and multi-label runs: their own metrics (docs/tasks.md).
            string[] known = ["f1", "precision", "recall", "token_accuracy", "pearson", "spearman", "mse", "micro_f1", "macro_f1", "subset_accuracy", "loss"];
            var keys = known.Where(result.Splits[0].Metrics.ContainsKey).ToArray();
            var t = new Table().AddColumns(["split", "examples", .. keys]);
            foreach (var (split, m) in result.Splits)
                t.AddRow([split, $"{m.GetValueOrDefault("examples"):F0}", .. keys.Select(k => k is "loss" or "mse" ? $"{m[k]:F4}" : $"{100 * m[k]:F2}")]);
            AnsiConsole.Write(t);
            AnsiConsole.MarkupLineInterpolated($"best model: {run.BestDir}   report: {run.ReportPath}");
            return;
        }
        var table = new Table().AddColumns("split", "examples", "accuracy", "macro-F1", "MCC");
        foreach (var (split, m) in result.Splits)
            table.AddRow(split, $"{m.GetValueOrDefault("examples"):F0}", $"{100 * m["accuracy"]:F2}%", $"{100 * m["macro_f1"]:F2}%", $"{m["mcc"]:F4}");
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLineInterpolated($"best model: {run.BestDir}   report: {run.ReportPath}");
    }
}
