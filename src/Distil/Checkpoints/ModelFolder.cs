using System.Text;
using Distil.Models;
using static TorchSharp.torch;

namespace Distil.Checkpoints;

/// <summary>
/// Hugging Face model folders (config.json + model.safetensors + tokenizer files) for our models: load a classifier,
/// an encoder or a masked-LM from any BERT folder (a bare BertModel loads into <c>bert.*</c>), and save a classifier
/// atomically as a folder HF's <c>from_pretrained</c> reads.
/// </summary>
public static class ModelFolder
{
    public const string ConfigFile = "config.json", WeightsFile = "model.safetensors";
    const string Classifier = "classifier.", Pooler = "bert.pooler.", MlmHead = "cls.predictions.";

    /// <summary>
    /// Loads <paramref name="dir"/> as a sequence classifier. With <paramref name="labels"/> that differ from the folder's
    /// id2label (or when it has none), the head is new: the config gets these labels and <c>classifier.*</c> keeps its
    /// fresh initialisation (<see cref="LoadReport.NewlyInitialised"/>; a head in the file is then listed as unexpected).
    /// <paramref name="pooling"/> ("pooler" | "mean") overrides config.json's classifier_pooling.
    /// Every encoder tensor must be in the file (the pooler too, unless pooling is "mean"); extra tensors such as an
    /// MLM head are only reported.
    /// </summary>
    public static (BertForSequenceClassification Model, LoadReport Report) LoadForClassification(string dir, IReadOnlyList<string>? labels = null, string? pooling = null)
    {
        var (folder, config) = ReadConfig(dir);
        var (tensors, weights) = WeightFiles.Read(folder);
        try
        {
            var head = ClassifierHead.Decide(tensors, config.Id2Label != null ? config.Labels : null, labels, folder);
            if (head.Relabel) config = config.WithLabels(labels!);
            if (pooling != null) config = config with { ClassifierPooling = pooling };
            config.Validate(Path.Combine(folder, ConfigFile));
            bool mean = config.ClassifierPooling == "mean";

            var used = head.Used(tensors);
            var model = new BertForSequenceClassification(config);
            try
            {
                var report = LoadChecked(model, used, weights,
                    k => k.StartsWith(Classifier, StringComparison.Ordinal) || (mean && k.StartsWith(Pooler, StringComparison.Ordinal)));
                var discarded = head.Discarded(tensors);
                var unexpected = report.Unexpected.Concat(discarded).Order(StringComparer.Ordinal).ToList();
                return (model, report with { Unexpected = unexpected });
            }
            catch { model.Dispose(); throw; }
        }
        finally { foreach (var t in tensors.Values) t.Dispose(); }
    }

    /// <summary>
    /// Loads the encoder of any BERT folder (BertModel, classifier or MLM checkpoint) for distillation or probing.
    /// All encoder tensors must be present; a missing pooler keeps its initialisation (neither uses it).
    /// </summary>
    public static BertModel LoadEncoder(string dir)
    {
        var (folder, config) = ReadConfig(dir);
        var (tensors, weights) = WeightFiles.Read(folder);
        var model = new BertModel(config);
        try
        {
            LoadChecked(model, tensors, weights, k => k.StartsWith("pooler.", StringComparison.Ordinal));
            return model;
        }
        catch { model.Dispose(); throw; }
        finally { foreach (var t in tensors.Values) t.Dispose(); }
    }

    /// <summary>The masked-LM model of <paramref name="dir"/>, or null when its checkpoint has no <c>cls.predictions.*</c> head.</summary>
    public static BertForMaskedLM? TryLoadMaskedLm(string dir)
    {
        var (folder, config) = ReadConfig(dir);
        var (tensors, weights) = WeightFiles.Read(folder);
        try
        {
            if (!tensors.Keys.Any(k => k.StartsWith(MlmHead, StringComparison.Ordinal))) return null;
            var used = new Dictionary<string, Tensor>(tensors, StringComparer.Ordinal);
            // HF ties cls.predictions.decoder.bias to cls.predictions.bias; safetensors files may keep either name only.
            if (!used.ContainsKey(MlmHead + "bias") && used.Remove(MlmHead + "decoder.bias", out var decoderBias)) used[MlmHead + "bias"] = decoderBias;
            var model = new BertForMaskedLM(config);
            try
            {
                // The decoder weight is the word embedding (tied), so cls.predictions.decoder.weight is reported, not loaded.
                LoadChecked(model, used, weights, k => k.StartsWith(Pooler, StringComparison.Ordinal));
                return model;
            }
            catch { model.Dispose(); throw; }
        }
        finally { foreach (var t in tensors.Values) t.Dispose(); }
    }

    /// <summary>A sequence classifier of any encoder family, by config.json's model_type (as HF's AutoModel dispatches; <see cref="EncoderFamilies"/>).</summary>
    public static EncoderClassifier LoadEncoderClassifier(string dir) => TaskModels.Load(dir).Model;

    /// <summary>
    /// Writes <paramref name="model"/> as an HF folder: config.json (<see cref="TransformersFormat"/>: a standard
    /// BertForSequenceClassification / AlbertForSequenceClassification config for a pooler-pooled model; a mean-pooled
    /// one names the custom code it ships, modeling_distil.py, in auto_map), model.safetensors (the full state dict,
    /// HF key names) and the tokenizer files (<see cref="TokenizerFiles"/>) of <paramref name="tokenizerDir"/>.
    /// An existing folder is replaced atomically (<see cref="AtomicFolder"/>).
    /// </summary>
    public static void Save(string dir, EncoderClassifier model, string tokenizerDir)
    {
        var (configJson, needsCode) = TransformersFormat.Config(model);
        // Check the inputs before writing anything, so a bad call never touches an existing folder.
        var tokenizer = TokenizerFiles.From(tokenizerDir);

        AtomicFolder.Replace(dir, tmp =>
        {
            WriteDurably(Path.Combine(tmp, ConfigFile), Encoding.UTF8.GetBytes(configJson));
            SafeTensors.Write(Path.Combine(tmp, WeightsFile), model.state_dict());
            tokenizer.WriteInto(tmp, WriteDurably);
            if (needsCode) WriteDurably(Path.Combine(tmp, TransformersFormat.ModelingFile), Encoding.UTF8.GetBytes(TransformersFormat.ModelingText));
        });
    }

    /// <summary>Loads with <see cref="StateDictLoader"/> and fails on any missing key that <paramref name="mayBeMissing"/> does not allow.</summary>
    internal static LoadReport LoadChecked(nn.Module model, IReadOnlyDictionary<string, Tensor> tensors, string source, Func<string, bool> mayBeMissing)
    {
        // The model is new and is disposed by the caller on failure, so copying before this check leaks nothing.
        var report = StateDictLoader.Load(model, tensors, source);
        var missing = report.Missing.Where(k => !mayBeMissing(k)).ToList();
        if (missing.Count > 0 && missing.All(k => k.StartsWith(Pooler, StringComparison.Ordinal)))
            throw DistilException.BadInput(
                $"{source}: no pooler ({string.Join(", ", missing)}): the encoder was saved or exported without one (e.g. snowflake-arctic-embed-xs); " +
                "fine-tune it with --pooling mean, or give it a checkpoint that has the pooler");
        if (missing.Count > 0)
            throw DistilException.BadInput(
                $"{source}: {missing.Count} encoder tensors are missing: {string.Join(", ", missing.Take(8))}{(missing.Count > 8 ? $", ... ({missing.Count - 8} more)" : "")}; " +
                $"the weights do not belong to this {ConfigFile} (or the file is not a BERT checkpoint)");
        return report with { NewlyInitialised = report.Missing };
    }

    internal static (string Folder, BertConfig Config) ReadConfig(string dir)
    {
        string folder = AtomicFolder.ResolveForReading(dir);
        if (!Directory.Exists(folder)) throw DistilException.NotFound($"{dir}: model folder not found; expected a folder with {ConfigFile}, {WeightsFile} and vocab.txt");
        return (folder, BertConfig.Load(Path.Combine(folder, ConfigFile)));
    }

    static void WriteDurably(string path, byte[] bytes)
    {
        using var o = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None);
        o.Write(bytes);
        o.Flush(flushToDisk: true);
    }
}
