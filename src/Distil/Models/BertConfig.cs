using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Distil.Models;

/// <summary>
/// Hugging Face <c>BertConfig</c> as stored in config.json (same field names and defaults).
/// Keys this class does not know are kept in <see cref="Extra"/> and written back unchanged.
/// </summary>
public sealed record BertConfig
{
    /// <summary>
    /// model_type of the mean-pooled folders Distil saves: their classifier is not transformers' BertForSequenceClassification,
    /// so the folder ships it as custom code (auto_map, modeling_distil.py), and a model_type transformers does not know
    /// makes it refuse the folder without trust_remote_code=True instead of loading it into the built-in class.
    /// Read back, it is "bert" with classifier_pooling "mean".
    /// </summary>
    public const string MeanPooledType = "distil_bert_mean";

    [JsonPropertyName("model_type")] public string ModelType { get; init; } = "bert";
    [JsonPropertyName("architectures")] public string[]? Architectures { get; init; }
    [JsonPropertyName("vocab_size")] public int VocabSize { get; init; } = 30522;
    [JsonPropertyName("hidden_size")] public int HiddenSize { get; init; } = 768;
    [JsonPropertyName("num_hidden_layers")] public int NumHiddenLayers { get; init; } = 12;
    [JsonPropertyName("num_attention_heads")] public int NumAttentionHeads { get; init; } = 12;
    [JsonPropertyName("intermediate_size")] public int IntermediateSize { get; init; } = 3072;
    [JsonPropertyName("hidden_act")] public string HiddenAct { get; init; } = "gelu";
    [JsonPropertyName("hidden_dropout_prob")] public double HiddenDropoutProb { get; init; } = 0.1;
    [JsonPropertyName("attention_probs_dropout_prob")] public double AttentionProbsDropoutProb { get; init; } = 0.1;
    [JsonPropertyName("max_position_embeddings")] public int MaxPositionEmbeddings { get; init; } = 512;
    [JsonPropertyName("type_vocab_size")] public int TypeVocabSize { get; init; } = 2;
    [JsonPropertyName("initializer_range")] public double InitializerRange { get; init; } = 0.02;
    [JsonPropertyName("layer_norm_eps")] public double LayerNormEps { get; init; } = 1e-12;
    [JsonPropertyName("pad_token_id")] public int PadTokenId { get; init; } = 0;
    [JsonPropertyName("classifier_dropout")] public double? ClassifierDropout { get; init; }
    /// <summary>Labels of a classification head: id2label keys are the ids as strings, as in HF.</summary>
    [JsonPropertyName("id2label")] public Dictionary<string, string>? Id2Label { get; init; }
    [JsonPropertyName("label2id")] public Dictionary<string, int>? Label2Id { get; init; }
    /// <summary>HF's problem_type of a sequence head: null / single_label_classification, regression, multi_label_classification (<see cref="TaskKinds"/>).</summary>
    [JsonPropertyName("problem_type")] public string? ProblemType { get; init; }
    /// <summary>
    /// Distil extension (ignored by HF): how the sequence classifier pools the encoder output.
    /// "pooler" = HF's tanh pooler on [CLS] (default); "mean" = mean of the unmasked token states,
    /// the better choice for sentence-transformers checkpoints whose pooler was never trained.
    /// </summary>
    [JsonPropertyName("classifier_pooling")] public string? ClassifierPooling { get; init; }
    /// <summary>ELECTRA only: width of the embedding tables (HF maps them to hidden_size with embeddings_project when they differ).</summary>
    [JsonPropertyName("embedding_size")] public int? EmbeddingSize { get; init; }

    [JsonExtensionData] public Dictionary<string, JsonElement>? Extra { get; init; }

    // Derived values, not config.json keys: [JsonIgnore] keeps them out of the files we write.
    [JsonIgnore] public int NumLabels => Id2Label?.Count ?? 2;
    [JsonIgnore] public int HeadDim => HiddenSize / NumAttentionHeads;

    [JsonIgnore]
    public IReadOnlyList<string> Labels =>
        Id2Label == null ? new[] { "LABEL_0", "LABEL_1" }
        : Enumerable.Range(0, Id2Label.Count).Select(i => Id2Label.TryGetValue(i.ToString(), out var l) ? l : $"LABEL_{i}").ToArray();

    /// <summary>A copy with these labels as id2label/label2id.</summary>
    public BertConfig WithLabels(IReadOnlyList<string> labels) => this with
    {
        Id2Label = labels.Select((l, i) => (l, i)).ToDictionary(p => p.i.ToString(), p => p.l),
        Label2Id = labels.Select((l, i) => (l, i)).ToDictionary(p => p.l, p => p.i),
    };

    /// <summary>Throws a <see cref="DistilException"/> naming the first inconsistent field.</summary>
    /// <param name="modelTypes">The model_type values the caller's model reads this config as (BERT's own: "bert";
    /// RoBERTa, XLM-R, CamemBERT and ELECTRA share BERT's config keys).</param>
    public void Validate(string source = "config.json", IReadOnlyCollection<string>? modelTypes = null)
    {
        void Require(bool ok, string what)
        {
            if (!ok) throw DistilException.BadInput($"{source}: {what}");
        }
        modelTypes ??= ["bert"];
        Require(modelTypes.Contains(ModelType), $"model_type '{ModelType}' is not supported here (expected {string.Join(" or ", modelTypes.Select(t => $"'{t}'"))})");
        Require(EmbeddingSize is null or > 0, "embedding_size must be positive");
        Require(VocabSize > 0, "vocab_size must be positive");
        Require(HiddenSize > 0 && NumAttentionHeads > 0, "hidden_size and num_attention_heads must be positive");
        Require(HiddenSize % NumAttentionHeads == 0, $"hidden_size {HiddenSize} is not a multiple of num_attention_heads {NumAttentionHeads}");
        Require(NumHiddenLayers > 0, "num_hidden_layers must be positive");
        Require(IntermediateSize > 0, "intermediate_size must be positive");
        Require(MaxPositionEmbeddings > 0 && TypeVocabSize > 0, "max_position_embeddings and type_vocab_size must be positive");
        Require(HiddenAct is "gelu" or "gelu_new" or "gelu_pytorch_tanh" or "relu", $"hidden_act '{HiddenAct}' is not supported (gelu, gelu_new, relu)");
        TaskKinds.FromProblemType(ProblemType, source);
        Require(ProblemType != "regression" || NumLabels == 1, $"problem_type regression needs exactly one label (num_labels 1); id2label has {NumLabels}");
        Require(ClassifierPooling is null or "pooler" or "mean", $"classifier_pooling '{ClassifierPooling}' must be 'pooler' or 'mean'");
        if (Id2Label != null)
            for (int i = 0; i < Id2Label.Count; i++)
                Require(Id2Label.ContainsKey(i.ToString()), $"id2label must have the keys 0..{Id2Label.Count - 1}; '{i}' is missing");
    }

    static readonly JsonSerializerOptions Options = new() { WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    static readonly string[] DerivedKeys = ["NumLabels", "HeadDim", "Labels"];

    public static BertConfig FromJson(string json, string source = "config.json", IReadOnlyCollection<string>? modelTypes = null)
    {
        BertConfig? c;
        try { c = JsonSerializer.Deserialize<BertConfig>(json, Options); }
        catch (JsonException e) { throw DistilException.BadInput($"{source}: not a valid BERT config ({e.Message})"); }
        if (c == null) throw DistilException.BadInput($"{source}: empty config");
        if (c.ModelType == MeanPooledType) c = c with { ModelType = "bert", ClassifierPooling = c.ClassifierPooling ?? "mean" };
        c.Validate(source, modelTypes);
        // Files written by distil 0.1.0 before the [JsonIgnore] fix carry these derived values: drop them, not keep them.
        if (c.Extra != null && DerivedKeys.Any(c.Extra.ContainsKey))
            c = c with { Extra = c.Extra.Where(kv => !DerivedKeys.Contains(kv.Key)).ToDictionary(kv => kv.Key, kv => kv.Value) };
        return c;
    }

    public static BertConfig Load(string path, IReadOnlyCollection<string>? modelTypes = null)
    {
        if (!File.Exists(path)) throw DistilException.NotFound($"{path}: config.json not found; a model folder needs config.json, model.safetensors and vocab.txt");
        return FromJson(File.ReadAllText(path), path, modelTypes);
    }

    public string ToJson() => JsonSerializer.Serialize(this, Options);
}
