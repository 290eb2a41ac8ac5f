using System.Text.Json;
using System.Text.Json.Serialization;

namespace Distil.Models;

/// <summary>
/// Hugging Face <c>DistilBertConfig</c> as stored in config.json (its own key names: dim, n_layers, n_heads,
/// hidden_dim, ...; same defaults, <c>model_type: distilbert</c>). Keys this class does not know are kept in
/// <see cref="Extra"/> and written back unchanged.
/// </summary>
public sealed record DistilBertConfig
{
    public const string Type = "distilbert", Architecture = "DistilBertForSequenceClassification";

    [JsonPropertyName("model_type")] public string ModelType { get; init; } = Type;
    [JsonPropertyName("architectures")] public string[]? Architectures { get; init; }
    [JsonPropertyName("vocab_size")] public int VocabSize { get; init; } = 30522;
    [JsonPropertyName("max_position_embeddings")] public int MaxPositionEmbeddings { get; init; } = 512;
    [JsonPropertyName("sinusoidal_pos_embds")] public bool SinusoidalPosEmbds { get; init; }
    [JsonPropertyName("n_layers")] public int NLayers { get; init; } = 6;
    [JsonPropertyName("n_heads")] public int NHeads { get; init; } = 12;
    [JsonPropertyName("dim")] public int Dim { get; init; } = 768;
    [JsonPropertyName("hidden_dim")] public int HiddenDim { get; init; } = 3072;
    [JsonPropertyName("dropout")] public double Dropout { get; init; } = 0.1;
    [JsonPropertyName("attention_dropout")] public double AttentionDropout { get; init; } = 0.1;
    [JsonPropertyName("activation")] public string Activation { get; init; } = "gelu";
    [JsonPropertyName("initializer_range")] public double InitializerRange { get; init; } = 0.02;
    [JsonPropertyName("qa_dropout")] public double QaDropout { get; init; } = 0.1;
    [JsonPropertyName("seq_classif_dropout")] public double SeqClassifDropout { get; init; } = 0.2;
    [JsonPropertyName("pad_token_id")] public int PadTokenId { get; init; }
    [JsonPropertyName("id2label")] public Dictionary<string, string>? Id2Label { get; init; }
    [JsonPropertyName("label2id")] public Dictionary<string, int>? Label2Id { get; init; }
    /// <summary>HF's problem_type of the sequence head: null / single_label_classification, regression, multi_label_classification.</summary>
    [JsonPropertyName("problem_type")] public string? ProblemType { get; init; }

    [JsonExtensionData] public Dictionary<string, JsonElement>? Extra { get; init; }

    /// <summary>HF hard-codes the LayerNorm epsilon of DistilBERT (no config key).</summary>
    public const double LayerNormEps = 1e-12;

    [JsonIgnore] public int NumLabels => Id2Label?.Count ?? 2;
    [JsonIgnore] public int HeadDim => Dim / NHeads;
    [JsonIgnore] public IReadOnlyList<string> Labels => Shape.Labels;

    /// <summary>The sizes as a <see cref="BertConfig"/> (not a file: what matches and presets validate against); one token type.</summary>
    [JsonIgnore]
    public BertConfig Shape => new()
    {
        VocabSize = VocabSize, HiddenSize = Dim, NumHiddenLayers = NLayers, NumAttentionHeads = NHeads, IntermediateSize = HiddenDim,
        HiddenAct = Activation, HiddenDropoutProb = Dropout, AttentionProbsDropoutProb = AttentionDropout,
        MaxPositionEmbeddings = MaxPositionEmbeddings, TypeVocabSize = 1, InitializerRange = InitializerRange, LayerNormEps = LayerNormEps,
        PadTokenId = PadTokenId, Id2Label = Id2Label, Label2Id = Label2Id, ProblemType = ProblemType,
    };

    public DistilBertConfig WithLabels(IReadOnlyList<string> labels) => this with
    {
        Id2Label = labels.Select((l, i) => (l, i)).ToDictionary(p => p.i.ToString(), p => p.l),
        Label2Id = labels.Select((l, i) => (l, i)).ToDictionary(p => p.l, p => p.i),
    };

    public void Validate(string source = "config.json")
    {
        void Require(bool ok, string what)
        {
            if (!ok) throw DistilException.BadInput($"{source}: {what}");
        }
        Require(ModelType == Type, $"model_type '{ModelType}' is not '{Type}'");
        Require(!SinusoidalPosEmbds, "sinusoidal_pos_embds true is not supported (every released DistilBERT learns its positions)");
        Require(Activation is "gelu" or "relu", $"activation '{Activation}' is not supported (gelu, relu)");
        Require(SeqClassifDropout is >= 0 and < 1, "seq_classif_dropout must be in [0, 1)");
        Shape.Validate(source); // the size fields have BERT's rules
    }

    static readonly JsonSerializerOptions Options = new() { WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    public static DistilBertConfig FromJson(string json, string source = "config.json")
    {
        DistilBertConfig? c;
        try { c = JsonSerializer.Deserialize<DistilBertConfig>(json, Options); }
        catch (JsonException e) { throw DistilException.BadInput($"{source}: not a valid DistilBERT config ({e.Message})"); }
        if (c == null) throw DistilException.BadInput($"{source}: empty config");
        c.Validate(source);
        return c;
    }

    public static DistilBertConfig Load(string path)
    {
        if (!File.Exists(path)) throw DistilException.NotFound($"{path}: config.json not found; a model folder needs config.json and model.safetensors");
        return FromJson(File.ReadAllText(path), path);
    }

    public string ToJson() => JsonSerializer.Serialize(this, Options);
}
