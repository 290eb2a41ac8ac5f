using System.Text.Json;
using System.Text.Json.Serialization;

namespace Distil.Models;

/// <summary>
/// Hugging Face <c>DebertaV2Config</c> as stored in config.json (same field names and defaults, <c>model_type:
/// deberta-v2</c>; DeBERTa-v3 checkpoints use it too). Keys this class does not know are kept in <see cref="Extra"/>
/// and written back unchanged.
/// </summary>
public sealed record DebertaV2Config
{
    public const string Type = "deberta-v2";

    [JsonPropertyName("model_type")] public string ModelType { get; init; } = Type;
    [JsonPropertyName("architectures")] public string[]? Architectures { get; init; }
    [JsonPropertyName("vocab_size")] public int VocabSize { get; init; } = 128100;
    [JsonPropertyName("hidden_size")] public int HiddenSize { get; init; } = 1536;
    [JsonPropertyName("num_hidden_layers")] public int NumHiddenLayers { get; init; } = 24;
    [JsonPropertyName("num_attention_heads")] public int NumAttentionHeads { get; init; } = 24;
    [JsonPropertyName("intermediate_size")] public int IntermediateSize { get; init; } = 6144;
    [JsonPropertyName("hidden_act")] public string HiddenAct { get; init; } = "gelu";
    [JsonPropertyName("hidden_dropout_prob")] public double HiddenDropoutProb { get; init; } = 0.1;
    [JsonPropertyName("attention_probs_dropout_prob")] public double AttentionProbsDropoutProb { get; init; } = 0.1;
    [JsonPropertyName("max_position_embeddings")] public int MaxPositionEmbeddings { get; init; } = 512;
    /// <summary>0 (every released DeBERTa-v2/v3): no token-type embedding at all.</summary>
    [JsonPropertyName("type_vocab_size")] public int TypeVocabSize { get; init; }
    [JsonPropertyName("initializer_range")] public double InitializerRange { get; init; } = 0.02;
    [JsonPropertyName("layer_norm_eps")] public double LayerNormEps { get; init; } = 1e-7;
    /// <summary>Disentangled attention on (rel_embeddings, c2p/p2c terms); false makes it plain scaled dot-product attention.</summary>
    [JsonPropertyName("relative_attention")] public bool RelativeAttention { get; init; }
    /// <summary>k in the paper; &lt; 1 means max_position_embeddings.</summary>
    [JsonPropertyName("max_relative_positions")] public int MaxRelativePositions { get; init; } = -1;
    /// <summary>&gt; 0: relative distances beyond buckets/2 share log-spaced buckets (256 in v3); -1: none.</summary>
    [JsonPropertyName("position_buckets")] public int PositionBuckets { get; init; } = -1;
    [JsonPropertyName("pad_token_id")] public int PadTokenId { get; init; }
    /// <summary>Absolute position embeddings added to the input (true in v2's default, false in v3).</summary>
    [JsonPropertyName("position_biased_input")] public bool PositionBiasedInput { get; init; } = true;
    /// <summary>"c2p" and/or "p2c"; HF also accepts the old "p2c|c2p" string form, and so do we.</summary>
    [JsonPropertyName("pos_att_type"), JsonConverter(typeof(PosAttTypeConverter))] public string[]? PosAttType { get; init; }
    /// <summary>"layer_norm" puts deberta.encoder.LayerNorm on the relative embeddings (v3); "none" does not.</summary>
    [JsonPropertyName("norm_rel_ebd")] public string NormRelEbd { get; init; } = "none";
    /// <summary>Position projections reuse query_proj/key_proj (v3) instead of separate pos_query_proj/pos_key_proj.</summary>
    [JsonPropertyName("share_att_key")] public bool ShareAttKey { get; init; }
    [JsonPropertyName("embedding_size")] public int? EmbeddingSizeOrNull { get; init; }
    [JsonPropertyName("attention_head_size")] public int? AttentionHeadSizeOrNull { get; init; }
    /// <summary>&gt; 0: a Conv1d after the first layer (deberta-v2-xlarge/xxlarge); 0: none.</summary>
    [JsonPropertyName("conv_kernel_size")] public int ConvKernelSize { get; init; }
    [JsonPropertyName("conv_groups")] public int ConvGroups { get; init; } = 1;
    [JsonPropertyName("conv_act")] public string ConvAct { get; init; } = "tanh";
    [JsonPropertyName("pooler_hidden_size")] public int? PoolerHiddenSizeOrNull { get; init; }
    [JsonPropertyName("pooler_dropout")] public double PoolerDropout { get; init; }
    [JsonPropertyName("pooler_hidden_act")] public string PoolerHiddenAct { get; init; } = "gelu";
    /// <summary>The classifier's dropout; null means hidden_dropout_prob (as HF).</summary>
    [JsonPropertyName("cls_dropout")] public double? ClsDropout { get; init; }
    [JsonPropertyName("id2label")] public Dictionary<string, string>? Id2Label { get; init; }
    [JsonPropertyName("label2id")] public Dictionary<string, int>? Label2Id { get; init; }
    /// <summary>HF's problem_type of the sequence head: null / single_label_classification, regression, multi_label_classification.</summary>
    [JsonPropertyName("problem_type")] public string? ProblemType { get; init; }

    [JsonExtensionData] public Dictionary<string, JsonElement>? Extra { get; init; }

    [JsonIgnore] public int NumLabels => Id2Label?.Count ?? 2;
    [JsonIgnore] public int EmbeddingSize => EmbeddingSizeOrNull ?? HiddenSize;
    [JsonIgnore] public int HeadDim => AttentionHeadSizeOrNull ?? HiddenSize / NumAttentionHeads;
    [JsonIgnore] public int PoolerHiddenSize => PoolerHiddenSizeOrNull ?? HiddenSize;
    [JsonIgnore] public IReadOnlyList<string> Labels => Shape.Labels;
    [JsonIgnore] public bool C2p => PosAttType?.Contains("c2p") == true;
    [JsonIgnore] public bool P2c => PosAttType?.Contains("p2c") == true;
    [JsonIgnore] public bool LayerNormOnRelEmbeddings => NormRelEbd.ToLowerInvariant().Split('|').Select(s => s.Trim()).Contains("layer_norm");

    /// <summary>The relative distances each side of 0 that get their own row: position_buckets when bucketed, else max_relative_positions (HF's pos_ebd_size).</summary>
    [JsonIgnore] public int AttentionSpan => PositionBuckets > 0 ? PositionBuckets : MaxRelativePositionsResolved;
    [JsonIgnore] public int MaxRelativePositionsResolved => MaxRelativePositions < 1 ? MaxPositionEmbeddings : MaxRelativePositions;

    /// <summary>The sizes as a <see cref="BertConfig"/> (not a file): what distillation matches, presets and memory estimates validate against.</summary>
    [JsonIgnore]
    public BertConfig Shape => new()
    {
        VocabSize = VocabSize, HiddenSize = HiddenSize, NumHiddenLayers = NumHiddenLayers, NumAttentionHeads = NumAttentionHeads,
        IntermediateSize = IntermediateSize, HiddenAct = HiddenAct, HiddenDropoutProb = HiddenDropoutProb,
        AttentionProbsDropoutProb = AttentionProbsDropoutProb, MaxPositionEmbeddings = MaxPositionEmbeddings, TypeVocabSize = Math.Max(1, TypeVocabSize),
        InitializerRange = InitializerRange, LayerNormEps = LayerNormEps, PadTokenId = PadTokenId, Id2Label = Id2Label, Label2Id = Label2Id,
        ProblemType = ProblemType,
    };

    public DebertaV2Config WithLabels(IReadOnlyList<string> labels) => this with
    {
        Id2Label = labels.Select((l, i) => (l, i)).ToDictionary(p => p.i.ToString(), p => p.l),
        Label2Id = labels.Select((l, i) => (l, i)).ToDictionary(p => p.l, p => p.i),
    };

    static readonly string[] Activations = ["gelu", "gelu_new", "gelu_pytorch_tanh", "relu", "tanh"];

    /// <summary>Throws a <see cref="DistilException"/> naming the first inconsistent field.</summary>
    public void Validate(string source = "config.json")
    {
        void Require(bool ok, string what)
        {
            if (!ok) throw DistilException.BadInput($"{source}: {what}");
        }
        Require(ModelType == Type, $"model_type '{ModelType}' is not '{Type}'");
        Require(VocabSize > 0 && HiddenSize > 0 && NumHiddenLayers > 0 && NumAttentionHeads > 0 && IntermediateSize > 0,
            "vocab_size, hidden_size, num_hidden_layers, num_attention_heads and intermediate_size must be positive");
        Require(AttentionHeadSizeOrNull != null || HiddenSize % NumAttentionHeads == 0,
            $"hidden_size {HiddenSize} is not a multiple of num_attention_heads {NumAttentionHeads}");
        Require(EmbeddingSize > 0 && MaxPositionEmbeddings > 0 && TypeVocabSize >= 0, "embedding_size, max_position_embeddings must be positive and type_vocab_size not negative");
        Require(Activations.Contains(HiddenAct), $"hidden_act '{HiddenAct}' is not supported ({string.Join(", ", Activations)})");
        Require(Activations.Contains(PoolerHiddenAct), $"pooler_hidden_act '{PoolerHiddenAct}' is not supported ({string.Join(", ", Activations)})");
        Require(Activations.Contains(ConvAct), $"conv_act '{ConvAct}' is not supported ({string.Join(", ", Activations)})");
        Require(PosAttType == null || PosAttType.All(t => t is "c2p" or "p2c"), $"pos_att_type [{string.Join(", ", PosAttType ?? [])}] may only hold 'c2p' and 'p2c'");
        Require(PoolerHiddenSize == HiddenSize, $"pooler_hidden_size {PoolerHiddenSize} differs from hidden_size {HiddenSize}; the pooler reads the H-wide first token, so they must be equal");
        Require(ConvKernelSize >= 0 && (ConvKernelSize == 0 || ConvKernelSize % 2 == 1), $"conv_kernel_size {ConvKernelSize} must be 0 (no conv) or odd");
        Require(ConvGroups >= 1 && HiddenSize % ConvGroups == 0, $"conv_groups {ConvGroups} must divide hidden_size {HiddenSize}");
        Require(PositionBuckets is -1 or 0 || PositionBuckets >= 2, $"position_buckets {PositionBuckets} must be -1 (none) or at least 2");
        Require(ClsDropout is null or (>= 0 and < 1) && PoolerDropout is >= 0 and < 1, "cls_dropout and pooler_dropout must be in [0, 1)");
        TaskKinds.FromProblemType(ProblemType, source);
        Require(ProblemType != "regression" || NumLabels == 1, $"problem_type regression needs exactly one label (num_labels 1); id2label has {NumLabels}");
        if (Id2Label != null)
            for (int i = 0; i < Id2Label.Count; i++)
                Require(Id2Label.ContainsKey(i.ToString()), $"id2label must have the keys 0..{Id2Label.Count - 1}; '{i}' is missing");
    }

    static readonly JsonSerializerOptions Options = new() { WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    public static DebertaV2Config FromJson(string json, string source = "config.json")
    {
        DebertaV2Config? c;
        try { c = JsonSerializer.Deserialize<DebertaV2Config>(json, Options); }
        catch (JsonException e) { throw DistilException.BadInput($"{source}: not a valid DeBERTa-v2 config ({e.Message})"); }
        if (c == null) throw DistilException.BadInput($"{source}: empty config");
        c.Validate(source);
        return c;
    }

    public static DebertaV2Config Load(string path)
    {
        if (!File.Exists(path)) throw DistilException.NotFound($"{path}: config.json not found; a model folder needs config.json, model.safetensors and its tokenizer files");
        return FromJson(File.ReadAllText(path), path);
    }

    public string ToJson() => JsonSerializer.Serialize(this, Options);

    /// <summary>pos_att_type as HF reads it: a list, or the legacy "p2c|c2p" string (lower-cased, split on '|'). Written as a list.</summary>
    sealed class PosAttTypeConverter : JsonConverter<string[]?>
    {
        public override string[]? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            switch (reader.TokenType)
            {
                case JsonTokenType.Null: return null;
                case JsonTokenType.String:
                    return reader.GetString()!.ToLowerInvariant().Split('|').Select(s => s.Trim()).Where(s => s.Length > 0).ToArray();
                case JsonTokenType.StartArray:
                    var list = new List<string>();
                    while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                    {
                        if (reader.TokenType != JsonTokenType.String) throw new JsonException("pos_att_type must be a list of strings");
                        list.Add(reader.GetString()!.Trim().ToLowerInvariant());
                    }
                    return list.ToArray();
                default: throw new JsonException("pos_att_type must be a list of strings or a 'p2c|c2p' string");
            }
        }

        public override void Write(Utf8JsonWriter writer, string[]? value, JsonSerializerOptions options)
        {
            if (value == null) { writer.WriteNullValue(); return; }
            writer.WriteStartArray();
            foreach (var v in value) writer.WriteStringValue(v);
            writer.WriteEndArray();
        }
    }
}
