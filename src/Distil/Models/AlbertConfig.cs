using System.Text.Json;
using System.Text.Json.Serialization;

namespace Distil.Models;

/// <summary>
/// Hugging Face <c>AlbertConfig</c> as stored in config.json (same field names and defaults, <c>model_type: albert</c>).
/// ALBERT = BERT with a factorised embedding (V x E tables, then one E -> H Linear) and cross-layer sharing
/// (num_hidden_layers layers run the weights of num_hidden_groups groups). Keys this class does not know are kept in
/// <see cref="Extra"/> and written back unchanged.
/// </summary>
public sealed record AlbertConfig
{
    public const string Type = "albert";
    /// <summary>As <see cref="BertConfig.MeanPooledType"/>: a mean-pooled ALBERT folder; read back, "albert" with classifier_pooling "mean".</summary>
    public const string MeanPooledType = "distil_albert_mean";

    [JsonPropertyName("model_type")] public string ModelType { get; init; } = Type;
    [JsonPropertyName("architectures")] public string[]? Architectures { get; init; }
    [JsonPropertyName("vocab_size")] public int VocabSize { get; init; } = 30000;
    /// <summary>E: width of the embedding tables (ALBERT's factorisation, E &lt; H).</summary>
    [JsonPropertyName("embedding_size")] public int EmbeddingSize { get; init; } = 128;
    [JsonPropertyName("hidden_size")] public int HiddenSize { get; init; } = 4096;
    [JsonPropertyName("num_hidden_layers")] public int NumHiddenLayers { get; init; } = 12;
    /// <summary>Groups of distinct layer weights; layer i runs group i / (num_hidden_layers / num_hidden_groups).</summary>
    [JsonPropertyName("num_hidden_groups")] public int NumHiddenGroups { get; init; } = 1;
    [JsonPropertyName("num_attention_heads")] public int NumAttentionHeads { get; init; } = 64;
    [JsonPropertyName("intermediate_size")] public int IntermediateSize { get; init; } = 16384;
    /// <summary>Layers inside a group; only 1 (every released ALBERT) is supported.</summary>
    [JsonPropertyName("inner_group_num")] public int InnerGroupNum { get; init; } = 1;
    [JsonPropertyName("hidden_act")] public string HiddenAct { get; init; } = "gelu_new";
    [JsonPropertyName("hidden_dropout_prob")] public double HiddenDropoutProb { get; init; }
    [JsonPropertyName("attention_probs_dropout_prob")] public double AttentionProbsDropoutProb { get; init; }
    [JsonPropertyName("max_position_embeddings")] public int MaxPositionEmbeddings { get; init; } = 512;
    [JsonPropertyName("type_vocab_size")] public int TypeVocabSize { get; init; } = 2;
    [JsonPropertyName("initializer_range")] public double InitializerRange { get; init; } = 0.02;
    [JsonPropertyName("layer_norm_eps")] public double LayerNormEps { get; init; } = 1e-12;
    [JsonPropertyName("classifier_dropout_prob")] public double ClassifierDropoutProb { get; init; } = 0.1;
    [JsonPropertyName("position_embedding_type")] public string PositionEmbeddingType { get; init; } = "absolute";
    [JsonPropertyName("pad_token_id")] public int PadTokenId { get; init; }
    [JsonPropertyName("id2label")] public Dictionary<string, string>? Id2Label { get; init; }
    [JsonPropertyName("label2id")] public Dictionary<string, int>? Label2Id { get; init; }
    /// <summary>Distil extension (ignored by HF), as in <see cref="BertConfig.ClassifierPooling"/>: "pooler" (default) or "mean".</summary>
    [JsonPropertyName("classifier_pooling")] public string? ClassifierPooling { get; init; }

    [JsonExtensionData] public Dictionary<string, JsonElement>? Extra { get; init; }

    [JsonIgnore] public int NumLabels => Id2Label?.Count ?? 2;
    [JsonIgnore] public int HeadDim => HiddenSize / NumAttentionHeads;
    [JsonIgnore] public IReadOnlyList<string> Labels => Shape.Labels;

    /// <summary>The group whose weights transformer layer <paramref name="layer"/> (0-based) runs, as HF computes it.</summary>
    public int GroupOf(int layer) => (int)(layer / ((double)NumHiddenLayers / NumHiddenGroups));

    /// <summary>
    /// The hidden-side sizes as a <see cref="BertConfig"/> (not a file: the view distillation matches and presets
    /// validate against). Hidden state 0 is the E -> H mapped embedding, so every hidden state is H wide.
    /// </summary>
    [JsonIgnore]
    public BertConfig Shape => new()
    {
        VocabSize = VocabSize, HiddenSize = HiddenSize, NumHiddenLayers = NumHiddenLayers, NumAttentionHeads = NumAttentionHeads,
        IntermediateSize = IntermediateSize, HiddenAct = HiddenAct, HiddenDropoutProb = HiddenDropoutProb,
        AttentionProbsDropoutProb = AttentionProbsDropoutProb, MaxPositionEmbeddings = MaxPositionEmbeddings, TypeVocabSize = TypeVocabSize,
        InitializerRange = InitializerRange, LayerNormEps = LayerNormEps, PadTokenId = PadTokenId, Id2Label = Id2Label, Label2Id = Label2Id,
        ClassifierPooling = ClassifierPooling,
    };

    public AlbertConfig WithLabels(IReadOnlyList<string> labels) => this with
    {
        Id2Label = labels.Select((l, i) => (l, i)).ToDictionary(p => p.i.ToString(), p => p.l),
        Label2Id = labels.Select((l, i) => (l, i)).ToDictionary(p => p.l, p => p.i),
    };

    /// <summary>Throws a <see cref="DistilException"/> naming the first inconsistent field.</summary>
    public void Validate(string source = "config.json")
    {
        void Require(bool ok, string what)
        {
            if (!ok) throw DistilException.BadInput($"{source}: {what}");
        }
        Require(ModelType == Type, $"model_type '{ModelType}' is not '{Type}'");
        Require(EmbeddingSize > 0, "embedding_size must be positive");
        Require(NumHiddenGroups >= 1 && NumHiddenGroups <= NumHiddenLayers && NumHiddenLayers % NumHiddenGroups == 0,
            $"num_hidden_groups {NumHiddenGroups} must divide num_hidden_layers {NumHiddenLayers}");
        Require(InnerGroupNum == 1, $"inner_group_num {InnerGroupNum} is not supported (only 1, as in every released ALBERT)");
        Require(PositionEmbeddingType == "absolute", $"position_embedding_type '{PositionEmbeddingType}' is not supported (only absolute)");
        Require(ClassifierDropoutProb is >= 0 and < 1, "classifier_dropout_prob must be in [0, 1)");
        Shape.Validate(source); // the hidden-side fields have BERT's rules
    }

    static readonly JsonSerializerOptions Options = new() { WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    public static AlbertConfig FromJson(string json, string source = "config.json")
    {
        AlbertConfig? c;
        try { c = JsonSerializer.Deserialize<AlbertConfig>(json, Options); }
        catch (JsonException e) { throw DistilException.BadInput($"{source}: not a valid ALBERT config ({e.Message})"); }
        if (c == null) throw DistilException.BadInput($"{source}: empty config");
        if (c.ModelType == MeanPooledType) c = c with { ModelType = Type, ClassifierPooling = c.ClassifierPooling ?? "mean" };
        c.Validate(source);
        return c;
    }

    public static AlbertConfig Load(string path)
    {
        if (!File.Exists(path)) throw DistilException.NotFound($"{path}: config.json not found; a model folder needs config.json, model.safetensors and vocab.txt");
        return FromJson(File.ReadAllText(path), path);
    }

    public string ToJson() => JsonSerializer.Serialize(this, Options);
}
