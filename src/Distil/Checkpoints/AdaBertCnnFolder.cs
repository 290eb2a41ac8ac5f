using System.Text;
using Distil.Models;

namespace Distil.Checkpoints;

/// <summary>
/// A derived student as a model folder: config.json (model_type adabert_cnn, the genotype), model.safetensors and the
/// teacher's tokenizer files, written atomically. `distil eval` / `predict` load it through <see cref="ClassifierFolder"/>.
/// </summary>
public static class AdaBertCnnFolder
{
    public static void Save(string dir, AdaBertCnnForSequenceClassification model, string tokenizerDir)
    {
        var tokenizer = TokenizerFiles.From(tokenizerDir);
        AtomicFolder.Replace(dir, tmp =>
        {
            File.WriteAllText(Path.Combine(tmp, ModelFolder.ConfigFile), model.Config.ToJson(), new UTF8Encoding(false)); // no BOM: Python's json (and transformers) refuse one
            SafeTensors.Write(Path.Combine(tmp, ModelFolder.WeightsFile), model.state_dict());
            tokenizer.WriteInto(tmp, File.WriteAllBytes);
        });
    }

    public static AdaBertCnnForSequenceClassification Load(string dir)
    {
        string folder = AtomicFolder.ResolveForReading(dir);
        string configPath = Path.Combine(folder, ModelFolder.ConfigFile), weights = Path.Combine(folder, ModelFolder.WeightsFile);
        if (!File.Exists(configPath)) throw DistilException.NotFound($"{configPath}: not found; an AdaBERT student folder has config.json and model.safetensors");
        if (!File.Exists(weights)) throw DistilException.NotFound($"{weights}: not found; an AdaBERT student folder has config.json and model.safetensors");
        var model = new AdaBertCnnForSequenceClassification(AdaBertCnnConfig.Load(configPath));
        try
        {
            var report = StateDictLoader.LoadFile(model, weights, strict: true, basePrefix: "adabert");
            if (report.Unexpected.Count > 0)
                throw DistilException.BadInput($"{weights}: tensors that this genotype has no place for: {string.Join(", ", report.Unexpected.Take(5))}; the weights belong to another architecture");
            model.eval();
            return model;
        }
        catch { model.Dispose(); throw; }
    }
}
