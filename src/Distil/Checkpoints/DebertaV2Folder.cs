using Distil.Models;

namespace Distil.Checkpoints;

/// <summary>
/// Hugging Face DeBERTa-v2/v3 folders (config.json with model_type deberta-v2 + weights with HF keys): the head of a
/// DebertaV2ForSequenceClassification folder, or a new pooler + classifier on a bare DebertaV2Model or a pretraining
/// checkpoint (deberta-v3-base and the like; their lm_predictions.* / mask_predictions.* heads and the unused
/// position_embeddings are reported as unexpected, as HF ignores them). Saving goes through <see cref="ModelFolder.Save"/>.
/// </summary>
public static class DebertaV2Folder
{
    const string BasePrefix = "deberta", Pooler = "pooler.";

    /// <summary>As <see cref="ModelFolder.LoadForClassification"/>: labels that differ from the folder's give a new head.</summary>
    /// <param name="pooling">null or "pooler" (HF's ContextPooler); "mean" is refused: transformers' DeBERTa has no such option, so the folder would give other answers there.</param>
    public static (DebertaV2ForSequenceClassification Model, LoadReport Report) LoadForClassification(string dir, IReadOnlyList<string>? labels = null, string? pooling = null)
    {
        string folder = AtomicFolder.ResolveForReading(dir);
        if (!Directory.Exists(folder)) throw DistilException.NotFound($"{dir}: model folder not found; expected a folder with {ModelFolder.ConfigFile} and {ModelFolder.WeightsFile}");
        if (pooling is not (null or "pooler"))
            throw DistilException.Usage($"{dir}: pooling '{pooling}' is not available for DeBERTa (model_type {DebertaV2Config.Type}); it always pools with HF's ContextPooler on token 0, so leave --pooling out");
        string configPath = Path.Combine(folder, ModelFolder.ConfigFile);
        var config = DebertaV2Config.Load(configPath);
        var (tensors, weights) = WeightFiles.Read(folder);
        try
        {
            var head = ClassifierHead.Decide(tensors, config.Id2Label != null ? config.Labels : null, labels, folder);
            if (head.Relabel) config = config.WithLabels(labels!);
            config.Validate(configPath);

            var used = head.Used(tensors);
            var model = new DebertaV2ForSequenceClassification(config);
            try
            {
                var report = StateDictLoader.Load(model, used, weights, basePrefix: BasePrefix);
                // A new head (no classifier in the file) starts with a new pooler too, as HF's from_pretrained does.
                var missing = report.Missing.Where(k => !ClassifierHead.IsHeadKey(k) && !k.StartsWith(Pooler, StringComparison.Ordinal)).ToList();
                if (missing.Count > 0)
                    throw DistilException.BadInput(
                        $"{weights}: {missing.Count} DeBERTa tensors are missing: {string.Join(", ", missing.Take(8))}{(missing.Count > 8 ? $", ... ({missing.Count - 8} more)" : "")}; " +
                        $"the weights do not belong to this {ModelFolder.ConfigFile} (relative_attention, position_buckets, share_att_key, pos_att_type, position_biased_input) or the file is not a DeBERTa-v2/v3 checkpoint");
                var unexpected = report.Unexpected.Concat(head.Discarded(tensors)).Order(StringComparer.Ordinal).ToList();
                return (model, report with { Unexpected = unexpected, NewlyInitialised = report.Missing });
            }
            catch { model.Dispose(); throw; }
        }
        finally { foreach (var t in tensors.Values) t.Dispose(); }
    }
}
