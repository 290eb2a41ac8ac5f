// DeBERTa-v2/v3 in TorchSharp, after Hugging Face's modeling_deberta_v2.py. The field names ARE the checkpoint format
// (config.json with model_type deberta-v2 + model.safetensors with HF keys such as
// `deberta.encoder.layer.0.attention.self.query_proj.weight`, `deberta.encoder.rel_embeddings.weight`).
// Shapes: B = batch, T = sequence length, E = embedding size, H = hidden size, nh = heads, dh = head size,
// I = FFN size, S = attention span (position_buckets, or max_relative_positions without buckets): the relative
// embedding table has 2S rows, row S + r for relative distance r = (query position - key position), clamped.
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Distil.Models;

/// <summary>Word (+ absolute position when position_biased_input, + token type when type_vocab_size &gt; 0) embeddings, E -> H projection when E != H, LayerNorm, then padding zeroed.</summary>
public sealed class DebertaV2Embeddings : nn.Module
{
    public readonly Embedding word_embeddings;
    public readonly Embedding? position_embeddings, token_type_embeddings;
    public readonly Linear? embed_proj;
    public readonly LayerNorm LayerNorm;
    readonly Dropout dropout;

    public DebertaV2Embeddings(DebertaV2Config c) : base(nameof(DebertaV2Embeddings))
    {
        word_embeddings = nn.Embedding(c.VocabSize, c.EmbeddingSize, padding_idx: c.PadTokenId);
        if (c.PositionBiasedInput) position_embeddings = nn.Embedding(c.MaxPositionEmbeddings, c.EmbeddingSize);
        if (c.TypeVocabSize > 0) token_type_embeddings = nn.Embedding(c.TypeVocabSize, c.EmbeddingSize);
        if (c.EmbeddingSize != c.HiddenSize) embed_proj = nn.Linear(c.EmbeddingSize, c.HiddenSize, hasBias: false);
        LayerNorm = nn.LayerNorm(c.HiddenSize, eps: c.LayerNormEps);
        dropout = nn.Dropout(c.HiddenDropoutProb);
        RegisterComponents();
    }

    public Tensor forward(Tensor inputIds, Tensor? tokenTypeIds, Tensor attentionMask)
    {
        using var scope = NewDisposeScope();
        var sum = word_embeddings.forward(inputIds); // (B, T, E)
        if (position_embeddings is not null)
            sum = sum + position_embeddings.forward(arange(inputIds.shape[1], dtype: int64, device: inputIds.device).unsqueeze(0)); // (1, T, E) broadcast
        if (token_type_embeddings is not null)
            sum = sum + token_type_embeddings.forward(tokenTypeIds ?? zeros_like(inputIds));
        if (embed_proj is not null) sum = embed_proj.forward(sum); // (B, T, E) -> (B, T, H)
        // HF multiplies the normed embeddings by the mask: padded positions enter layer 0 as zero vectors.
        var normed = LayerNorm.forward(sum) * attentionMask.to(sum.dtype).unsqueeze(2); // (B, T, H) * (B, T, 1)
        return dropout.forward(normed).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// Disentangled self-attention: content-to-content scores plus content-to-position (c2p: query against the projected
/// relative embeddings) and position-to-content (p2c: key against them), each scaled by 1/sqrt(dh * (1 + number of
/// position terms)).
/// </summary>
public sealed class DisentangledSelfAttention : nn.Module
{
    public readonly Linear query_proj, key_proj, value_proj;
    /// <summary>Only without share_att_key: the position projections of c2p (keys) and p2c (queries).</summary>
    public readonly Linear? pos_key_proj, pos_query_proj;
    readonly Dropout dropout, pos_dropout;
    readonly DebertaV2Config c;
    readonly int heads, headDim;

    public DisentangledSelfAttention(DebertaV2Config config) : base(nameof(DisentangledSelfAttention))
    {
        c = config;
        heads = c.NumAttentionHeads;
        headDim = c.HeadDim;
        int all = heads * headDim;
        query_proj = nn.Linear(c.HiddenSize, all);
        key_proj = nn.Linear(c.HiddenSize, all);
        value_proj = nn.Linear(c.HiddenSize, all);
        if (c.RelativeAttention && !c.ShareAttKey)
        {
            if (c.C2p) pos_key_proj = nn.Linear(c.HiddenSize, all);
            if (c.P2c) pos_query_proj = nn.Linear(c.HiddenSize, all);
        }
        dropout = nn.Dropout(c.AttentionProbsDropoutProb);
        pos_dropout = nn.Dropout(c.HiddenDropoutProb);
        RegisterComponents();
    }

    Tensor SplitHeads(Tensor x) => x.view(x.shape[0], x.shape[1], heads, headDim).transpose(1, 2); // (B, T, nh*dh) -> (B, nh, T, dh)

    /// <param name="pairMask">(B, 1, T, T) bool: query i may attend key j (both are tokens).</param>
    /// <param name="relativePositions">(T, T) int64: r(i, j), query i minus key j (log-bucketed when position_buckets &gt; 0), or null without relative attention.</param>
    /// <param name="relEmbeddings">(2S, H): the encoder's (normed) relative embeddings, or null.</param>
    /// <returns>Context (B, T, nh*dh); on request the probabilities and masked scores (B, nh, T, T) and the value projection (B, T, nh*dh).</returns>
    public (Tensor Context, Tensor? Probs, Tensor? Scores, Tensor? Values) forward(Tensor hidden, Tensor pairMask, Tensor? relativePositions, Tensor? relEmbeddings,
        bool returnAttention, bool returnValues = false)
    {
        using var scope = NewDisposeScope();
        long b = hidden.shape[0], t = hidden.shape[1];
        var q = SplitHeads(query_proj.forward(hidden));
        var k = SplitHeads(key_proj.forward(hidden));
        var projectedValues = value_proj.forward(hidden); // (B, T, nh*dh)
        var v = SplitHeads(projectedValues);
        int positionTerms = c.RelativeAttention ? (c.C2p ? 1 : 0) + (c.P2c ? 1 : 0) : 0;
        // HF counts c2p/p2c in the scale even with relative_attention off (scale_factor counts pos_att_type entries).
        int scaleFactor = 1 + (c.C2p ? 1 : 0) + (c.P2c ? 1 : 0);
        double scale = Math.Sqrt(headDim * (double)scaleFactor);
        var scores = q.matmul(k.transpose(-1, -2)).div_(scale); // (B, nh, T, T)
        if (positionTerms > 0)
        {
            var rel = pos_dropout.forward(relEmbeddings!); // (2S, H)
            int span = c.AttentionSpan;
            if (c.C2p)
            {
                var posKey = PositionHeads((c.ShareAttKey ? key_proj : pos_key_proj!).forward(rel)); // (nh, 2S, dh)
                var c2p = q.matmul(posKey.transpose(-1, -2)); // (B, nh, T, 2S): query i against every relative row
                var index = (relativePositions! + span).clamp(0, 2 * span - 1).expand(b, heads, t, t); // (T, T) -> (B, nh, T, T)
                scores.add_(c2p.gather(-1, index).div_(scale)); // [i, j] = q_i . posKey[S + r(i, j)]
            }
            if (c.P2c)
            {
                var posQuery = PositionHeads((c.ShareAttKey ? query_proj : pos_query_proj!).forward(rel)); // (nh, 2S, dh)
                var p2c = k.matmul(posQuery.transpose(-1, -2)); // (B, nh, T, 2S): key j against every relative row
                // HF gathers row S - r(j, i) for key j and query i, then transposes to (query, key).
                var index = (span - relativePositions!).clamp(0, 2 * span - 1).expand(b, heads, t, t); // (T, T) -> (B, nh, T, T)
                scores.add_(p2c.gather(-1, index).transpose(-1, -2).div_(scale)); // [i, j] = k_j . posQuery[S - r(j, i)]
            }
        }
        scores = scores.masked_fill(pairMask.logical_not(), float.MinValue); // padded keys, and every key of a padded query
        var probs = F.softmax(scores, dim: -1); // a padded query row is uniform, as in HF (not zeroed)
        var context = dropout.forward(probs).matmul(v); // (B, nh, T, dh)
        var merged = context.transpose(1, 2).contiguous().view(b, t, -1); // (B, nh, T, dh) -> (B, T, nh*dh)
        return (merged.MoveToOuterDisposeScope(), returnAttention ? probs.MoveToOuterDisposeScope() : null,
            returnAttention ? scores.MoveToOuterDisposeScope() : null, returnValues ? projectedValues.MoveToOuterDisposeScope() : null);
    }

    Tensor PositionHeads(Tensor x) => x.view(x.shape[0], heads, headDim).transpose(0, 1); // (2S, nh*dh) -> (nh, 2S, dh)
}

/// <summary>Dense + dropout + residual LayerNorm: HF's DebertaV2SelfOutput and DebertaV2Output are this block.</summary>
public sealed class DebertaV2ResidualOutput : nn.Module
{
    public readonly Linear dense;
    public readonly LayerNorm LayerNorm;
    readonly Dropout dropout;

    public DebertaV2ResidualOutput(int inFeatures, DebertaV2Config c) : base("DebertaV2Output")
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

public sealed class DebertaV2Attention : nn.Module
{
    public readonly DisentangledSelfAttention self;
    public readonly DebertaV2ResidualOutput output;

    public DebertaV2Attention(DebertaV2Config c) : base(nameof(DebertaV2Attention))
    {
        self = new DisentangledSelfAttention(c);
        output = new DebertaV2ResidualOutput(c.NumAttentionHeads * c.HeadDim, c);
        RegisterComponents();
    }
}

public sealed class DebertaV2Intermediate : nn.Module
{
    public readonly Linear dense;
    readonly string act;

    public DebertaV2Intermediate(DebertaV2Config c) : base(nameof(DebertaV2Intermediate))
    {
        dense = nn.Linear(c.HiddenSize, c.IntermediateSize);
        act = c.HiddenAct;
        RegisterComponents();
    }

    public Tensor forward(Tensor x)
    {
        using var h = dense.forward(x);
        return DebertaV2Activation.Apply(act, h);
    }
}

public sealed class DebertaV2Layer : nn.Module
{
    public readonly DebertaV2Attention attention;
    public readonly DebertaV2Intermediate intermediate;
    public readonly DebertaV2ResidualOutput output;

    public DebertaV2Layer(DebertaV2Config c) : base(nameof(DebertaV2Layer))
    {
        attention = new DebertaV2Attention(c);
        intermediate = new DebertaV2Intermediate(c);
        output = new DebertaV2ResidualOutput(c.IntermediateSize, c);
        RegisterComponents();
    }

    public (Tensor Hidden, Tensor? Probs, Tensor? Scores, Tensor? Values) forward(Tensor hidden, Tensor pairMask, Tensor? relativePositions, Tensor? relEmbeddings,
        bool returnAttention, bool returnValues = false)
    {
        var (context, probs, scores, values) = attention.self.forward(hidden, pairMask, relativePositions, relEmbeddings, returnAttention, returnValues);
        using (context)
        {
            using var attended = attention.output.forward(context, hidden);
            using var inner = intermediate.forward(attended);
            return (output.forward(inner, attended), probs, scores, values);
        }
    }
}

/// <summary>deberta-v2-xlarge's Conv1d branch after layer 0: conv over the layer's input, padding zeroed, activation, residual LayerNorm with the layer's output, padding zeroed.</summary>
public sealed class ConvLayer : nn.Module
{
    public readonly Conv1d conv;
    public readonly LayerNorm LayerNorm;
    readonly Dropout dropout;
    readonly string act;
    readonly int padding, groups;

    public ConvLayer(DebertaV2Config c) : base(nameof(ConvLayer))
    {
        padding = (c.ConvKernelSize - 1) / 2;
        groups = c.ConvGroups;
        conv = nn.Conv1d(c.HiddenSize, c.HiddenSize, c.ConvKernelSize, padding: padding, groups: groups);
        LayerNorm = nn.LayerNorm(c.HiddenSize, eps: c.LayerNormEps);
        dropout = nn.Dropout(c.HiddenDropoutProb);
        act = c.ConvAct;
        RegisterComponents();
    }

    /// <param name="layerInput">(B, T, H): the encoder input (embedding output).</param>
    /// <param name="layerOutput">(B, T, H): layer 0's output, the residual.</param>
    /// <param name="mask">(B, T, 1) in the hidden dtype: 1 for tokens.</param>
    public Tensor forward(Tensor layerInput, Tensor layerOutput, Tensor mask)
    {
        using var scope = NewDisposeScope();
        // Not conv.forward: torch's float32 CPU conv1d is wrong for some channel counts (ShiftedConv1d, docs/adabert.md
        // §Convolutions on the CPU); Apply uses it only where a check in this process found it right.
        var convolved = ShiftedConv1d.Apply(layerInput.permute(0, 2, 1).contiguous(), conv.weight!, conv.bias, 1, padding, groups)
            .permute(0, 2, 1); // (B, T, H) -> (B, H, T) -> conv -> (B, T, H)
        var activated = DebertaV2Activation.Apply(act, dropout.forward(convolved * mask));
        return (LayerNorm.forward(layerOutput + activated) * mask).MoveToOuterDisposeScope();
    }
}

/// <summary>HF's DebertaV2Encoder: the layers, the shared relative embeddings (2S, H) with their LayerNorm, and the optional conv.</summary>
public sealed class DebertaV2Encoder : nn.Module
{
    public readonly ModuleList<DebertaV2Layer> layer;
    public readonly Embedding? rel_embeddings;
    public readonly LayerNorm? LayerNorm;
    public readonly ConvLayer? conv;

    public DebertaV2Encoder(DebertaV2Config c) : base(nameof(DebertaV2Encoder))
    {
        layer = new ModuleList<DebertaV2Layer>(Enumerable.Range(0, c.NumHiddenLayers).Select(_ => new DebertaV2Layer(c)).ToArray());
        if (c.RelativeAttention) rel_embeddings = nn.Embedding(2 * c.AttentionSpan, c.HiddenSize);
        if (c.LayerNormOnRelEmbeddings) LayerNorm = nn.LayerNorm(c.HiddenSize, eps: c.LayerNormEps);
        if (c.ConvKernelSize > 0) conv = new ConvLayer(c);
        RegisterComponents();
    }

    /// <summary>The relative embedding table every layer reads: (2S, H), layer-normed when norm_rel_ebd has layer_norm; null without relative attention.</summary>
    public Tensor? RelEmbeddings()
    {
        if (rel_embeddings is null) return null;
        var table = rel_embeddings.weight!;
        return LayerNorm is null ? table.alias() : LayerNorm.forward(table);
    }
}

public sealed class DebertaV2Model : nn.Module, IAttentionLayers
{
    public readonly DebertaV2Embeddings embeddings;
    public readonly DebertaV2Encoder encoder;
    public DebertaV2Config Config { get; }

    public DebertaV2Model(DebertaV2Config config) : base(nameof(DebertaV2Model))
    {
        config.Validate();
        Config = config;
        embeddings = new DebertaV2Embeddings(config);
        encoder = new DebertaV2Encoder(config);
        RegisterComponents();
        DebertaV2Init.InitWeights(this, config);
    }

    public AttentionProjections SelfAttention(int layer)
    {
        var a = encoder.layer[layer].attention.self;
        return new AttentionProjections(a.query_proj, a.key_proj, a.value_proj);
    }

    /// <summary>
    /// (T, T) int64 r(i, j) = i - j, log-bucketed beyond position_buckets/2 when position_buckets &gt; 0 (HF's
    /// build_relative_position + make_log_bucket_position, the same float32 ops so bucket edges agree).
    /// </summary>
    public static Tensor RelativePositions(long t, DebertaV2Config c, Device device)
    {
        using var scope = NewDisposeScope();
        var ids = arange(t, dtype: int64, device: device);
        var rel = ids.unsqueeze(1) - ids.unsqueeze(0); // (T, T): query position - key position
        int maxPosition = c.MaxRelativePositionsResolved;
        if (c.PositionBuckets > 0 && maxPosition > 0)
        {
            long mid = c.PositionBuckets / 2;
            var near = rel.lt(mid).logical_and(rel.gt(-mid));
            var absPos = where(near, tensor(mid - 1, dtype: int64, device: device), rel.abs()); // (T, T) int64
            var logScale = tensor((float)((maxPosition - 1) / (double)mid), device: device).log();
            var logPos = (absPos.to(float32) / mid).log().div(logScale).mul(mid - 1).ceil().add(mid); // float32: mid + ceil(log(|r|/mid) / log((k-1)/mid) * (mid-1))
            rel = where(absPos.le(mid), rel.to(float32), logPos * rel.sign().to(float32)).to(int64);
        }
        return rel.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Same outputs as <see cref="BertModel.forward"/>: hidden state 0 is the (masked) embedding output, then one state
    /// per layer; attentions are DeBERTa's softmax probabilities (with the relative terms in the scores).
    /// PooledOutput is null: the ContextPooler belongs to the classifier, as in HF.
    /// </summary>
    public BertEncoderOutput forward(BertInputs inputs, OutputRequest? request = null)
    {
        request ??= OutputRequest.None;
        long b = inputs.InputIds.shape[0], t = inputs.InputIds.shape[1];
        if (Config.PositionBiasedInput && t > Config.MaxPositionEmbeddings)
            throw DistilException.Usage($"sequence length {t} exceeds max_position_embeddings {Config.MaxPositionEmbeddings}; lower --max-seq-len");
        using var scope = NewDisposeScope();
        var tokens = inputs.AttentionMask.gt(0); // (B, T) bool
        var pairMask = tokens.unsqueeze(1).unsqueeze(2).logical_and(tokens.unsqueeze(1).unsqueeze(3)); // (B, 1, 1, T) & (B, 1, T, 1) -> (B, 1, T, T)
        var hidden = embeddings.forward(inputs.InputIds, inputs.TokenTypeIds, inputs.AttentionMask);
        var embedded = hidden;
        var relPositions = Config.RelativeAttention ? RelativePositions(t, Config, hidden.device) : null;
        var rel = encoder.RelEmbeddings();
        var all = request.HiddenStates ? new List<Tensor> { hidden } : null;
        var probs = request.Attentions ? new List<Tensor>() : null;
        var scores = request.Attentions ? new List<Tensor>() : null;
        var values = request.Values ? new List<Tensor>() : null;
        for (int i = 0; i < encoder.layer.Count; i++)
        {
            var (next, p, s, v) = encoder.layer[i].forward(hidden, pairMask, relPositions, rel, request.Attentions, request.Values);
            if (i == 0 && encoder.conv is not null)
                next = encoder.conv.forward(embedded, next, inputs.AttentionMask.to(next.dtype).unsqueeze(2)); // (B, T, 1) mask
            if (p is not null) { probs!.Add(p); scores!.Add(s!); }
            if (v is not null) values!.Add(v);
            if (all is not null) all.Add(next);
            hidden = next;
        }
        hidden.MoveToOuterDisposeScope();
        all?.ForEach(x => x.MoveToOuterDisposeScope());
        probs?.ForEach(x => x.MoveToOuterDisposeScope());
        scores?.ForEach(x => x.MoveToOuterDisposeScope());
        values?.ForEach(x => x.MoveToOuterDisposeScope());
        return new BertEncoderOutput(hidden, null, all, probs, scores, values);
    }
}

/// <summary>HF's ContextPooler: the first token's state, dropout, dense, pooler_hidden_act (gelu by default, not BERT's tanh).</summary>
public sealed class ContextPooler : nn.Module
{
    public readonly Linear dense;
    readonly Dropout dropout;
    readonly string act;

    public ContextPooler(DebertaV2Config c) : base(nameof(ContextPooler))
    {
        dense = nn.Linear(c.PoolerHiddenSize, c.PoolerHiddenSize);
        dropout = nn.Dropout(c.PoolerDropout);
        act = c.PoolerHiddenAct;
        RegisterComponents();
    }

    public Tensor forward(Tensor hidden)
    {
        using var first = hidden.select(1, 0); // (B, H): token 0 ([CLS])
        using var dropped = dropout.forward(first);
        using var projected = dense.forward(dropped);
        return DebertaV2Activation.Apply(act, projected);
    }
}

public sealed class DebertaV2ForSequenceClassification : EncoderClassifier
{
    public readonly DebertaV2Model deberta;
    public readonly ContextPooler pooler;
    public readonly Linear classifier;
    readonly Dropout dropout;
    public DebertaV2Config Config { get; }

    public DebertaV2ForSequenceClassification(DebertaV2Config config) : base(nameof(DebertaV2ForSequenceClassification))
    {
        Config = config;
        deberta = new DebertaV2Model(config);
        pooler = new ContextPooler(config);
        dropout = nn.Dropout(config.ClsDropout ?? config.HiddenDropoutProb);
        classifier = nn.Linear(config.PoolerHiddenSize, config.NumLabels);
        RegisterComponents();
        DebertaV2Init.InitWeights(pooler, config);
        DebertaV2Init.InitWeights(classifier, config);
    }

    public override BertConfig Shape => Config.Shape;
    public override IAttentionLayers AttentionLayers => deberta;

    public override SequenceClassifierOutput forward(BertInputs inputs, OutputRequest? request = null)
    {
        var enc = deberta.forward(inputs, request);
        using var scope = NewDisposeScope();
        var pooled = pooler.forward(enc.LastHiddenState); // (B, H)
        var logits = classifier.forward(dropout.forward(pooled)); // (B, num_labels)
        return new SequenceClassifierOutput(logits.MoveToOuterDisposeScope(), enc with { PooledOutput = pooled.MoveToOuterDisposeScope() });
    }
}

static class DebertaV2Activation
{
    /// <summary>HF's ACT2FN for the names DebertaV2Config.Validate accepts ("gelu" is the exact erf form).</summary>
    public static Tensor Apply(string name, Tensor x) => name switch
    {
        "relu" => F.relu(x),
        "tanh" => x.tanh(),
        "gelu_new" or "gelu_pytorch_tanh" => F.gelu(x, approximate: GELU.Approximate.tanh),
        _ => F.gelu(x),
    };
}

static class DebertaV2Init
{
    /// <summary>HF's _init_weights: N(0, initializer_range) for Linear/Embedding, zero bias and padding row, LayerNorm 1/0 (Conv1d keeps torch's default).</summary>
    public static void InitWeights(nn.Module root, DebertaV2Config c)
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
                    if (ReferenceEquals(e, (root as DebertaV2Model)?.embeddings.word_embeddings)) e.weight![c.PadTokenId].zero_();
                    break;
                case LayerNorm n:
                    nn.init.ones_(n.weight!);
                    nn.init.zeros_(n.bias!);
                    break;
            }
        }
    }
}
