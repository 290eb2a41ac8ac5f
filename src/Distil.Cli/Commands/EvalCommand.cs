using System.CommandLine;
using System.Text.Json;
using Distil.Checkpoints;
using TorchSharp;
using Distil.Data;
using Distil.Text;
using Distil.Training;
using Spectre.Console;

namespace Distil.Cli.Commands;

/// <summary>`distil eval`: metrics of a model folder on a labelled file.</summary>
public static class EvalCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Model folder (e.g. runs/ft/best)", Required = true };
        var data = new Option<string>("--data") { Description = "Labelled data (.tsv, .csv, .jsonl)", Required = true };
        var format = new Option<string?>("--format") { Description = "tsv, csv or jsonl (default: from the extension)" };
        var text = new Option<string?>("--text-column") { Description = "Column of the text" };
        var pair = new Option<string?>("--text-pair-column") { Description = "Column of the second text of a pair" };
        var label = new Option<string?>("--label-column") { Description = "Column of the label" };
        var domain = new Option<string?>("--domain-column") { Description = "Column of the domain (per-domain accuracy)" };
        var maxLen = new Option<int>("--max-seq-len") { Description = "Tokens per example (default 128)", DefaultValueFactory = _ => 128 };
        var batch = new Option<int>("--batch-size") { Description = "Batch size (default 64)", DefaultValueFactory = _ => 64 };
        var json = new Option<string?>("--json") { Description = "Also write the metrics to this JSON file" };
        var skip = new Option<bool>("--skip-bad-rows") { Description = "Skip malformed rows instead of stopping" };
        var threads = new Option<int?>("--threads") { Description = "Torch CPU threads" };
        var device = new Option<string?>("--device") { Description = "cpu or cuda[:i]" };
        var cmd = new Command("eval", """
            Evaluate a model folder on labelled data: accuracy, macro-F1, MCC, loss, per-domain accuracy.

            Example:
              distil eval --model runs/ft/best --data data/uci-sentiment/test.domain.tsv
            """);
        foreach (var o in new Option[] { model, data, format, text, pair, label, domain, maxLen, batch, json, skip, threads, device }) cmd.Options.Add(o);
        cmd.SetAction(r =>
        {
            var dev = CommonOptions.Setup(r.GetValue(device), r.GetValue(threads));
            string dir = r.GetValue(model)!;
            using var m = ClassifierFolder.Load(dir); // a BERT or an AdaBERT CNN folder, by config.json's model_type
            m.Module.to(dev);
            var tokenizer = BertTextTokenizer.FromFolder(dir);
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
