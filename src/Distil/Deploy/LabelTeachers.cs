using System.Text.Json;
using Distil.Checkpoints;
using Distil.Labels;
using Distil.Onnx;

namespace Distil.Deploy;

/// <summary>
/// Opens the teacher of `distil label` by folder: a classifier folder runs in TorchSharp; an ONNX folder (from
/// `distil export`, whose parity check must have passed, or from `distil quantize`) runs in ONNX Runtime, fp32 or
/// int8. Engine "auto" takes what the folder is; a classifier folder with hidden layers asked for stays in TorchSharp.
/// </summary>
public static class LabelTeachers
{
    public static readonly string[] Engines = ["auto", "torch", "onnx"];

    public static ILabelTeacher Open(string dir, string engine, int maxSeqLen, IReadOnlyList<int> hiddenLayers, int threads)
    {
        if (!Directory.Exists(dir)) throw DistilException.NotFound($"{dir}: teacher folder not found; check --teacher");
        if (!Engines.Contains(engine)) throw DistilException.Usage($"--engine {engine}: expected one of {string.Join(", ", Engines)}");
        bool isOnnx = File.Exists(Path.Combine(dir, OnnxExport.OnnxFile));
        bool isTorch = File.Exists(Path.Combine(dir, ModelFolder.WeightsFile)) || File.Exists(Path.Combine(dir, "pytorch_model.bin"));
        if (engine == "torch" || (engine == "auto" && !isOnnx))
        {
            if (!isTorch) throw DistilException.NotFound($"{dir}: no model.safetensors; --teacher must be a classifier folder (or an ONNX folder from `distil export`)");
            return new TorchLabelTeacher(dir, maxSeqLen, hiddenLayers);
        }
        if (!isOnnx) throw DistilException.NotFound($"{dir}: no {OnnxExport.OnnxFile}; make an ONNX folder with `distil export --model {dir} --out DIR`");
        if (hiddenLayers.Count > 0)
            throw DistilException.Usage($"{dir}: an ONNX teacher gives logits only; for --hidden-layers pass the classifier folder the export was made from");
        bool int8 = File.Exists(Path.Combine(dir, Int8Export.ReportFile));
        if (!int8) CheckExport(dir);
        return new OrtLabelTeacher(dir, int8 ? "onnx-int8" : "onnx-fp32", maxSeqLen, threads);
    }

    /// <summary>An fp32 export is trusted only with its parity report saying the check passed.</summary>
    static void CheckExport(string dir)
    {
        string report = Path.Combine(dir, OnnxExport.ReportFile);
        if (!File.Exists(report)) throw DistilException.BadInput($"{dir}: no {OnnxExport.ReportFile}, so the export was never checked against TorchSharp; re-export it with `distil export`");
        bool passed;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(report));
            passed = doc.RootElement.EnumerateObject().FirstOrDefault(p => p.Name.Equals("passed", StringComparison.OrdinalIgnoreCase)).Value is { ValueKind: JsonValueKind.True };
        }
        catch (JsonException e) { throw DistilException.BadInput($"{report}: not valid JSON ({e.Message}); re-export with `distil export`"); }
        if (!passed) throw DistilException.BadInput($"{report}: the export's parity check failed; label with the classifier folder (TorchSharp) instead");
    }
}
