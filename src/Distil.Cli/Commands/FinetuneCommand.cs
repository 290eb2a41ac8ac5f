using System.CommandLine;
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
              distil finetune --out runs/ft --resume              (continue after an interruption, with the run's own settings)
            """);
        common.AddTo(cmd);
        void Add<T>(Option<T> o, string path) { cmd.Options.Add(o); common.Map(o, path); }
        Add(new Option<string?>("--model") { Description = "Teacher folder (config.json, model.safetensors, vocab.txt)" }, "model");
        Add(new Option<string?>("--train") { Description = "Training data (.tsv, .csv, .jsonl) or a GLUE folder with --glue-task" }, "train");
        Add(new Option<string?>("--dev") { Description = "Dev data: evaluated during training, picks best/" }, "dev");
        Add(new Option<string?>("--test") { Description = "Test data: evaluated once with best/ at the end" }, "test");
        Add(new Option<string?>("--format") { Description = "tsv, csv or jsonl (default: from the extension)" }, "format");
        Add(new Option<string?>("--glue-task") { Description = "sst2, cola, mrpc, qqp, qnli, rte or mnli: that task's columns" }, "glue_task");
        Add(new Option<string?>("--text-column") { Description = "Column of the text (name or 0-based index)" }, "text_column");
        Add(new Option<string?>("--text-pair-column") { Description = "Column of the second text of a pair" }, "text_pair_column");
        Add(new Option<string?>("--label-column") { Description = "Column of the label" }, "label_column");
        Add(new Option<string?>("--domain-column") { Description = "Column of the domain (per-domain metrics)" }, "domain_column");
        Add(new Option<bool>("--skip-bad-rows") { Description = "Skip malformed rows (counted in the report) instead of stopping" }, "skip_bad_rows");
        Add(new Option<int>("--max-seq-len") { Description = "Tokens per example incl. [CLS]/[SEP] (default 128)" }, "max_seq_len");
        Add(new Option<string?>("--pooling") { Description = "Classifier input: pooler ([CLS] + tanh, HF) or mean (of token states)" }, "pooling");
        Add(new Option<int>("--epochs") { Description = "Epochs (default 3)" }, "training.epochs");
        Add(new Option<int>("--batch-size") { Description = "Batch size (default 32)" }, "training.batch_size");
        Add(new Option<double>("--lr") { Description = "Peak learning rate of AdamW (default 5e-5)" }, "training.learning_rate");
        Add(new Option<double>("--weight-decay") { Description = "AdamW weight decay (default 0.01)" }, "training.weight_decay");
        Add(new Option<double>("--warmup-ratio") { Description = "Fraction of steps of linear warm-up (default 0.1)" }, "training.warmup_ratio");
        Add(new Option<int>("--seed") { Description = "Seed of data order, dropout and the new head (default 42)" }, "training.seed");
        Add(new Option<int>("--eval-every") { Description = "Evaluate every N steps (default: each epoch)" }, "training.eval_every_steps");
        Add(new Option<int>("--save-every") { Description = "Checkpoint every N steps (default: each epoch)" }, "training.save_every_steps");
        Add(new Option<int>("--max-steps") { Description = "Stop after N steps in all" }, "training.max_steps");
        cmd.SetAction(r =>
        {
            var (config, resolved) = ConfigResolver.Resolve<FineTuneConfig>(CommonOptions.ConfigOrRunConfig(r, common), common.Overrides(r));
            config.Validate();
            var device = CommonOptions.Setup(config.Device, config.Threads);
            var run = RunFolder.Create(config.Out!, "finetune", resolved, r.GetValue(common.Resume));
            var result = TrainingProgress.Run("finetune", progress => FineTunePipeline.Run(config, run, r.GetValue(common.Resume), device, progress));
            Print(result, run);
            return ExitCodes.Ok;
        });
        return cmd;
    }

    public static void Print(FineTuneResult result, RunFolder run)
    {
        var table = new Table().AddColumns("split", "examples", "accuracy", "macro-F1", "MCC");
        foreach (var (split, m) in result.Splits)
            table.AddRow(split, $"{m.GetValueOrDefault("examples"):F0}", $"{100 * m["accuracy"]:F2}%", $"{100 * m["macro_f1"]:F2}%", $"{m["mcc"]:F4}");
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLineInterpolated($"best model: {run.BestDir}   report: {run.ReportPath}");
    }
}
