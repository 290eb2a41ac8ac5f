using System.Text.Json;
using Distil.Models;

namespace Distil.Checkpoints;

/// <summary>
/// What a saved classifier's config.json says to transformers. A pooler-pooled model is transformers' own
/// BertForSequenceClassification / AlbertForSequenceClassification and gets a standard config. A mean-pooled one is
/// not (transformers ignores classifier_pooling and would classify the [CLS] pooler instead, giving other answers
/// silently), so its folder carries the classifier as custom code: <see cref="ModelingFile"/>, named by auto_map,
/// with a model_type transformers does not have built in, so that only <c>trust_remote_code=True</c> loads it.
/// </summary>
public static class TransformersFormat
{
    public const string ModelingFile = "modeling_distil.py";
    const string AutoMapKey = "auto_map";

    /// <summary>The text of modeling_distil.py (an embedded resource, the file next to this one in the source).</summary>
    public static string ModelingText { get; } = ReadModelingText();

    /// <summary>config.json for <paramref name="model"/>, and whether the folder needs <see cref="ModelingFile"/>.</summary>
    public static (string Json, bool NeedsModelingFile) Config(EncoderClassifier model)
    {
        switch (model)
        {
            case BertForTokenClassification t:
                return ((t.Config with { ModelType = "bert", Architectures = ["BertForTokenClassification"], ProblemType = null }).ToJson(), false);
            case BertForSequenceClassification b:
                {
                    bool mean = b.Config.ClassifierPooling == "mean";
                    string cls = mean ? "DistilBertMeanForSequenceClassification" : "BertForSequenceClassification";
                    var c = b.Config with
                    {
                        ModelType = mean ? BertConfig.MeanPooledType : "bert",
                        Architectures = [cls],
                        ProblemType = b.Task.ProblemType(),
                        Extra = WithAutoMap(b.Config.Extra, mean ? ("DistilBertMeanConfig", cls) : null),
                    };
                    return (c.ToJson(), mean);
                }
            case AlbertForSequenceClassification a:
                {
                    bool mean = a.Config.ClassifierPooling == "mean";
                    string cls = mean ? "DistilAlbertMeanForSequenceClassification" : "AlbertForSequenceClassification";
                    var c = a.Config with
                    {
                        ModelType = mean ? AlbertConfig.MeanPooledType : AlbertConfig.Type,
                        Architectures = [cls],
                        Extra = WithAutoMap(a.Config.Extra, mean ? ("DistilAlbertMeanConfig", cls) : null),
                    };
                    return (c.ToJson(), mean);
                }
            default:
                return (EncoderFamilies.ConfigJson(model), false); // every other family is transformers' own class
        }
    }

    /// <summary>The extra keys with auto_map set to the shipped classes, or without one (a folder read back may carry an old one).</summary>
    static Dictionary<string, JsonElement>? WithAutoMap(Dictionary<string, JsonElement>? extra, (string Config, string Model)? classes)
    {
        var kept = (extra ?? []).Where(kv => kv.Key != AutoMapKey).ToDictionary();
        if (classes is var (configClass, modelClass))
        {
            string module = Path.GetFileNameWithoutExtension(ModelingFile);
            kept[AutoMapKey] = JsonSerializer.SerializeToElement(new Dictionary<string, string>
            {
                ["AutoConfig"] = $"{module}.{configClass}",
                ["AutoModelForSequenceClassification"] = $"{module}.{modelClass}",
            });
        }
        return kept.Count > 0 ? kept : null;
    }

    static string ReadModelingText()
    {
        using var s = typeof(TransformersFormat).Assembly.GetManifestResourceStream("Distil.Checkpoints." + ModelingFile)
            ?? throw new InvalidOperationException($"the {ModelingFile} resource is missing from the Distil assembly (a build error)");
        using var r = new StreamReader(s);
        return r.ReadToEnd();
    }
}
