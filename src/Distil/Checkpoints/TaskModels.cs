using System.Text.Json;
using Distil.Models;

namespace Distil.Checkpoints;

/// <summary>
/// Loads a model folder for a <see cref="TaskKind"/> (docs/tasks.md): a token head (HF's ...ForTokenClassification of any family but ALBERT,
/// read from its architectures) or a sequence head whose config.json problem_type says single-label, regression or
/// multi-label. Asked for another kind than the folder's, the head is new (an encoder, or a classifier of another task,
/// becomes the start of this task's model).
/// </summary>
public static class TaskModels
{
    /// <summary>What the folder's config.json says its head does: ...ForTokenClassification in architectures, else problem_type.</summary>
    public static TaskKind KindOf(string dir)
    {
        string path = Path.Combine(AtomicFolder.ResolveForReading(dir), ModelFolder.ConfigFile);
        if (!File.Exists(path)) throw DistilException.NotFound($"{path}: not found; a model folder needs config.json, model.safetensors and vocab.txt");
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(path));
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw DistilException.BadInput($"{path}: not a JSON object");
            var architectures = root.TryGetProperty("architectures", out var a) && a.ValueKind == JsonValueKind.Array
                ? a.EnumerateArray().Where(x => x.ValueKind == JsonValueKind.String).Select(x => x.GetString()!).ToArray() : null;
            if (TaskKinds.IsTokenHead(architectures)) return TaskKind.Token;
            string? problem = root.TryGetProperty("problem_type", out var p) && p.ValueKind == JsonValueKind.String ? p.GetString() : null;
            return TaskKinds.FromProblemType(problem, path);
        }
        catch (JsonException e) { throw DistilException.BadInput($"{path}: not valid JSON ({e.Message})"); }
    }

    /// <summary>The model_type values with a token-classification head (every encoder family but ALBERT).</summary>
    public static readonly IReadOnlyList<string> TokenFamilies = ["bert", .. RobertaFamily.Architectures.Keys, DistilBertConfig.Type, ElectraFamily.Type, DebertaV2Config.Type];

    /// <summary>
    /// The model of <paramref name="dir"/> for <paramref name="task"/> (null: the folder's own kind); labels and pooling as
    /// <see cref="EncoderFamilies.LoadForClassification"/>. Token heads exist for every family in <see cref="TokenFamilies"/>;
    /// regression and multi-label heads for every family whose config keeps problem_type (all but ALBERT).
    /// </summary>
    public static (EncoderClassifier Model, LoadReport Report) Load(string dir, TaskKind? task = null, IReadOnlyList<string>? labels = null, string? pooling = null)
    {
        var fileKind = KindOf(dir);
        var want = task ?? fileKind;
        string type = ClassifierFolder.ModelType(dir);
        if (want == TaskKind.Token)
        {
            if (!TokenFamilies.Contains(type))
                throw DistilException.Usage($"{dir}: a token-classification head is built for {string.Join(", ", TokenFamilies)} models; this one is '{type}'");
            if (pooling is not null and not "pooler") throw DistilException.Usage("--pooling is for sequence classifiers; a token head reads every token");
            return LoadTokenClassifier(dir, type, labels, keepHead: fileKind == TaskKind.Token);
        }
        if (fileKind == TaskKind.Token) throw DistilException.Usage($"{dir} is a token classifier; pass --task token (or start from its encoder with another task)");
        if (want is TaskKind.Regression or TaskKind.MultiLabel && type == AlbertConfig.Type)
            throw DistilException.Usage($"{dir}: a {want.Name()} head is built for BERT, RoBERTa/XLM-R/CamemBERT, DistilBERT, ELECTRA and DeBERTa-v2 models; this one is '{type}'");
        var (model, report) = EncoderFamilies.LoadForClassification(dir, labels, pooling);
        model.Task = want;
        return (model, report);
    }

    /// <summary>
    /// The family's ...ForTokenClassification from any folder of it (a pre-trained encoder, a sequence classifier, a token
    /// model): every encoder tensor is required; the head is kept only from a token model with the same labels. HF builds
    /// BERT's token model without the pooler, so bert.pooler.* may be absent.
    /// </summary>
    static (EncoderClassifier, LoadReport) LoadTokenClassifier(string dir, string type, IReadOnlyList<string>? labels, bool keepHead)
    {
        string folder = AtomicFolder.ResolveForReading(dir);
        if (!Directory.Exists(folder)) throw DistilException.NotFound($"{dir}: model folder not found; expected a folder with {ModelFolder.ConfigFile} and {ModelFolder.WeightsFile}");
        string configPath = Path.Combine(folder, ModelFolder.ConfigFile);
        // Per family: the folder's labels (null without id2label) and the model for a given label list (null: the folder's).
        (IReadOnlyList<string>? FileLabels, IReadOnlyList<string> ConfigLabels, Func<IReadOnlyList<string>?, EncoderTokenClassifier> Build) family = type switch
        {
            DistilBertConfig.Type => Family(DistilBertConfig.Load(configPath), c => c.Id2Label != null, c => c.Labels, (c, l) => c.WithLabels(l),
                c => new DistilBertForTokenClassification(c with { ProblemType = null })),
            DebertaV2Config.Type => Family(DebertaV2Config.Load(configPath), c => c.Id2Label != null, c => c.Labels, (c, l) => c.WithLabels(l),
                c => new DebertaV2ForTokenClassification(c with { ProblemType = null })),
            _ => Family(BertConfig.Load(configPath, [type]), c => c.Id2Label != null, c => c.Labels, (c, l) => c.WithLabels(l), c => type switch
            {
                "bert" => new BertForTokenClassification(c with { ProblemType = null }),
                ElectraFamily.Type => new ElectraForTokenClassification(c with { ProblemType = null }),
                _ => (EncoderTokenClassifier)new RobertaForTokenClassification(c with { ProblemType = null }), // roberta, xlm-roberta, camembert
            }),
        };
        var (tensors, weights) = WeightFiles.Read(folder);
        try
        {
            var head = ClassifierHead.Decide(tensors, keepHead ? family.FileLabels : null, labels ?? (keepHead ? null : family.ConfigLabels), folder);
            var model = family.Build(head.Relabel ? labels ?? family.ConfigLabels : null);
            try
            {
                var report = StateDictLoader.Load(model, head.Used(tensors), weights, basePrefix: model.BasePrefix);
                var missing = report.Missing.Where(k => !ClassifierHead.IsHeadKey(k) && !k.StartsWith("bert.pooler.", StringComparison.Ordinal)).ToList();
                if (missing.Count > 0)
                    throw DistilException.BadInput(
                        $"{weights}: {missing.Count} encoder tensors are missing: {string.Join(", ", missing.Take(8))}{(missing.Count > 8 ? $", ... ({missing.Count - 8} more)" : "")}; " +
                        $"the weights do not belong to this {ModelFolder.ConfigFile} (or the file is not a {model.BasePrefix} checkpoint)");
                var unexpected = report.Unexpected.Concat(head.Discarded(tensors)).Order(StringComparer.Ordinal).ToList();
                return (model, report with { Unexpected = unexpected, NewlyInitialised = report.Missing });
            }
            catch { model.Dispose(); throw; }
        }
        finally { foreach (var t in tensors.Values) t.Dispose(); }
    }

    static (IReadOnlyList<string>?, IReadOnlyList<string>, Func<IReadOnlyList<string>?, EncoderTokenClassifier>) Family<TConfig>(TConfig config,
        Func<TConfig, bool> hasLabels, Func<TConfig, IReadOnlyList<string>> labelsOf, Func<TConfig, IReadOnlyList<string>, TConfig> relabel,
        Func<TConfig, EncoderTokenClassifier> build) =>
        (hasLabels(config) ? labelsOf(config) : null, labelsOf(config), l => build(l == null ? config : relabel(config, l)));
}
