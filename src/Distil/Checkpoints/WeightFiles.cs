using static TorchSharp.torch;

namespace Distil.Checkpoints;

/// <summary>
/// The one place that turns a model folder into its state dict, whatever format the weights are saved in; every
/// loader (BERT, ALBERT, the other encoder families) reads through it, so a new checkpoint format is added here only.
/// </summary>
public static class WeightFiles
{
    /// <summary>
    /// The tensors of <paramref name="folder"/> (already resolved for reading) and the file they came from, for error
    /// messages. The caller owns and disposes the tensors.
    /// </summary>
    public static (IReadOnlyDictionary<string, Tensor> Tensors, string Source) Read(string folder)
    {
        string path = Path.Combine(folder, ModelFolder.WeightsFile);
        if (File.Exists(path)) return (SafeTensors.Read(path), path);
        if (File.Exists(Path.Combine(folder, "pytorch_model.bin")))
            throw DistilException.NotFound($"{path}: not found; the folder has pytorch_model.bin, which Distil does not read yet. " +
                "Convert it once in Python: AutoModel.from_pretrained(dir).save_pretrained(dir, safe_serialization=True)");
        throw DistilException.NotFound($"{path}: not found; a model folder needs {ModelFolder.ConfigFile} and {ModelFolder.WeightsFile} (pytorch_model.bin is not supported yet)");
    }
}
