using System.CommandLine;
using System.Text.Json;
using Distil.Checkpoints;
using Distil.Data;
using Distil.Models;
using Distil.Text;
using Distil.Training;
using Spectre.Console;
using TorchSharp;

namespace Distil.Cli.Commands;

/// <summary>`distil eval`: metrics of a model folder on a labelled file.</summary>
public static class EvalCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = OptionMeanings.Describe("--model", ": a classifier folder to evaluate (e.g. runs/ft/best)"), Required = true };
        var data = new Option<string>("--data") { Description = OptionMeanings.Describe("--data", ": labelled (.tsv, .csv, .jsonl)"), Required = true };
        var format = OptionMeanings.Create<string?>("--format");
        var text = OptionMeanings.Create<string?>("--text-column");
        var pair = OptionMeanings.Create<string?>("--text-pair-column");
        var label = OptionMeanings.Create<string?>("--label-column");
        var domain = OptionMeanings.Create<string?>("--domain-column", "(per-domain accuracy)");
        var maxLen = new Option<int>("--max-seq-len") { Description = OptionMeanings.Describe("--max-seq-len", "(default 128)"), DefaultValueFactory = _ => 128 };
        var batch = new Option<int>("--batch-size") { Description = OptionMeanings.Describe("--batch-size", "(default 64)"), DefaultValueFactory = _ => 64 };
        var json = new Option<string?>("--metrics-json") { Description = "Also write the metrics to this JSON file" };
        var skip = OptionMeanings.Create<bool>("--skip-bad-rows");
        var threads = OptionMeanings.Create<int?>("--threads", "of Torch (default: all cores)");
        var threshold = new Option<double>("--threshold") { Description = OptionMeanings.Describe("--threshold", "(default 0.5)"), DefaultValueFactory = _ => 0.5 };
        var device = OptionMeanings.Create<string?>("--device");
        var (stride, answerLen, nullThreshold) = (QaOptions.DocStride(), QaOptions.MaxAnswerLength(), QaOptions.NullThreshold());
        var cmd = new Command("eval", """
            Evaluate a model folder on labelled data: accuracy, macro-F1, MCC, loss, per-domain accuracy.
            A token classifier (CoNLL or JSONL tokens/tags): entity precision/recall/F1 and word accuracy; a regression
            model: Pearson, Spearman, MSE; a multi-label model: micro/macro F1 and subset accuracy (per domain where
            the data has a domain column). The task is the model's (config.json). On a SQuAD JSON file a QA folder's
            exact match and F1 (HasAns/NoAns for SQuAD 2.0).

            Example:
              distil eval --model runs/ft/best --data data/uci-sentiment/test.domain.tsv
              distil eval --model runs/qa/best --data data/wordnet-qa/test.json
            """);
        foreach (var o in new Option[] { model, data, format, text, pair, label, domain, maxLen, batch, json, skip, threads, device, stride, answerLen, nullThreshold, threshold }) cmd.Options.Add(o);
        RetiredNames.AddTo(cmd);
        cmd.SetAction(r =>
        {
            var dev = CommonOptions.Setup(r.GetValue(device), r.GetValue(threads));
            string dir = r.GetValue(model)!;
            if (QaTaskData.IsSquad(r.GetValue(data)))
            {
                var qa = new QaSettings { DocStride = r.GetValue(stride), MaxAnswerLength = r.GetValue(answerLen) ?? 30, NullThreshold = r.GetValue(nullThreshold) ?? 0 };
                qa.Validate();
                var qaMetrics = QaOptions.Eval(dir, r.GetValue(data)!, qa, r.GetValue(maxLen), r.GetValue(batch), r.GetValue(skip), dev);
                if (r.GetValue(json) is string qaPath) File.WriteAllText(qaPath, JsonSerializer.Serialize(qaMetrics, new JsonSerializerOptions { WriteIndented = true }));
                return ExitCodes.Ok;
            }
            using var m = ClassifierFolder.Load(dir); // any encoder family or an AdaBERT CNN folder, by config.json's model_type
            m.Module.to(dev);
            var tokenizer = TokenizerFolder.Load(dir);
            Column? C(Option<string?> o) => r.GetValue(o) is string s ? Column.Parse(s) : null;
            string? fmt = r.GetValue(format);
            if (m.Task != TaskKind.Sequence)
            {
                // Token, regression and multi-label models read their data as training does (TaskData), one split.
                var settings = new DataSettings
                {
                    Train = r.GetValue(data), Format = fmt, TextColumn = r.GetValue(text), TextPairColumn = r.GetValue(pair), LabelColumn = r.GetValue(label),
                    DomainColumn = r.GetValue(domain), SkipBadRows = r.GetValue(skip), MaxSeqLen = r.GetValue(maxLen), Task = m.Task.Name(), Threshold = r.GetValue(threshold),
                };
                var set = TaskData.Load(settings, tokenizer, LabelSet.FromNames(m.Labels));
                var scores = TaskHeads.Metrics(m.Task, Classifier.Predict(m.Module, m.Logits, set.TrainSet, r.GetValue(batch), tokenizer.Pad, dev, task: m.Task),
                    set.TrainSet, set.Labels, set.Domains, settings.Threshold);
                Report(scores, set.Train.SkippedRows, r.GetValue(json));
                return ExitCodes.Ok;
            }
            var file = DatasetReader.Read(r.GetValue(data)!, new ColumnMapping(C(text), C(pair), C(label), C(domain)),
                fmt != null ? DataFormats.Parse(fmt) : null, skipBadRows: r.GetValue(skip));
            var labels = LabelSet.FromNames(m.Labels);
            var domains = DomainSet.FromExamples(file.Examples);
            var encoded = ExampleEncoder.Encode(file.Examples, tokenizer, labels, domains, r.GetValue(maxLen));
            var metrics = Classifier.Metrics(Classifier.Predict(m.Module, m.Logits, encoded, r.GetValue(batch), tokenizer.Pad, dev), encoded, labels.Count, domains);
            Report(metrics, file.SkippedRows, r.GetValue(json));
            return ExitCodes.Ok;
        });
        return cmd;
    }

    static void Report(IReadOnlyDictionary<string, double> metrics, int skipped, string? jsonPath)
    {
        var table = new Table().AddColumns("metric", "value");
        foreach (var (k, v) in metrics)
            table.AddRow(k, k is "loss" or "mcc" or "examples" or "mse" || k.StartsWith("pearson", StringComparison.Ordinal) || k.StartsWith("spearman", StringComparison.Ordinal) ? $"{v:F4}" : $"{100 * v:F2}%");
        AnsiConsole.Write(table);
        if (skipped > 0) AnsiConsole.MarkupLineInterpolated($"[yellow]{skipped} bad rows skipped[/]");
        if (jsonPath != null) File.WriteAllText(jsonPath, JsonSerializer.Serialize(metrics, new JsonSerializerOptions { WriteIndented = true }));
    }
}
