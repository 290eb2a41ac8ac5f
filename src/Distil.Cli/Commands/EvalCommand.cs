using System.CommandLine;
using System.Text.Json;
using Distil.Checkpoints;
using Distil.Data;
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
        var device = OptionMeanings.Create<string?>("--device");
        var cmd = new Command("eval", """
            Evaluate a model folder on labelled data: accuracy, macro-F1, MCC, loss, per-domain accuracy.

            Example:
              distil eval --model runs/ft/best --data data/uci-sentiment/test.domain.tsv
            """);
        foreach (var o in new Option[] { model, data, format, text, pair, label, domain, maxLen, batch, json, skip, threads, device }) cmd.Options.Add(o);
        RetiredNames.AddTo(cmd);
        cmd.SetAction(r =>
        {
            var dev = CommonOptions.Setup(r.GetValue(device), r.GetValue(threads));
            string dir = r.GetValue(model)!;
            using var m = ClassifierFolder.Load(dir); // any encoder family or an AdaBERT CNN folder, by config.json's model_type
            m.Module.to(dev);
            var tokenizer = TokenizerFolder.Load(dir);
            Column? C(Option<string?> o) => r.GetValue(o) is string s ? Column.Parse(s) : null;
            string? fmt = r.GetValue(format);
            var file = DatasetReader.Read(r.GetValue(data)!, new ColumnMapping(C(text), C(pair), C(label), C(domain)),
                fmt != null ? DataFormats.Parse(fmt) : null, skipBadRows: r.GetValue(skip));
            var labels = LabelSet.FromNames(m.Labels);
            var domains = DomainSet.FromExamples(file.Examples);
            var encoded = ExampleEncoder.Encode(file.Examples, tokenizer, labels, domains, r.GetValue(maxLen));
            var metrics = Classifier.Metrics(Classifier.Predict(m.Module, m.Logits, encoded, r.GetValue(batch), tokenizer.Pad, dev), encoded, labels.Count, domains);
            var table = new Table().AddColumns("metric", "value");
            foreach (var (k, v) in metrics) table.AddRow(k, k is "loss" or "mcc" or "examples" ? $"{v:F4}" : $"{100 * v:F2}%");
            AnsiConsole.Write(table);
            if (file.SkippedRows > 0) AnsiConsole.MarkupLineInterpolated($"[yellow]{file.SkippedRows} bad rows skipped[/]");
            if (r.GetValue(json) is string path) File.WriteAllText(path, JsonSerializer.Serialize(metrics, new JsonSerializerOptions { WriteIndented = true }));
            return ExitCodes.Ok;
        });
        return cmd;
    }
}
