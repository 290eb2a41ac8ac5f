using System.CommandLine;
using Distil.Onnx;
using Spectre.Console;

namespace Distil.Cli.Commands;

/// <summary>`distil export`: a classifier folder to a checked ONNX folder.</summary>
public static class ExportCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = OptionMeanings.Describe("--model", ": a classifier folder to export (e.g. runs/ft/best)"), Required = true };
        var outDir = new Option<string>("--out") { Description = OptionMeanings.Describe("--out", ": a folder of model.onnx, config.json, tokenizer files, export_report.json"), Required = true };
        var data = OptionMeanings.Create<string?>("--data", ": a file (.tsv, .csv, .jsonl) to check the export on, e.g. the eval set; for a token model a CoNLL file or JSONL with tokens and tags");
        var skip = OptionMeanings.Create<bool>("--skip-bad-rows", "of --data (counted in the log)");
        var maxRows = new Option<int>("--max-rows") { Description = "Check at most N rows of --data (default: all)" };
        var maxLen = new Option<int>("--max-seq-len") { Description = OptionMeanings.Describe("--max-seq-len", "in the check (default 128)"), DefaultValueFactory = _ => 128 };
        var atol = new Option<double>("--atol") { Description = "Largest allowed |logit difference| ONNX Runtime vs TorchSharp (default 1e-4)", DefaultValueFactory = _ => ExportCheck.DefaultAtol };
        var fused = OptionMeanings.Create<bool>("--ort-fused");
        var threads = new Option<int>("--threads") { Description = OptionMeanings.Describe("--threads", "of both engines during the check (default 1)"), DefaultValueFactory = _ => 1 };
        var cmd = new Command("export", """
            Export a classifier of any encoder family (sequence, token, regression or multi-label head), a QA model or
            an AdaBERT CNN student (`distil search`'s best/) to ONNX (opset 17, dynamic batch and sequence axes; inputs
            input_ids, attention_mask, token_type_ids; output logits), with its tokenizer files. Every export is
            run in ONNX Runtime and compared with TorchSharp on random padded batches and on --data: max |logit diff|
            <= --atol and 100% argmax agreement, or nothing is written and the exit code is 6.

            Examples:
              distil export --model runs/ft/best --out runs/ft/onnx
              distil export --model runs/kd/best --out runs/kd/onnx --data data/uci-sentiment/test.domain.tsv --max-seq-len 64
              distil export --model runs/ner/best --out runs/ner/onnx --data data/wordnet-supersense/dev.conll
            """);
        foreach (var o in new Option[] { model, outDir, data, skip, maxRows, maxLen, atol, fused, threads }) cmd.Options.Add(o);
        cmd.SetAction(r =>
        {
            CommonOptions.Setup("cpu", r.GetValue(threads));
            if (r.GetValue(atol) < 0) throw DistilException.Usage($"--atol must be 0 or more (got {r.GetValue(atol)})");
            if (Distil.Checkpoints.QaFolder.IsQa(r.GetValue(model)!))
            {
                var qa = QaOnnxExport.Export(r.GetValue(model)!, r.GetValue(outDir)!, new ExportOptions
                {
                    MaxSeqLen = r.GetValue(maxLen), Atol = r.GetValue(atol), Threads = r.GetValue(threads), OrtFused = r.GetValue(fused),
                }, line => AnsiConsole.WriteLine(line));
                AnsiConsole.MarkupLineInterpolated($"[green]exported[/] {qa.OnnxPath} (start_logits, end_logits; {qa.FileBytes / 1e6:F1} MB, {qa.Parameters:N0} parameters) in {qa.Seconds:F1} s");
                return ExitCodes.Ok;
            }
            var report = OnnxExport.Export(r.GetValue(model)!, r.GetValue(outDir)!, new ExportOptions
            {
                DataPath = r.GetValue(data), SkipBadRows = r.GetValue(skip), MaxDataRows = r.GetValue(maxRows), MaxSeqLen = r.GetValue(maxLen),
                Atol = r.GetValue(atol), Threads = r.GetValue(threads), OrtFused = r.GetValue(fused),
            }, line => AnsiConsole.WriteLine(line));
            var table = new Table().AddColumns("check set", "examples", "batch shapes", "max |logit diff|", "argmax agreement");
            foreach (var c in report.Checks)
                table.AddRow(Markup.Escape(c.Set), $"{c.Examples}", Markup.Escape(string.Join(" ", c.Shapes.Take(6)) + (c.Shapes.Count > 6 ? " ..." : "")),
                    $"{c.MaxAbsDiff:E2}", $"{100 * c.ArgmaxAgreement:F1}%");
            AnsiConsole.Write(table);
            AnsiConsole.MarkupLineInterpolated($"[green]exported[/] {report.OnnxPath} ({report.FileBytes / 1e6:F1} MB, {report.Parameters:N0} parameters, opset {report.Opset}) in {report.Seconds:F1} s");
            return ExitCodes.Ok;
        });
        return cmd;
    }
}
