using System.CommandLine;
using Distil.Deploy;
using Distil.Onnx;
using Spectre.Console;

namespace Distil.Cli.Commands;

/// <summary>`distil quantize`: post-training dynamic int8 of an exported model.</summary>
public static class QuantizeCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = OptionMeanings.Describe("--model", ": a classifier folder (exported first), or an export folder (model.onnx from `distil export`)"), Required = true };
        var outDir = new Option<string>("--out") { Description = OptionMeanings.Describe("--out", ": a folder of the int8 model.onnx, config.json, tokenizer files, quantize_report.json"), Required = true };
        var format = new Option<string>("--int8") { Description = OptionMeanings.Describe("--int8", "(default integer)"), DefaultValueFactory = _ => "integer" };
        var fp32Embeddings = new Option<bool>("--fp32-embeddings") { Description = "Keep embedding tables in float (default: int8 with a scale per row; 4x smaller file)" };
        var reduceRange = new Option<bool>("--reduce-range") { Description = "7-bit weights, for x86 CPUs without VNNI (avoids int16 saturation in ORT's u8s8 kernels)" };
        var fuse = new Option<bool>("--fuse-shared-input") { Description = "One int8 MatMul for MatMuls that read the same input (query, key, value), then a Split" };
        var exclude = new Option<string[]>("--exclude") { Description = "Weight to keep in float (initializer name, e.g. classifier.weight); repeat for several" };
        var data = OptionMeanings.Create<string?>("--data", ": a file to compare int8 with fp32 on (accuracy drop when labelled); for a token model a CoNLL file or JSONL with tokens and tags");
        var maxLen = new Option<int>("--max-seq-len") { Description = OptionMeanings.Describe("--max-seq-len", "in the comparison (default 128)"), DefaultValueFactory = _ => 128 };
        var maxDrop = new Option<double?>("--max-accuracy-drop") { Description = "Fail (exit 6, nothing written) if int8 accuracy on --data is more than this many points below fp32" };
        var threads = new Option<int>("--threads") { Description = OptionMeanings.Describe("--threads", "of ONNX Runtime for the comparison (default 1)"), DefaultValueFactory = _ => 1 };
        var cmd = new Command("quantize", """
            Post-training dynamic int8 quantization of an exported model: every MatMul weight becomes int8 with one scale
            per output channel, activations are quantized on the fly (uint8, per tensor); no calibration data needed.
            The int8 model is compared with the fp32 one on random text and on --data.

            Examples:
              distil quantize --model runs/kd/onnx --out runs/kd/onnx-int8 --data data/uci-sentiment/test.domain.tsv --max-seq-len 64
              distil quantize --model runs/kd/best --out runs/kd/int8 --max-accuracy-drop 1
            """);
        foreach (var o in new Option[] { model, outDir, format, fp32Embeddings, reduceRange, fuse, exclude, data, maxLen, maxDrop, threads }) cmd.Options.Add(o);
        RetiredNames.AddTo(cmd);
        cmd.SetAction(r =>
        {
            var fmt = r.GetValue(format) switch
            {
                "integer" => Int8Format.Integer,
                "contrib" => Int8Format.Contrib,
                "qdq" => Int8Format.Qdq,
                var other => throw DistilException.Usage($"--int8 '{other}' is not known; use integer, contrib or qdq"),
            };
            if (r.GetValue(threads) < 1) throw DistilException.Usage("--threads must be at least 1");
            var options = new QuantizeOptions
            {
                Format = fmt, Embeddings = !r.GetValue(fp32Embeddings), ReduceRange = r.GetValue(reduceRange), FuseSharedInput = r.GetValue(fuse), Exclude = r.GetValue(exclude) ?? [],
            };
            if (Distil.Onnx.OrtSpanModel.IsSpanModel(Path.Combine(r.GetValue(model)!, Distil.Onnx.OnnxExport.OnnxFile)))
            {
                var (quantization, comparison, fp32Bytes, int8Bytes) = Distil.Onnx.QaOnnxExport.Quantize(r.GetValue(model)!, r.GetValue(outDir)!, options, r.GetValue(threads));
                AnsiConsole.MarkupLineInterpolated($"[green]quantized[/] {r.GetValue(outDir)}: {fp32Bytes / 1e6:F1} MB -> {int8Bytes / 1e6:F1} MB ({quantization.MatMuls} MatMuls); int8 vs fp32 on random rows: max |logit diff| {comparison.MaxAbsDiff:F4}, start/end argmax agreement {100 * comparison.StartAgreement:F1}% / {100 * comparison.EndAgreement:F1}%");
                return ExitCodes.Ok;
            }
            var report = Int8Export.QuantizeFolder(r.GetValue(model)!, r.GetValue(outDir)!, options, r.GetValue(data), r.GetValue(maxLen),
                r.GetValue(maxDrop), r.GetValue(threads), line => AnsiConsole.WriteLine(line));
            var table = new Table().AddColumns("set", "examples", "max |logit diff|", "argmax agreement", "fp32 accuracy", "int8 accuracy");
            foreach (var c in report.Comparisons)
                table.AddRow(Markup.Escape(c.Set), $"{c.Examples}", $"{c.MaxAbsDiff:F4}", $"{100 * c.ArgmaxAgreement:F1}%",
                    c.Fp32Accuracy is double a ? $"{100 * a:F2}%" : "-", c.Int8Accuracy is double b ? $"{100 * b:F2}%" : "-");
            AnsiConsole.Write(table);
            AnsiConsole.MarkupLineInterpolated($"[green]quantized[/] {report.Folder}: {report.Fp32Bytes / 1e6:F1} MB -> {report.Int8Bytes / 1e6:F1} MB in {report.Seconds:F1} s");
            return ExitCodes.Ok;
        });
        return cmd;
    }
}
