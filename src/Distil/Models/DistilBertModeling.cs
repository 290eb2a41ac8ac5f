// DistilBERT in TorchSharp, after Hugging Face's modeling_distilbert.py. The field names ARE the checkpoint format
// (config.json with model_type distilbert + model.safetensors with keys such as
// `distilbert.transformer.layer.0.attention.q_lin.weight`, `pre_classifier.weight`).
// What differs from BERT: no token types, its own names (q_lin/k_lin/v_lin/out_lin, sa_layer_norm, ffn.lin1/lin2,
// output_layer_norm), and the head pre_classifier -> ReLU -> classifier on [CLS]. The attention maths is BERT's.
// Shapes: B = batch, T = sequence length, D = dim, nh = heads, dh = D / nh, I = hidden_dim.
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Distil.Models;

public sealed class DistilBertEmbeddings : nn.Module
{
    public readonly Embedding word_embeddings, position_embeddings;
    public readonly LayerNorm LayerNorm;
    readonly Dropout dropout;

    public DistilBertEmbeddings(DistilBertConfig c) : base("Embeddings")
    {
        word_embeddings = nn.Embedding(c.VocabSize, c.Dim, padding_idx: c.PadTokenId);
        position_embeddings = nn.Embedding(c.MaxPositionEmbeddings, c.Dim);
        LayerNorm = nn.LayerNorm(c.Dim, eps: DistilBertConfig.LayerNormEps);
        dropout = nn.Dropout(c.Dropout);
        RegisterComponents();
    }

    public Tensor forward(Tensor inputIds)
    {
        using var positions = arange(inputIds.shape[1], dtype: int64, device: inputIds.device).unsqueeze(0); // (1, T)
        using var words = word_embeddings.forward(inputIds);
        using var pos = position_embeddings.forward(positions);
        using var sum = words + pos; // (B, T, D)
        using var normed = LayerNorm.forward(sum);
        return dropout.forward(normed);
    }
}

public sealed class MultiHeadSelfAttention : nn.Module
{
    public readonly Linear q_lin, k_lin, v_lin, out_lin;
    readonly Dropout dropout;
    readonly int heads, headDim;
    readonly double dropoutP;

    public MultiHeadSelfAttention(DistilBertConfig c) : base(nameof(MultiHeadSelfAttention))
    {
        heads = c.NHeads;
        headDim = c.HeadDim;
        dropoutP = c.AttentionDropout;
        q_lin = nn.Linear(c.Dim, c.Dim);
        k_lin = nn.Linear(c.Dim, c.Dim);
        v_lin = nn.Linear(c.Dim, c.Dim);
        out_lin = nn.Linear(c.Dim, c.Dim);
        dropout = nn.Dropout(dropoutP);
        RegisterComponents();
    }

    /// <returns>out_lin of the context (B, T, D), and on request the probabilities, scores and value projection.</returns>
    public (Tensor Output, Tensor? Probs, Tensor? Scores, Tensor? Values) forward(Tensor hidden, Tensor additiveMask, bool returnAttention, bool returnValues)
    {
        // HF masks with masked_fill(finfo.min) before the softmax; adding the most negative float gives the same probabilities.
        var (context, probs, scores, values) = ScaledDotProductAttention.Run(q_lin, k_lin, v_lin, hidden, additiveMask, heads, headDim, dropout,
            training ? dropoutP : 0.0, returnAttention, returnValues);
        using (context) return (out_lin.forward(context), probs, scores, values);
    }
}

/// <summary>HF's FFN: lin1, activation, lin2, dropout.</summary>
public sealed class FFN : nn.Module
{
    public readonly Linear lin1, lin2;
    readonly Dropout dropout;
    readonly string act;

    public FFN(DistilBertConfig c) : base(nameof(FFN))
    {
        lin1 = nn.Linear(c.Dim, c.HiddenDim);
        lin2 = nn.Linear(c.HiddenDim, c.Dim);
        dropout = nn.Dropout(c.Dropout);
        act = c.Activation;
        RegisterComponents();
    }

    public Tensor forward(Tensor x)
    {
        using var inner = lin1.forward(x); // (B, T, I)
        using var activated = act == "relu" ? F.relu(inner) : F.gelu(inner);
        using var projected = lin2.forward(activated); // (B, T, D)
        return dropout.forward(projected);
    }
}

/// <summary>Post-LN block: LayerNorm(attention + x) in sa_layer_norm, then LayerNorm(ffn + that) in output_layer_norm.</summary>
public sealed class TransformerBlock : nn.Module
{
    public readonly MultiHeadSelfAttention attention;
    public readonly LayerNorm sa_layer_norm, output_layer_norm;
    public readonly FFN ffn;

    public TransformerBlock(DistilBertConfig c) : base(nameof(TransformerBlock))
    {
        attention = new MultiHeadSelfAttention(c);
        sa_layer_norm = nn.LayerNorm(c.Dim, eps: DistilBertConfig.LayerNormEps);
        ffn = new FFN(c);
        output_layer_norm = nn.LayerNorm(c.Dim, eps: DistilBertConfig.LayerNormEps);
        RegisterComponents();
    }

    public (Tensor Hidden, Tensor? Probs, Tensor? Scores, Tensor? Values) forward(Tensor x, Tensor additiveMask, bool returnAttention, bool returnValues)
    {
        var (sa, probs, scores, values) = attention.forward(x, additiveMask, returnAttention, returnValues);
        using (sa)
        {
            using var saSum = sa + x;
            using var attended = sa_layer_norm.forward(saSum);
            using var f = ffn.forward(attended);
            using var sum = f + attended;
            return (output_layer_norm.forward(sum), probs, scores, values);
        }
    }
}

public sealed class DistilBertTransformer : nn.Module
{
    public readonly ModuleList<TransformerBlock> layer;

    public DistilBertTransformer(DistilBertConfig c) : base("Transformer")
    {
        layer = new ModuleList<TransformerBlock>(Enumerable.Range(0, c.NLayers).Select(_ => new TransformerBlock(c)).ToArray());
        RegisterComponents();
    }
}

public sealed class DistilBertModel : nn.Module, IAttentionLayers
{
    public readonly DistilBertEmbeddings embeddings;
    public readonly DistilBertTransformer transformer;
    public DistilBertConfig Config { get; }

    public DistilBertModel(DistilBertConfig config) : base(nameof(DistilBertModel))
    {
        config.Validate();
        Config = config;
        embeddings = new DistilBertEmbeddings(config);
        transformer = new DistilBertTransformer(config);
        RegisterComponents();
        BertInit.InitWeights(this, config.Shape);
        using (no_grad()) embeddings.word_embeddings.weight![config.PadTokenId].zero_();
    }

    public AttentionProjections SelfAttention(int layer)
    {
        var a = transformer.layer[layer].attention;
        return new AttentionProjections(a.q_lin, a.k_lin, a.v_lin);
    }

    /// <summary>As <see cref="BertModel.forward"/> without a pooler; token type ids are ignored (DistilBERT has none).</summary>
    public BertEncoderOutput forward(BertInputs inputs, OutputRequest? request = null)
    {
        request ??= OutputRequest.None;
        long seqLen = inputs.InputIds.shape[1];
        if (seqLen > Config.MaxPositionEmbeddings)
            throw DistilException.Usage($"sequence length {seqLen} exceeds max_position_embeddings {Config.MaxPositionEmbeddings}; lower --max-seq-len");
        using var scope = NewDisposeScope();
        var additiveMask = ScaledDotProductAttention.AdditiveMask(inputs.AttentionMask); // (B, 1, 1, T)
        var hidden = embeddings.forward(inputs.InputIds); // (B, T, D)
        var all = request.HiddenStates ? new List<Tensor> { hidden } : null;
        var probs = request.Attentions ? new List<Tensor>() : null;
        var scores = request.Attentions ? new List<Tensor>() : null;
        var values = request.Values ? new List<Tensor>() : null;
        foreach (var l in transformer.layer)
        {
            var (next, p, s, v) = l.forward(hidden, additiveMask, request.Attentions, request.Values);
            if (p is not null) { probs!.Add(p); scores!.Add(s!); }
            if (v is not null) values!.Add(v);
            all?.Add(next);
            hidden = next;
        }
        return new BertEncoderOutput(hidden, null, all, probs, scores, values).MoveToOuterDisposeScope();
    }
}

public sealed class DistilBertForSequenceClassification : EncoderClassifier
{
    public readonly DistilBertModel distilbert;
    public readonly Linear pre_classifier, classifier;
    readonly Dropout dropout;
    public DistilBertConfig Config { get; }

    public DistilBertForSequenceClassification(DistilBertConfig config) : base(nameof(DistilBertForSequenceClassification))
    {
        Config = config;
        distilbert = new DistilBertModel(config);
        pre_classifier = nn.Linear(config.Dim, config.Dim);
        classifier = nn.Linear(config.Dim, config.NumLabels);
        dropout = nn.Dropout(config.SeqClassifDropout);
        RegisterComponents();
        BertInit.InitWeights(pre_classifier, config.Shape);
        BertInit.InitWeights(classifier, config.Shape);
    }

    public override BertConfig Shape => Config.Shape;
    public override IAttentionLayers AttentionLayers => distilbert;

    public override SequenceClassifierOutput forward(BertInputs inputs, OutputRequest? request = null)
    {
        var enc = distilbert.forward(inputs, request);
        using var scope = NewDisposeScope();
        var first = enc.LastHiddenState.select(1, 0); // (B, D): the [CLS] position
        var pooled = dropout.forward(F.relu(pre_classifier.forward(first)));
        return new SequenceClassifierOutput(classifier.forward(pooled).MoveToOuterDisposeScope(), enc); // (B, num_labels)
    }
}
