using System.CommandLine;
using Distil.Onnx;
using Spectre.Console;

namespace Distil.Cli.Commands;

/// <summary>`distil import-onnx`: a BERT encoder exported to ONNX becomes a Hugging Face model folder.</summary>
public static class ImportOnnxCommand
{
    public static Command Create()
    {
        var onnx = new Option<string>("--onnx") { Description = "BERT encoder in ONNX (e.g. a sentence-transformers export)", Required = true };
        var vocab = new Option<string>("--vocab") { Description = "vocab.txt of the model's WordPiece tokenizer", Required = true };
        var outDir = new Option<string>("--out") { Description = OptionMeanings.Describe("--out", ": a model folder (config.json, model.safetensors, vocab.txt, tokenizer_config.json)"), Required = true };
        var cased = new Option<bool>("--cased") { Description = "The vocabulary is cased (do_lower_case = false)" };
        var cmd = new Command("import-onnx", """
            Convert a BERT encoder exported to ONNX into a Hugging Face model folder.
            Weights are found by following the graph, so numeric initializer names are fine.

            Example:
              distil import-onnx --onnx model.onnx --vocab vocab.txt --out models/minilm
            """);
        foreach (var o in new Option[] { onnx, vocab, outDir, cased }) cmd.Options.Add(o);
        cmd.SetAction(r =>
        {
            var import = OnnxFolderImporter.ImportOnnxToFolder(r.GetValue(onnx)!, r.GetValue(vocab)!, r.GetValue(outDir)!, doLowerCase: !r.GetValue(cased));
            var c = import.Config;
            long parameters = import.StateDict.Values.Where(t => t.dtype == TorchSharp.torch.float32).Sum(t => t.numel());
            AnsiConsole.MarkupLineInterpolated($"[green]imported[/] {c.NumHiddenLayers} layers, hidden {c.HiddenSize}, {c.NumAttentionHeads} heads, FFN {c.IntermediateSize}, vocab {c.VocabSize}: {parameters:N0} parameters -> {r.GetValue(outDir)}");
            return ExitCodes.Ok;
        });
        return cmd;
    }
}
