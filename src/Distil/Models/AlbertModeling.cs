// ALBERT in TorchSharp, after Hugging Face's modeling_albert.py. The field names ARE the checkpoint format
// (config.json with model_type albert + model.safetensors with HF keys such as
// `albert.encoder.albert_layer_groups.0.albert_layers.0.attention.query.weight`).
// Shapes: B = batch, T = sequence length, E = embedding size, H = hidden size, nh = heads, dh = H / nh, I = FFN size,
// L = layers, G = groups of distinct layer weights (L / G consecutive layers run one group's weights).
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Distil.Models;

/// <summary>Word + position + token-type embeddings, E wide, then LayerNorm in E (the E -> H map lives in the encoder, as in HF).</summary>
public sealed class AlbertEmbeddings : nn.Module
{
    public readonly Embedding word_embeddings, position_embeddings, token_type_embeddings;
    public readonly LayerNorm LayerNorm;
    readonly Dropout dropout;

    public AlbertEmbeddings(AlbertConfig c) : base(nameof(AlbertEmbeddings))
    {
        word_embeddings = nn.Embedding(c.VocabSize, c.EmbeddingSize, padding_idx: c.PadTokenId);
        position_embeddings = nn.Embedding(c.MaxPositionEmbeddings, c.EmbeddingSize);
        token_type_embeddings = nn.Embedding(c.TypeVocabSize, c.EmbeddingSize);
        LayerNorm = nn.LayerNorm(c.EmbeddingSize, eps: c.LayerNormEps);
        dropout = nn.Dropout(c.HiddenDropoutProb);
        RegisterComponents();
    }

    public Tensor forward(Tensor inputIds, Tensor? tokenTypeIds)
    {
        using var positions = arange(inputIds.shape[1], dtype: int64, device: inputIds.device).unsqueeze(0); // (1, T)
        using var types = tokenTypeIds is null ? zeros_like(inputIds) : null;
        using var words = word_embeddings.forward(inputIds);
        using var pos = position_embeddings.forward(positions);
        using var typ = token_type_embeddings.forward(tokenTypeIds ?? types!);
        using var sum = words + pos + typ; // (B, T, E)
        using var normed = LayerNorm.forward(sum);
        return dropout.forward(normed);
    }
}

/// <summary>HF's AlbertAttention: BERT's self-attention and its output block (dense, residual, LayerNorm) in one module.</summary>
public sealed class AlbertAttention : nn.Module
{
    public readonly Linear query, key, value, dense;
    public readonly LayerNorm LayerNorm;
    readonly Dropout attention_dropout, output_dropout;
    readonly int heads, headDim;
    readonly double dropoutP;

    public AlbertAttention(AlbertConfig c) : base(nameof(AlbertAttention))
    {
        heads = c.NumAttentionHeads;
        headDim = c.HeadDim;
        dropoutP = c.AttentionProbsDropoutProb;
        query = nn.Linear(c.HiddenSize, c.HiddenSize);
        key = nn.Linear(c.HiddenSize, c.HiddenSize);
        value = nn.Linear(c.HiddenSize, c.HiddenSize);
        dense = nn.Linear(c.HiddenSize, c.HiddenSize);
        LayerNorm = nn.LayerNorm(c.HiddenSize, eps: c.LayerNormEps);
        attention_dropout = nn.Dropout(dropoutP);
        output_dropout = nn.Dropout(c.HiddenDropoutProb);
        RegisterComponents();
    }

    Tensor SplitHeads(Tensor x) => x.view(x.shape[0], x.shape[1], heads, headDim).transpose(1, 2); // (B, T, H) -> (B, nh, T, dh)

    /// <param name="additiveMask">(B, 1, 1, T): 0 for tokens, a large negative number for padding.</param>
    /// <returns>The layer-normed attention block output (B, T, H), and on request the probabilities, the masked scores
    /// (B, nh, T, T) and the value projection (B, T, H), as <see cref="BertSelfAttention"/> returns them.</returns>
    public (Tensor Output, Tensor? Probs, Tensor? Scores, Tensor? Values) forward(Tensor hidden, Tensor additiveMask, bool returnAttention, bool returnValues = false)
    {
        using var scope = NewDisposeScope();
        var q = SplitHeads(query.forward(hidden));
        var k = SplitHeads(key.forward(hidden));
        var projectedValues = value.forward(hidden); // (B, T, H)
        var v = SplitHeads(projectedValues);
        Tensor context;
        Tensor? probs = null, scores = null;
        if (returnAttention)
        {
            scores = q.matmul(k.transpose(-1, -2)).div_(Math.Sqrt(headDim)).add_(additiveMask); // (B, nh, T, T)
            probs = F.softmax(scores, dim: -1);
            context = attention_dropout.forward(probs).matmul(v); // (B, nh, T, dh)
        }
        else
        {
            // Fused kernel: same maths, no (B, nh, T, T) tensors kept for backward.
            context = F.scaled_dot_product_attention(q, k, v, additiveMask, training ? dropoutP : 0.0, false);
        }
        var merged = context.transpose(1, 2).contiguous().view(hidden.shape[0], hidden.shape[1], -1); // (B, nh, T, dh) -> (B, T, H)
        var output = LayerNorm.forward(hidden + output_dropout.forward(dense.forward(merged)));
        return (output.MoveToOuterDisposeScope(), probs?.MoveToOuterDisposeScope(), scores?.MoveToOuterDisposeScope(),
            returnValues ? projectedValues.MoveToOuterDisposeScope() : null);
    }
}

/// <summary>Attention block, then FFN (ffn, activation, ffn_output) with a residual LayerNorm (full_layer_layer_norm).</summary>
public sealed class AlbertLayer : nn.Module
{
    public readonly LayerNorm full_layer_layer_norm;
    public readonly AlbertAttention attention;
    public readonly Linear ffn, ffn_output;
    readonly string act;

    public AlbertLayer(AlbertConfig c) : base(nameof(AlbertLayer))
    {
        full_layer_layer_norm = nn.LayerNorm(c.HiddenSize, eps: c.LayerNormEps);
        attention = new AlbertAttention(c);
        ffn = nn.Linear(c.HiddenSize, c.IntermediateSize);
        ffn_output = nn.Linear(c.IntermediateSize, c.HiddenSize);
        act = c.HiddenAct;
        RegisterComponents();
    }

    public (Tensor Hidden, Tensor? Probs, Tensor? Scores, Tensor? Values) forward(Tensor hidden, Tensor additiveMask, bool returnAttention, bool returnValues = false)
    {
        var (attended, probs, scores, values) = attention.forward(hidden, additiveMask, returnAttention, returnValues);
        using (attended)
        {
            using var inner = ffn.forward(attended); // (B, T, I)
            using var activated = act switch
            {
                "relu" => F.relu(inner),
                "gelu_new" or "gelu_pytorch_tanh" => F.gelu(inner, approximate: GELU.Approximate.tanh),
                _ => F.gelu(inner), // HF "gelu" is the exact erf form
            };
            using var projected = ffn_output.forward(activated); // (B, T, H)
            // HF's AlbertLayer defines a dropout here but never applies it: kept out, so training matches HF's too.
            using var sum = projected + attended;
            return (full_layer_layer_norm.forward(sum), probs, scores, values);
        }
    }
}

/// <summary>One group of distinct layer weights (HF: inner_group_num layers; Distil supports 1).</summary>
public sealed class AlbertLayerGroup : nn.Module
{
    public readonly ModuleList<AlbertLayer> albert_layers;

    public AlbertLayerGroup(AlbertConfig c) : base(nameof(AlbertLayerGroup))
    {
        albert_layers = new ModuleList<AlbertLayer>(Enumerable.Range(0, c.InnerGroupNum).Select(_ => new AlbertLayer(c)).ToArray());
        RegisterComponents();
    }
}

/// <summary>HF's AlbertTransformer: the E -> H map, then L layers drawn from G weight groups.</summary>
public sealed class AlbertTransformer : nn.Module
{
    public readonly Linear embedding_hidden_mapping_in;
    public readonly ModuleList<AlbertLayerGroup> albert_layer_groups;

    public AlbertTransformer(AlbertConfig c) : base(nameof(AlbertTransformer))
    {
        embedding_hidden_mapping_in = nn.Linear(c.EmbeddingSize, c.HiddenSize);
        albert_layer_groups = new ModuleList<AlbertLayerGroup>(Enumerable.Range(0, c.NumHiddenGroups).Select(_ => new AlbertLayerGroup(c)).ToArray());
        RegisterComponents();
    }
}

public sealed class AlbertModel : nn.Module, IAttentionLayers
{
    public readonly AlbertEmbeddings embeddings;
    public readonly AlbertTransformer encoder;
    public readonly Linear pooler;
    public AlbertConfig Config { get; }

    public AlbertModel(AlbertConfig config) : base(nameof(AlbertModel))
    {
        config.Validate();
        Config = config;
        embeddings = new AlbertEmbeddings(config);
        encoder = new AlbertTransformer(config);
        pooler = nn.Linear(config.HiddenSize, config.HiddenSize);
        RegisterComponents();
        AlbertInit.InitWeights(this, config);
    }

    /// <summary>The (shared) layer that transformer layer <paramref name="layer"/> (0-based) runs.</summary>
    public AlbertLayer Layer(int layer) => encoder.albert_layer_groups[Config.GroupOf(layer)].albert_layers[0];

    public AttentionProjections SelfAttention(int layer)
    {
        var a = Layer(layer).attention;
        return new AttentionProjections(a.query, a.key, a.value);
    }

    /// <summary>
    /// Same outputs as <see cref="BertModel.forward"/>: hidden state 0 is the embedding output AFTER the E -> H map
    /// (HF's output_hidden_states), then one H-wide state, attention map and value projection per layer (L of them,
    /// whatever G is). PooledOutput: tanh(pooler([CLS])).
    /// </summary>
    public BertEncoderOutput forward(BertInputs inputs, OutputRequest? request = null)
    {
        request ??= OutputRequest.None;
        long seqLen = inputs.InputIds.shape[1];
        if (seqLen > Config.MaxPositionEmbeddings)
            throw DistilException.Usage($"sequence length {seqLen} exceeds max_position_embeddings {Config.MaxPositionEmbeddings}; lower --max-seq-len");
        using var scope = NewDisposeScope();
        // (B, T) -> (B, 1, 1, T): 0 where attended, the most negative float where padded (as HF).
        var additiveMask = (1.0f - inputs.AttentionMask.to(float32)).mul_(float.MinValue).view(inputs.AttentionMask.shape[0], 1, 1, seqLen);
        var hidden = encoder.embedding_hidden_mapping_in.forward(embeddings.forward(inputs.InputIds, inputs.TokenTypeIds)); // (B, T, E) -> (B, T, H)
        var all = request.HiddenStates ? new List<Tensor> { hidden } : null;
        var probs = request.Attentions ? new List<Tensor>() : null;
        var scores = request.Attentions ? new List<Tensor>() : null;
        var values = request.Values ? new List<Tensor>() : null;
        for (int i = 0; i < Config.NumHiddenLayers; i++)
        {
            var (next, p, s, v) = Layer(i).forward(hidden, additiveMask, request.Attentions, request.Values);
            if (p is not null) { probs!.Add(p); scores!.Add(s!); }
            if (v is not null) values!.Add(v);
            if (all is not null) all.Add(next);
            hidden = next;
        }
        var pooled = pooler.forward(hidden.select(1, 0)).tanh(); // (B, H): the [CLS] position
        hidden.MoveToOuterDisposeScope();
        pooled.MoveToOuterDisposeScope();
        all?.ForEach(t => t.MoveToOuterDisposeScope());
        probs?.ForEach(t => t.MoveToOuterDisposeScope());
        scores?.ForEach(t => t.MoveToOuterDisposeScope());
        values?.ForEach(t => t.MoveToOuterDisposeScope());
        return new BertEncoderOutput(hidden, pooled, all, probs, scores, values);
    }
}

public sealed class AlbertForSequenceClassification : EncoderClassifier
{
    public readonly AlbertModel albert;
    public readonly Linear classifier;
    readonly Dropout dropout;
    public AlbertConfig Config { get; }

    public AlbertForSequenceClassification(AlbertConfig config) : base(nameof(AlbertForSequenceClassification))
    {
        Config = config;
        albert = new AlbertModel(config);
        dropout = nn.Dropout(config.ClassifierDropoutProb);
        classifier = nn.Linear(config.HiddenSize, config.NumLabels);
        RegisterComponents();
        AlbertInit.InitWeights(classifier, config);
    }

    public override BertConfig Shape => Config.Shape;
    public override IAttentionLayers AttentionLayers => albert;

    public override SequenceClassifierOutput forward(BertInputs inputs, OutputRequest? request = null)
    {
        var enc = albert.forward(inputs, request);
        using var scope = NewDisposeScope();
        var features = Config.ClassifierPooling == "mean" ? BertForSequenceClassification.MeanPool(enc.LastHiddenState, inputs.AttentionMask) : enc.PooledOutput!;
        var logits = classifier.forward(dropout.forward(features)); // (B, num_labels)
        return new SequenceClassifierOutput(logits.MoveToOuterDisposeScope(), enc);
    }
}

static class AlbertInit
{
    /// <summary>HF's _init_weights (same as BERT's): N(0, initializer_range) for Linear/Embedding, zero bias and padding row, LayerNorm 1/0.</summary>
    public static void InitWeights(nn.Module root, AlbertConfig c)
    {
        using var _ = no_grad();
        foreach (var (_, m) in root.named_modules().Prepend(("", root)))
        {
            switch (m)
            {
                case Linear l:
                    nn.init.normal_(l.weight!, 0, c.InitializerRange);
                    if (l.bias is not null) nn.init.zeros_(l.bias);
                    break;
                case Embedding e:
                    nn.init.normal_(e.weight!, 0, c.InitializerRange);
                    if (ReferenceEquals(e, (root as AlbertModel)?.embeddings.word_embeddings)) e.weight![c.PadTokenId].zero_();
                    break;
                case LayerNorm n:
                    nn.init.ones_(n.weight!);
                    nn.init.zeros_(n.bias!);
                    break;
            }
        }
    }
}
