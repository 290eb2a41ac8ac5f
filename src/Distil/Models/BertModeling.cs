// BERT in TorchSharp, after Hugging Face's modeling_bert.py: one file, every module and head.
// The field names ARE the checkpoint format (config.json + model.safetensors with HF keys such as
// `bert.encoder.layer.0.attention.self.query.weight`): never rename a field without the golden-key test failing.
// Shapes: B = batch, T = sequence length, H = hidden size, nh = heads, dh = H / nh, I = intermediate size.
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Distil.Models;

/// <summary>Token ids, attention mask (1 = token, 0 = padding) and token type ids, each (B, T) int64.</summary>
public sealed record BertInputs(Tensor InputIds, Tensor AttentionMask, Tensor? TokenTypeIds = null);

/// <summary>Which intermediate tensors a forward pass returns (distillation needs them; inference does not).</summary>
public sealed record OutputRequest(bool HiddenStates = false, bool Attentions = false, bool Values = false)
{
    public static readonly OutputRequest None = new();
    public static readonly OutputRequest All = new(true, true, true);
}

/// <summary>
/// Encoder outputs. <see cref="HiddenStates"/>: embedding output then each layer's output, L+1 tensors (B, T, H).
/// <see cref="Attentions"/>: per layer softmax probabilities (B, nh, T, T); <see cref="AttentionScores"/>:
/// the masked logits before softmax (TinyBERT matches these). <see cref="Values"/>: per layer the value
/// projection (B, T, H) before the head split (MiniLM's value relation).
/// </summary>
public sealed record BertEncoderOutput(
    Tensor LastHiddenState, Tensor? PooledOutput,
    IReadOnlyList<Tensor>? HiddenStates, IReadOnlyList<Tensor>? Attentions, IReadOnlyList<Tensor>? AttentionScores,
    IReadOnlyList<Tensor>? Values = null)
{
    /// <summary>Moves every tensor to the enclosing dispose scope (the models build their outputs in a scope of their own).</summary>
    public BertEncoderOutput MoveToOuterDisposeScope()
    {
        LastHiddenState.MoveToOuterDisposeScope();
        PooledOutput?.MoveToOuterDisposeScope();
        foreach (var list in new[] { HiddenStates, Attentions, AttentionScores, Values })
            if (list != null)
                foreach (var t in list) t.MoveToOuterDisposeScope();
        return this;
    }
}

/// <summary>Classifier logits (B, num_labels) plus the encoder outputs they came from.</summary>
public sealed record SequenceClassifierOutput(Tensor Logits, BertEncoderOutput Encoder);

public sealed class BertEmbeddings : nn.Module
{
    public readonly Embedding word_embeddings, position_embeddings, token_type_embeddings;
    public readonly LayerNorm LayerNorm;
    readonly Dropout dropout;

    public BertEmbeddings(BertConfig c) : base(nameof(BertEmbeddings))
    {
        word_embeddings = nn.Embedding(c.VocabSize, c.HiddenSize, padding_idx: c.PadTokenId);
        position_embeddings = nn.Embedding(c.MaxPositionEmbeddings, c.HiddenSize);
        token_type_embeddings = nn.Embedding(c.TypeVocabSize, c.HiddenSize);
        LayerNorm = nn.LayerNorm(c.HiddenSize, eps: c.LayerNormEps);
        dropout = nn.Dropout(c.HiddenDropoutProb);
        RegisterComponents();
    }

    public Tensor forward(Tensor inputIds, Tensor? tokenTypeIds)
    {
        long seqLen = inputIds.shape[1];
        using var positions = arange(seqLen, dtype: int64, device: inputIds.device).unsqueeze(0); // (1, T)
        using var types = tokenTypeIds is null ? zeros_like(inputIds) : null;
        using var words = word_embeddings.forward(inputIds);
        using var pos = position_embeddings.forward(positions);
        using var typ = token_type_embeddings.forward(tokenTypeIds ?? types!);
        using var sum = words + pos + typ; // (B, T, H)
        using var normed = LayerNorm.forward(sum);
        return dropout.forward(normed);
    }
}

public sealed class BertSelfAttention : nn.Module
{
    public readonly Linear query, key, value;
    readonly Dropout dropout;
    readonly int heads, headDim;
    readonly double dropoutP;

    public BertSelfAttention(BertConfig c) : base(nameof(BertSelfAttention))
    {
        heads = c.NumAttentionHeads;
        headDim = c.HeadDim;
        dropoutP = c.AttentionProbsDropoutProb;
        query = nn.Linear(c.HiddenSize, c.HiddenSize);
        key = nn.Linear(c.HiddenSize, c.HiddenSize);
        value = nn.Linear(c.HiddenSize, c.HiddenSize);
        dropout = nn.Dropout(dropoutP);
        RegisterComponents();
    }

    /// <param name="additiveMask">(B, 1, 1, T): 0 for tokens, a large negative number for padding.</param>
    public (Tensor Context, Tensor? Probs, Tensor? Scores, Tensor? Values) forward(Tensor hidden, Tensor additiveMask, bool returnAttention, bool returnValues = false) =>
        ScaledDotProductAttention.Run(query, key, value, hidden, additiveMask, heads, headDim, dropout, training ? dropoutP : 0.0, returnAttention, returnValues);
}

/// <summary>
/// Multi-head scaled dot-product attention over given q/k/v projections: the maths BERT, RoBERTa, ELECTRA and
/// DistilBERT share (they differ only in the projections' names), written once.
/// </summary>
public static class ScaledDotProductAttention
{
    /// <param name="additiveMask">(B, 1, 1, T): 0 for tokens, a large negative number for padding.</param>
    /// <returns>The merged context (B, T, H) before the output projection; on request the probabilities and masked scores
    /// (B, nh, T, T) and the value projection (B, T, H).</returns>
    public static (Tensor Context, Tensor? Probs, Tensor? Scores, Tensor? Values) Run(Linear query, Linear key, Linear value, Tensor hidden,
        Tensor additiveMask, int heads, int headDim, Dropout? dropout, double trainingDropoutP, bool returnAttention, bool returnValues)
    {
        using var scope = NewDisposeScope();
        Tensor SplitHeads(Tensor x) => x.view(x.shape[0], x.shape[1], heads, headDim).transpose(1, 2); // (B, T, H) -> (B, nh, T, dh)
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
            context = (dropout is null ? probs : dropout.forward(probs)).matmul(v); // (B, nh, T, dh)
        }
        else
        {
            // Fused kernel: same maths, no (B, nh, T, T) tensors kept for backward.
            context = F.scaled_dot_product_attention(q, k, v, additiveMask, trainingDropoutP, false);
        }
        var merged = context.transpose(1, 2).contiguous().view(hidden.shape[0], hidden.shape[1], -1); // (B, nh, T, dh) -> (B, T, H)
        return (merged.MoveToOuterDisposeScope(), probs?.MoveToOuterDisposeScope(), scores?.MoveToOuterDisposeScope(),
            returnValues ? projectedValues.MoveToOuterDisposeScope() : null);
    }

    /// <summary>(B, T) 1/0 mask -> (B, 1, 1, T): 0 where attended, the most negative float where padded (as HF).</summary>
    public static Tensor AdditiveMask(Tensor attentionMask) =>
        (1.0f - attentionMask.to(float32)).mul_(float.MinValue).view(attentionMask.shape[0], 1, 1, attentionMask.shape[1]);
}

/// <summary>Dense + dropout + residual LayerNorm: HF's BertSelfOutput and BertOutput are this same block.</summary>
public sealed class BertResidualOutput : nn.Module
{
    public readonly Linear dense;
    public readonly LayerNorm LayerNorm;
    readonly Dropout dropout;

    public BertResidualOutput(int inFeatures, BertConfig c) : base("BertOutput")
    {
        dense = nn.Linear(inFeatures, c.HiddenSize);
        LayerNorm = nn.LayerNorm(c.HiddenSize, eps: c.LayerNormEps);
        dropout = nn.Dropout(c.HiddenDropoutProb);
        RegisterComponents();
    }

    public Tensor forward(Tensor x, Tensor residual)
    {
        using var projected = dense.forward(x);
        using var dropped = dropout.forward(projected);
        using var sum = dropped + residual;
        return LayerNorm.forward(sum);
    }
}

public sealed class BertAttention : nn.Module
{
    public readonly BertSelfAttention self;
    public readonly BertResidualOutput output;

    public BertAttention(BertConfig c) : base(nameof(BertAttention))
    {
        self = new BertSelfAttention(c);
        output = new BertResidualOutput(c.HiddenSize, c);
        RegisterComponents();
    }
}

public sealed class BertIntermediate : nn.Module
{
    public readonly Linear dense;
    readonly string act;

    public BertIntermediate(BertConfig c) : base(nameof(BertIntermediate))
    {
        dense = nn.Linear(c.HiddenSize, c.IntermediateSize);
        act = c.HiddenAct;
        RegisterComponents();
    }

    public Tensor forward(Tensor x)
    {
        using var h = dense.forward(x);
        return act switch
        {
            "relu" => F.relu(h),
            "gelu_new" or "gelu_pytorch_tanh" => F.gelu(h, approximate: GELU.Approximate.tanh),
            _ => F.gelu(h), // HF "gelu" is the exact erf form
        };
    }
}

public sealed class BertLayer : nn.Module
{
    public readonly BertAttention attention;
    public readonly BertIntermediate intermediate;
    public readonly BertResidualOutput output;

    public BertLayer(BertConfig c) : base(nameof(BertLayer))
    {
        attention = new BertAttention(c);
        intermediate = new BertIntermediate(c);
        output = new BertResidualOutput(c.IntermediateSize, c);
        RegisterComponents();
    }

    public (Tensor Hidden, Tensor? Probs, Tensor? Scores, Tensor? Values) forward(Tensor hidden, Tensor additiveMask, bool returnAttention, bool returnValues = false)
    {
        var (context, probs, scores, values) = attention.self.forward(hidden, additiveMask, returnAttention, returnValues);
        using (context)
        {
            using var attended = attention.output.forward(context, hidden);
            using var inner = intermediate.forward(attended);
            return (output.forward(inner, attended), probs, scores, values);
        }
    }
}

public sealed class BertEncoder : nn.Module
{
    public readonly ModuleList<BertLayer> layer;

    public BertEncoder(BertConfig c) : base(nameof(BertEncoder))
    {
        layer = new ModuleList<BertLayer>(Enumerable.Range(0, c.NumHiddenLayers).Select(_ => new BertLayer(c)).ToArray());
        RegisterComponents();
    }

    /// <summary>
    /// Runs every layer on the embedding output <paramref name="embedded"/> (B, T, H); hidden state 0 is that input.
    /// The returned tensors belong to the caller's dispose scope (no pooler: <see cref="BertEncoderOutput.PooledOutput"/> is null).
    /// </summary>
    public BertEncoderOutput forward(Tensor embedded, Tensor attentionMask, OutputRequest request)
    {
        var additiveMask = ScaledDotProductAttention.AdditiveMask(attentionMask); // (B, 1, 1, T)
        var hidden = embedded;
        var all = request.HiddenStates ? new List<Tensor> { hidden } : null;
        var probs = request.Attentions ? new List<Tensor>() : null;
        var scores = request.Attentions ? new List<Tensor>() : null;
        var values = request.Values ? new List<Tensor>() : null;
        foreach (var l in layer)
        {
            var (next, p, s, v) = l.forward(hidden, additiveMask, request.Attentions, request.Values);
            if (p is not null) { probs!.Add(p); scores!.Add(s!); }
            if (v is not null) values!.Add(v);
            if (all is not null) all.Add(next);
            hidden = next;
        }
        return new BertEncoderOutput(hidden, null, all, probs, scores, values);
    }
}

public sealed class BertPooler : nn.Module
{
    public readonly Linear dense;

    public BertPooler(BertConfig c) : base(nameof(BertPooler))
    {
        dense = nn.Linear(c.HiddenSize, c.HiddenSize);
        RegisterComponents();
    }

    public Tensor forward(Tensor hidden)
    {
        using var first = hidden.select(1, 0); // (B, H): the [CLS] position
        using var projected = dense.forward(first);
        return projected.tanh();
    }
}

public sealed class BertModel : nn.Module, IAttentionLayers
{
    public readonly BertEmbeddings embeddings;
    public readonly BertEncoder encoder;
    public readonly BertPooler pooler;
    public BertConfig Config { get; }

    public BertModel(BertConfig config) : base(nameof(BertModel))
    {
        config.Validate();
        Config = config;
        embeddings = new BertEmbeddings(config);
        encoder = new BertEncoder(config);
        pooler = new BertPooler(config);
        RegisterComponents();
        BertInit.InitWeights(this, config);
    }

    public AttentionProjections SelfAttention(int layer)
    {
        var a = encoder.layer[layer].attention.self;
        return new AttentionProjections(a.query, a.key, a.value);
    }

    public BertEncoderOutput forward(BertInputs inputs, OutputRequest? request = null)
    {
        request ??= OutputRequest.None;
        long seqLen = inputs.InputIds.shape[1];
        if (seqLen > Config.MaxPositionEmbeddings)
            throw DistilException.Usage($"sequence length {seqLen} exceeds max_position_embeddings {Config.MaxPositionEmbeddings}; lower --max-seq-len");
        using var scope = NewDisposeScope();
        var enc = encoder.forward(embeddings.forward(inputs.InputIds, inputs.TokenTypeIds), inputs.AttentionMask, request);
        var pooled = pooler.forward(enc.LastHiddenState);
        return (enc with { PooledOutput = pooled }).MoveToOuterDisposeScope();
    }
}

public sealed class BertForSequenceClassification : EncoderClassifier
{
    public readonly BertModel bert;
    public readonly Linear classifier;
    readonly Dropout dropout;
    public BertConfig Config { get; }

    public BertForSequenceClassification(BertConfig config) : base(nameof(BertForSequenceClassification))
    {
        Config = config;
        bert = new BertModel(config);
        dropout = nn.Dropout(config.ClassifierDropout ?? config.HiddenDropoutProb);
        classifier = nn.Linear(config.HiddenSize, config.NumLabels);
        RegisterComponents();
        BertInit.InitWeights(classifier, config);
    }

    public override BertConfig Shape => Config;
    public override IAttentionLayers AttentionLayers => bert;

    public override SequenceClassifierOutput forward(BertInputs inputs, OutputRequest? request = null)
    {
        var enc = bert.forward(inputs, request);
        using var scope = NewDisposeScope();
        var features = Config.ClassifierPooling == "mean" ? MeanPool(enc.LastHiddenState, inputs.AttentionMask) : enc.PooledOutput!;
        var logits = classifier.forward(dropout.forward(features)); // (B, num_labels)
        return new SequenceClassifierOutput(logits.MoveToOuterDisposeScope(), enc);
    }

    /// <summary>Mean of the unmasked token states: (B, T, H), (B, T) -> (B, H).</summary>
    public static Tensor MeanPool(Tensor hidden, Tensor attentionMask)
    {
        using var scope = NewDisposeScope();
        var m = attentionMask.to(hidden.dtype).unsqueeze(-1); // (B, T, 1)
        var pooled = (hidden * m).sum(1) / m.sum(1).clamp_min(1e-9);
        return pooled.MoveToOuterDisposeScope();
    }
}

/// <summary>
/// HF's BertForTokenClassification: dropout and a linear `classifier` on every token's last hidden state. HF builds
/// its BertModel without the pooler; ours keeps one (unused here), so a saved folder also holds bert.pooler.*, which
/// transformers ignores with a warning on load.
/// </summary>
public sealed class BertForTokenClassification : EncoderTokenClassifier
{
    public readonly BertModel bert;
    public readonly Linear classifier;
    readonly Dropout dropout;
    public BertConfig Config { get; }

    public BertForTokenClassification(BertConfig config) : base(nameof(BertForTokenClassification))
    {
        Config = config;
        bert = new BertModel(config);
        dropout = nn.Dropout(config.ClassifierDropout ?? config.HiddenDropoutProb);
        classifier = nn.Linear(config.HiddenSize, config.NumLabels);
        RegisterComponents();
        BertInit.InitWeights(classifier, config);
    }

    public override BertConfig Shape => Config;
    public override IAttentionLayers AttentionLayers => bert;
    public override string BasePrefix => "bert";
    public override Linear Classifier => classifier;

    /// <summary>Per-token logits (B, T, num_labels) as <see cref="SequenceClassifierOutput.Logits"/>, plus the encoder outputs.</summary>
    public override SequenceClassifierOutput forward(BertInputs inputs, OutputRequest? request = null) =>
        Tag(classifier, dropout, bert.forward(inputs, request));

    /// <summary>HF's loss: cross-entropy over positions whose label is not -100, (B, T, C) and (B, T) int64.</summary>
    public static Tensor Loss(Tensor logits, Tensor labels)
    {
        using var scope = NewDisposeScope();
        var flat = logits.view(-1, logits.shape[^1]); // (B*T, C)
        return F.cross_entropy(flat, labels.view(-1), ignore_index: -100).MoveToOuterDisposeScope();
    }
}

/// <summary>HF's transform + decoder; the decoder weight is tied to the word embeddings (as HF ties it).</summary>
public sealed class BertLMPredictionHead : nn.Module
{
    public readonly BertPredictionHeadTransform transform;
    public readonly Parameter bias;
    readonly Func<Tensor> decoderWeight; // a delegate, not a module field, so the tied weight is registered once

    public BertLMPredictionHead(BertConfig c, BertEmbeddings embeddings) : base(nameof(BertLMPredictionHead))
    {
        transform = new BertPredictionHeadTransform(c);
        bias = nn.Parameter(zeros(c.VocabSize));
        decoderWeight = () => embeddings.word_embeddings.weight!;
        RegisterComponents();
    }

    public Tensor forward(Tensor hidden)
    {
        using var h = transform.forward(hidden);
        return F.linear(h, decoderWeight(), bias); // (B, T, V)
    }
}

public sealed class BertPredictionHeadTransform : nn.Module
{
    public readonly Linear dense;
    public readonly LayerNorm LayerNorm;

    public BertPredictionHeadTransform(BertConfig c) : base(nameof(BertPredictionHeadTransform))
    {
        dense = nn.Linear(c.HiddenSize, c.HiddenSize);
        LayerNorm = nn.LayerNorm(c.HiddenSize, eps: c.LayerNormEps);
        RegisterComponents();
    }

    public Tensor forward(Tensor x)
    {
        using var h = dense.forward(x);
        using var a = F.gelu(h);
        return LayerNorm.forward(a);
    }
}

public sealed class BertOnlyMLMHead : nn.Module
{
    public readonly BertLMPredictionHead predictions;

    public BertOnlyMLMHead(BertConfig c, BertEmbeddings embeddings) : base(nameof(BertOnlyMLMHead))
    {
        predictions = new BertLMPredictionHead(c, embeddings);
        RegisterComponents();
    }
}

public sealed class BertForMaskedLM : nn.Module
{
    public readonly BertModel bert;
    public readonly BertOnlyMLMHead cls;
    public BertConfig Config { get; }

    public BertForMaskedLM(BertConfig config) : base(nameof(BertForMaskedLM))
    {
        Config = config;
        bert = new BertModel(config);
        cls = new BertOnlyMLMHead(config, bert.embeddings);
        RegisterComponents();
        BertInit.InitWeights(cls, config);
    }

    /// <summary>Vocabulary logits (B, T, V).</summary>
    public Tensor forward(BertInputs inputs)
    {
        var enc = bert.forward(inputs);
        using var hidden = enc.LastHiddenState;
        using var pooled = enc.PooledOutput;
        return cls.predictions.forward(hidden);
    }
}

static class BertInit
{
    /// <summary>HF's _init_weights: N(0, initializer_range) for Linear/Embedding, zero bias and padding row, LayerNorm 1/0.</summary>
    public static void InitWeights(nn.Module root, BertConfig c)
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
                    if (ReferenceEquals(e, (root as BertModel)?.embeddings.word_embeddings)) e.weight![c.PadTokenId].zero_();
                    break;
                case LayerNorm n:
                    nn.init.ones_(n.weight!);
                    nn.init.zeros_(n.bias!);
                    break;
            }
        }
    }
}
