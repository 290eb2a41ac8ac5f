using Distil.Models;
using static TorchSharp.torch;

namespace Distil.Checkpoints;

/// <summary>
/// One encoder family as config.json's model_type names it: the prefix of its base model in HF checkpoints, and how
/// a folder of it becomes a sequence classifier (labels and pooling as <see cref="ModelFolder.LoadForClassification"/>).
/// </summary>
public sealed record EncoderFamily(string ModelType, string BasePrefix,
    Func<string, IReadOnlyList<string>?, string?, (EncoderClassifier Model, LoadReport Report)> LoadForClassification);

/// <summary>
/// The one dispatch from model_type to a family (as HF's AutoModelForSequenceClassification): BERT, ALBERT, RoBERTa,
/// XLM-RoBERTa, CamemBERT, DistilBERT, ELECTRA, DeBERTa-v2/v3. An unknown model_type is an error naming the supported ones.
/// </summary>
public static class EncoderFamilies
{
    public static readonly IReadOnlyList<EncoderFamily> All =
    [
        new("bert", "bert", (d, l, p) => ModelFolder.LoadForClassification(d, l, p)),
        new(AlbertConfig.Type, "albert", (d, l, p) => AlbertFolder.LoadForClassification(d, l, p)),
        .. RobertaFamily.Architectures.Keys.Select(t => new EncoderFamily(t, "roberta", LoadBertShaped(t, "roberta", c => new RobertaForSequenceClassification(c)))),
        new(DistilBertConfig.Type, "distilbert", LoadDistilBert),
        new(ElectraFamily.Type, "electra", LoadBertShaped(ElectraFamily.Type, "electra", c => new ElectraForSequenceClassification(c))),
        new(DebertaV2Config.Type, "deberta", (d, l, p) => DebertaV2Folder.LoadForClassification(d, l, p)),
    ];

    public static string Supported => string.Join(", ", All.Select(f => f.ModelType));

    /// <summary>The family of config.json's model_type ("bert" when the key is absent).</summary>
    public static EncoderFamily Of(string dir)
    {
        string type = ClassifierFolder.ModelType(dir);
        return All.FirstOrDefault(f => f.ModelType == type)
            ?? throw DistilException.BadInput($"{Path.Combine(dir, ModelFolder.ConfigFile)}: model_type '{type}' is not supported; supported: {Supported}");
    }

    /// <summary>A sequence classifier of any family; see <see cref="ModelFolder.LoadForClassification"/> for labels and pooling.</summary>
    public static (EncoderClassifier Model, LoadReport Report) LoadForClassification(string dir, IReadOnlyList<string>? labels = null, string? pooling = null) =>
        Of(dir).LoadForClassification(dir, labels, pooling);

    /// <summary>
    /// config.json of a classifier as HF's save_pretrained writes it for its family (architectures, model_type); BERT and
    /// ALBERT, whose mean pooling transformers lacks, are <see cref="TransformersFormat"/>'s.
    /// </summary>
    public static string ConfigJson(EncoderClassifier model) => model switch
    {
        RobertaForSequenceClassification r => (r.Config with { Architectures = [RobertaFamily.Architectures[r.Config.ModelType]], ProblemType = r.Task.ProblemType() }).ToJson(),
        DistilBertForSequenceClassification d => (d.Config with { Architectures = [DistilBertConfig.Architecture], ProblemType = d.Task.ProblemType() }).ToJson(),
        ElectraForSequenceClassification e => (e.Config with { Architectures = [ElectraFamily.Architecture], ProblemType = e.Task.ProblemType() }).ToJson(),
        DebertaV2ForSequenceClassification d => (d.Config with { Architectures = ["DebertaV2ForSequenceClassification"], ProblemType = d.Task.ProblemType() }).ToJson(),
        // Token heads: HF's ...ForTokenClassification of the family (XLM-R and CamemBERT under their own names); no problem_type.
        RobertaForTokenClassification r => (r.Config with { Architectures = [RobertaFamily.TokenArchitecture(r.Config.ModelType)], ProblemType = null }).ToJson(),
        DistilBertForTokenClassification d => (d.Config with { Architectures = [nameof(DistilBertForTokenClassification)], ProblemType = null }).ToJson(),
        ElectraForTokenClassification e => (e.Config with { Architectures = [nameof(ElectraForTokenClassification)], ProblemType = null }).ToJson(),
        DebertaV2ForTokenClassification d => (d.Config with { Architectures = [nameof(DebertaV2ForTokenClassification)], ProblemType = null }).ToJson(),
        _ => throw new ArgumentException($"no folder format for {model.GetType().Name}", nameof(model)),
    };

    static Func<string, IReadOnlyList<string>?, string?, (EncoderClassifier, LoadReport)> LoadBertShaped(string type, string prefix, Func<BertConfig, EncoderClassifier> build) =>
        (dir, labels, pooling) =>
        {
            var (folder, configPath) = Resolve(dir);
            var config = BertConfig.Load(configPath, [type]);
            if (pooling is not null and not "pooler")
                throw DistilException.Usage($"{dir}: --pooling {pooling} is for BERT and ALBERT; a {type} classifier's head reads the first token");
            return Load(folder, config.Id2Label != null ? config.Labels : null, labels, l => config.WithLabels(l), () => config, build, prefix);
        };

    static (EncoderClassifier, LoadReport) LoadDistilBert(string dir, IReadOnlyList<string>? labels, string? pooling)
    {
        var (folder, configPath) = Resolve(dir);
        var config = DistilBertConfig.Load(configPath);
        if (pooling is not null and not "pooler")
            throw DistilException.Usage($"{dir}: --pooling {pooling} is for BERT and ALBERT; a DistilBERT classifier's head reads the first token");
        return Load(folder, config.Id2Label != null ? config.Labels : null, labels, l => config.WithLabels(l), () => config,
            c => new DistilBertForSequenceClassification(c), "distilbert", extraHeadPrefix: "pre_classifier.");
    }

    static (string Folder, string ConfigPath) Resolve(string dir)
    {
        string folder = AtomicFolder.ResolveForReading(dir);
        if (!Directory.Exists(folder)) throw DistilException.NotFound($"{dir}: model folder not found; expected a folder with {ModelFolder.ConfigFile} and {ModelFolder.WeightsFile}");
        return (folder, Path.Combine(folder, ModelFolder.ConfigFile));
    }

    /// <summary>
    /// The shared load: a new head when the labels differ (or the file has none), every base-model tensor required,
    /// extra tensors (an MLM or discriminator head of a pre-trained checkpoint) only reported.
    /// </summary>
    static (EncoderClassifier, LoadReport) Load<TConfig>(string folder, IReadOnlyList<string>? fileLabels, IReadOnlyList<string>? labels,
        Func<IReadOnlyList<string>, TConfig> relabel, Func<TConfig> asIs, Func<TConfig, EncoderClassifier> build, string basePrefix, string? extraHeadPrefix = null)
    {
        var (tensors, weights) = WeightFiles.Read(folder);
        try
        {
            bool IsHead(string k) => ClassifierHead.IsHeadKey(k) || (extraHeadPrefix != null && k.StartsWith(extraHeadPrefix, StringComparison.Ordinal));
            var head = ClassifierHead.Decide(tensors, fileLabels, labels, folder);
            var config = head.Relabel ? relabel(labels!) : asIs();
            var used = head.IsNew ? tensors.Where(p => !IsHead(p.Key)).ToDictionary() : tensors;
            var model = build(config);
            try
            {
                var report = StateDictLoader.Load(model, used, weights, basePrefix: basePrefix);
                var missing = report.Missing.Where(k => !IsHead(k)).ToList();
                if (missing.Count > 0)
                    throw DistilException.BadInput(
                        $"{weights}: {missing.Count} encoder tensors are missing: {string.Join(", ", missing.Take(8))}{(missing.Count > 8 ? $", ... ({missing.Count - 8} more)" : "")}; " +
                        $"the weights do not belong to this {ModelFolder.ConfigFile} (or the file is not a {basePrefix} checkpoint)");
                var discarded = head.IsNew ? tensors.Keys.Where(IsHead) : [];
                var unexpected = report.Unexpected.Concat(discarded).Order(StringComparer.Ordinal).ToList();
                return (model, report with { Unexpected = unexpected, NewlyInitialised = report.Missing });
            }
            catch { model.Dispose(); throw; }
        }
        finally { foreach (var t in tensors.Values) t.Dispose(); }
    }
}
