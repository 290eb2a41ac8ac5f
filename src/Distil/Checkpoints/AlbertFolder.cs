using Distil.Models;
using static TorchSharp.torch;

namespace Distil.Checkpoints;

/// <summary>
/// Hugging Face ALBERT folders (config.json with model_type albert + model.safetensors with HF keys): the
/// classifier of an AlbertForSequenceClassification folder, or a new head on a bare AlbertModel / AlbertForMaskedLM
/// checkpoint (albert-base-v2 and the like; their <c>predictions.*</c> MLM head is reported as unexpected). Saving
/// goes through <see cref="ModelFolder.Save"/>.
/// </summary>
public static class AlbertFolder
{
    const string BasePrefix = "albert", Classifier = "classifier.", Pooler = "albert.pooler.";

    /// <summary>As <see cref="ModelFolder.LoadForClassification"/>: labels that differ from the folder's give a new head; pooling overrides the config's.</summary>
    public static (AlbertForSequenceClassification Model, LoadReport Report) LoadForClassification(string dir, IReadOnlyList<string>? labels = null, string? pooling = null)
    {
        string folder = AtomicFolder.ResolveForReading(dir);
        if (!Directory.Exists(folder)) throw DistilException.NotFound($"{dir}: model folder not found; expected a folder with {ModelFolder.ConfigFile}, {ModelFolder.WeightsFile} and vocab.txt");
        string configPath = Path.Combine(folder, ModelFolder.ConfigFile);
        var config = AlbertConfig.Load(configPath);
        var (tensors, weights) = WeightFiles.Read(folder);
        try
        {
            var head = ClassifierHead.Decide(tensors, config.Id2Label != null ? config.Labels : null, labels, folder);
            if (head.Relabel) config = config.WithLabels(labels!);
            if (pooling != null) config = config with { ClassifierPooling = pooling };
            config.Validate(configPath);
            bool mean = config.ClassifierPooling == "mean";

            var used = head.Used(tensors);
            var model = new AlbertForSequenceClassification(config);
            try
            {
                var report = StateDictLoader.Load(model, used, weights, basePrefix: BasePrefix);
                var missing = report.Missing.Where(k => !k.StartsWith(Classifier, StringComparison.Ordinal) && !(mean && k.StartsWith(Pooler, StringComparison.Ordinal))).ToList();
                if (missing.Count > 0)
                    throw DistilException.BadInput(
                        $"{weights}: {missing.Count} ALBERT tensors are missing: {string.Join(", ", missing.Take(8))}{(missing.Count > 8 ? $", ... ({missing.Count - 8} more)" : "")}; " +
                        $"the weights do not belong to this {ModelFolder.ConfigFile} (num_hidden_groups, embedding_size) or the file is not an ALBERT checkpoint");
                var discarded = head.Discarded(tensors);
                var unexpected = report.Unexpected.Concat(discarded).Order(StringComparer.Ordinal).ToList();
                return (model, report with { Unexpected = unexpected, NewlyInitialised = report.Missing });
            }
            catch { model.Dispose(); throw; }
        }
        finally { foreach (var t in tensors.Values) t.Dispose(); }
    }
}
