// The derived AdaBERT student: low-dimensional token + position tables, `depth` cells of the genotype's 6 edges,
// attentive pooling over the embedding and cell outputs (of all tokens, or of each text of a pair), a linear classifier. Only Embedding, Conv1d, pooling,
// BatchNorm (eval), LayerNorm and Linear, so it can be exported later. Field names are the keys of model.safetensors.
// Shapes: B = batch, T = tokens, H = hidden, C = labels.
using System.Text.Json;
using System.Text.Json.Serialization;
using Distil.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Distil.Models;

/// <summary>config.json of a derived student (<c>"model_type": "adabert_cnn"</c>).</summary>
public sealed record AdaBertCnnConfig
{
    public const string Type = "adabert_cnn";
    [JsonPropertyName("model_type")] public string ModelType { get; init; } = Type;
    [JsonPropertyName("architectures")] public string[] Architectures { get; init; } = ["AdaBertCnnForSequenceClassification"];
    [JsonPropertyName("vocab_size")] public int VocabSize { get; init; }
    [JsonPropertyName("hidden_size")] public int HiddenSize { get; init; } = 128;
    [JsonPropertyName("max_position_embeddings")] public int MaxPositionEmbeddings { get; init; } = 512;
    [JsonPropertyName("pad_token_id")] public int PadTokenId { get; init; }
    [JsonPropertyName("layer_norm_eps")] public double LayerNormEps { get; init; } = 1e-12;
    [JsonPropertyName("classifier_dropout")] public double ClassifierDropout { get; init; } = 0.1;
    /// <summary>Pooling over tokens before the head: "mean" (the paper's) or "max". Folders without the key are "mean".</summary>
    [JsonPropertyName("pooling")] public string Pooling { get; init; } = CnnInputs.MeanPooling;
    /// <summary>The classifier's input: "pooled" (the paper's) or "pair" (<see cref="CnnInputs.PairHead"/>). Folders without the key are "pooled".</summary>
    [JsonPropertyName("head")] public string Head { get; init; } = CnnInputs.PooledHead;
    [JsonPropertyName("genotype")] public Genotype Genotype { get; init; } = new(1, []);
    [JsonPropertyName("id2label")] public Dictionary<string, string> Id2Label { get; init; } = new();
    [JsonPropertyName("label2id")] public Dictionary<string, int> Label2Id { get; init; } = new();

    /// <summary>Said plainly in config.json: transformers has no such architecture (written, never read back).</summary>
    [JsonPropertyName("transformers_compatible")] public bool TransformersCompatible => false;
    [JsonPropertyName("requires")] public string Requires => "Distil: an AdaBERT CNN is not a transformers architecture; run it with `distil eval` / `distil predict`, or export it with `distil export` and run model.onnx in ONNX Runtime";

    public IReadOnlyList<string> Labels => Enumerable.Range(0, Id2Label.Count).Select(i => Id2Label[i.ToString()]).ToArray();

    public static AdaBertCnnConfig Create(Genotype genotype, int vocab, int positions, int hidden, int pad, IReadOnlyList<string> labels, double dropout,
        string pooling = CnnInputs.MeanPooling, string head = CnnInputs.PooledHead) => new()
        {
            Genotype = genotype, Pooling = pooling, Head = head, VocabSize = vocab, MaxPositionEmbeddings = positions, HiddenSize = hidden, PadTokenId = pad, ClassifierDropout = dropout,
            Id2Label = labels.Select((l, i) => (l, i)).ToDictionary(p => p.i.ToString(), p => p.l),
            Label2Id = labels.Select((l, i) => (l, i)).ToDictionary(p => p.l, p => p.i),
        };

    public void Validate(string source)
    {
        void Require(bool ok, string what) { if (!ok) throw DistilException.BadInput($"{source}: {what}"); }
        Require(ModelType == Type, $"model_type '{ModelType}' is not '{Type}'");
        Require(VocabSize > 0 && HiddenSize > 0 && MaxPositionEmbeddings > 0, "vocab_size, hidden_size and max_position_embeddings must be positive");
        Require(Pooling is CnnInputs.MeanPooling or CnnInputs.MaxPooling, $"pooling '{Pooling}' must be 'mean' or 'max'");
        Require(Head is CnnInputs.PooledHead or CnnInputs.PairHead, $"head '{Head}' must be 'pooled' or 'pair'");
        Require(Id2Label.Count > 0 && Enumerable.Range(0, Id2Label.Count).All(i => Id2Label.ContainsKey(i.ToString())), "id2label must have the keys 0..n-1");
        Genotype.Validate(source);
    }

    static readonly JsonSerializerOptions Json = new() { WriteIndented = true };
    public string ToJson() => JsonSerializer.Serialize(this, Json);

    public static AdaBertCnnConfig Load(string path)
    {
        AdaBertCnnConfig? c;
        try { c = JsonSerializer.Deserialize<AdaBertCnnConfig>(File.ReadAllText(path), Json); }
        catch (JsonException e) { throw DistilException.BadInput($"{path}: not a valid {Type} config ({e.Message})"); }
        if (c == null) throw DistilException.BadInput($"{path}: empty config");
        c.Validate(path);
        return c;
    }
}

/// <summary>Token + position tables (H wide) summed, LayerNorm, dropout: the folded search-time embedding.</summary>
public sealed class CnnEmbeddings : nn.Module
{
    public readonly Embedding word_embeddings, position_embeddings;
    public readonly LayerNorm LayerNorm;
    readonly Dropout dropout;

    public CnnEmbeddings(AdaBertCnnConfig c) : base(nameof(CnnEmbeddings))
    {
        word_embeddings = nn.Embedding(c.VocabSize, c.HiddenSize);
        position_embeddings = nn.Embedding(c.MaxPositionEmbeddings, c.HiddenSize);
        LayerNorm = nn.LayerNorm(c.HiddenSize, eps: c.LayerNormEps);
        dropout = nn.Dropout(c.ClassifierDropout);
        RegisterComponents();
    }

    public Tensor forward(Tensor inputIds, Tensor tokenTypes)
    {
        using var scope = NewDisposeScope();
        var summed = word_embeddings.forward(inputIds) + position_embeddings.forward(CnnInputs.Positions(tokenTypes)); // (B, T, H)
        return dropout.forward(LayerNorm.forward(summed)).MoveToOuterDisposeScope();
    }
}

/// <summary>A derived cell: the genotype's edges only (2 per node), then the node blend.</summary>
public sealed class DerivedCell : nn.Module
{
    public readonly ModuleList<nn.Module<Tensor, Tensor, Tensor>> edges;
    public readonly Parameter node_weights;
    readonly (int Input, int Target)[] wiring;

    public DerivedCell(Genotype g, int hidden) : base(nameof(DerivedCell))
    {
        var list = g.Edges.ToArray();
        wiring = list.Select(e => (e.Edge.Input, e.Target)).ToArray();
        edges = new ModuleList<nn.Module<Tensor, Tensor, Tensor>>(list.Select(e => CellOps.Create(e.Edge.Op, hidden, affine: true)).ToArray());
        node_weights = nn.Parameter(zeros(SearchSpace.Nodes));
        RegisterComponents();
    }

    public Tensor forward(Tensor s0, Tensor s1, Tensor mask)
    {
        using var scope = NewDisposeScope();
        var nodes = new List<Tensor> { s0, s1 };
        for (int target = SearchSpace.Inputs; target < SearchSpace.Inputs + SearchSpace.Nodes; target++)
        {
            Tensor node = zeros_like(s0);
            for (int e = 0; e < wiring.Length; e++)
                if (wiring[e].Target == target) node = node + edges[e].forward(nodes[wiring[e].Input], mask);
            nodes.Add(node);
        }
        return CellBlend.Blend(nodes.Skip(SearchSpace.Inputs).ToList(), node_weights).MoveToOuterDisposeScope();
    }
}

public sealed class AdaBertCnnForSequenceClassification : nn.Module
{
    public readonly CnnEmbeddings embeddings;
    public readonly ModuleList<DerivedCell> cells;
    public readonly Parameter layer_weights;
    public readonly Linear classifier;
    readonly Dropout dropout;
    public AdaBertCnnConfig Config { get; }

    public AdaBertCnnForSequenceClassification(AdaBertCnnConfig config) : base(nameof(AdaBertCnnForSequenceClassification))
    {
        config.Validate("config");
        Config = config;
        embeddings = new CnnEmbeddings(config);
        cells = new ModuleList<DerivedCell>(Enumerable.Range(0, config.Genotype.Depth).Select(_ => new DerivedCell(config.Genotype, config.HiddenSize)).ToArray());
        layer_weights = nn.Parameter(zeros(config.Genotype.Depth + 1));
        classifier = nn.Linear(CnnInputs.FeatureSize(config.HiddenSize, config.Head), config.Id2Label.Count);
        dropout = nn.Dropout(config.ClassifierDropout);
        RegisterComponents();
    }

    /// <summary>Logits (B, C).</summary>
    public Tensor forward(BertInputs inputs)
    {
        if (inputs.InputIds.shape[1] > Config.MaxPositionEmbeddings)
            throw DistilException.Usage($"sequence length {inputs.InputIds.shape[1]} exceeds max_position_embeddings {Config.MaxPositionEmbeddings}; lower --max-seq-len");
        using var scope = NewDisposeScope();
        var types = inputs.TokenTypeIds ?? zeros_like(inputs.InputIds);
        var (s0, s1, mask) = CnnInputs.Split(embeddings.forward(inputs.InputIds, types), types, inputs.AttentionMask); // (B, H, T) x2, (B, 1, T)
        var heads = CnnInputs.HeadMasks(types, inputs.AttentionMask, Config.Head);                                      // (B, S, T)
        var pooled = new List<Tensor> { CnnInputs.Pool((s0 + s1) * 0.5, heads, Config.Pooling) };                        // (B, S, H) each
        foreach (var cell in cells)
        {
            var c = cell.forward(s0, s1, mask);
            pooled.Add(CnnInputs.Pool(c, heads, Config.Pooling));
            (s0, s1) = (s1, c);
        }
        var features = CnnInputs.HeadInput(CnnInputs.Combine(pooled, layer_weights), Config.Head);                     // (B, H) or (B, 4H)
        return classifier.forward(dropout.forward(features)).MoveToOuterDisposeScope();
    }
}
