// RoBERTa in TorchSharp, after Hugging Face's modeling_roberta.py; XLM-RoBERTa (modeling_xlm_roberta.py) and
// CamemBERT (modeling_camembert.py) are the same modules under their own model_type, and their HF classes keep the
// `roberta.` prefix too. The field names ARE the checkpoint format (config.json + model.safetensors with keys such as
// `roberta.encoder.layer.0.attention.self.query.weight`, `classifier.out_proj.weight`).
// What differs from BERT: positions count from padding_idx + 1 over the non-pad tokens, one token type, no pooler
// under the classifier, and a two-layer head (dense -> tanh -> out_proj) on <s>. The layers are BERT's modules.
// Shapes: B = batch, T = sequence length, H = hidden size.
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Distil.Models;

public static class RobertaFamily
{
    /// <summary>The model_type values that run these modules, with the architecture name HF saves for each classifier.</summary>
    public static readonly IReadOnlyDictionary<string, string> Architectures = new Dictionary<string, string>
    {
        ["roberta"] = "RobertaForSequenceClassification",
        ["xlm-roberta"] = "XLMRobertaForSequenceClassification",
        ["camembert"] = "CamembertForSequenceClassification",
    };

    /// <summary>The architecture name HF saves for the token classifier of a model_type: RobertaForTokenClassification, XLMRobertaForTokenClassification, ...</summary>
    public static string TokenArchitecture(string modelType) =>
        Architectures[modelType].Replace("SequenceClassification", "TokenClassification", StringComparison.Ordinal);
}

public sealed class RobertaEmbeddings : nn.Module
{
    public readonly Embedding word_embeddings, position_embeddings, token_type_embeddings;
    public readonly LayerNorm LayerNorm;
    readonly Dropout dropout;
    readonly long paddingIdx;

    public RobertaEmbeddings(BertConfig c) : base(nameof(RobertaEmbeddings))
    {
        paddingIdx = c.PadTokenId;
        word_embeddings = nn.Embedding(c.VocabSize, c.HiddenSize, padding_idx: c.PadTokenId);
        position_embeddings = nn.Embedding(c.MaxPositionEmbeddings, c.HiddenSize, padding_idx: c.PadTokenId);
        token_type_embeddings = nn.Embedding(c.TypeVocabSize, c.HiddenSize);
        LayerNorm = nn.LayerNorm(c.HiddenSize, eps: c.LayerNormEps);
        dropout = nn.Dropout(c.HiddenDropoutProb);
        RegisterComponents();
    }

    /// <summary>HF's create_position_ids_from_input_ids: padding_idx + 1, + 2, ... over real tokens; padding keeps padding_idx.</summary>
    public static Tensor PositionIds(Tensor inputIds, long paddingIdx)
    {
        using var notPad = inputIds.ne(paddingIdx).to(int64); // (B, T)
        using var counted = notPad.cumsum(1);
        using var masked = counted * notPad;
        return masked + paddingIdx;
    }

    /// <param name="tokenTypeIds">Used only when the table has more than one row: RoBERTa has one, and its tokenizer
    /// gives all zeros, so a BERT-style pair mask (1 on the second sentence) does not index past it.</param>
    public Tensor forward(Tensor inputIds, Tensor? tokenTypeIds)
    {
        using var positions = PositionIds(inputIds, paddingIdx); // (B, T)
        using var types = tokenTypeIds is null || token_type_embeddings.weight!.shape[0] == 1 ? zeros_like(inputIds) : null;
        using var words = word_embeddings.forward(inputIds);
        using var pos = position_embeddings.forward(positions);
        using var typ = token_type_embeddings.forward(types ?? tokenTypeIds!);
        using var sum = words + pos + typ; // (B, T, H)
        using var normed = LayerNorm.forward(sum);
        return dropout.forward(normed);
    }
}

/// <summary>RobertaModel without its pooler (RobertaForSequenceClassification builds it with add_pooling_layer=False).</summary>
public sealed class RobertaModel : nn.Module, IAttentionLayers
{
    public readonly RobertaEmbeddings embeddings;
    public readonly BertEncoder encoder;
    public BertConfig Config { get; }

    public RobertaModel(BertConfig config) : base(nameof(RobertaModel))
    {
        config.Validate(modelTypes: RobertaFamily.Architectures.Keys.ToArray());
        Config = config;
        embeddings = new RobertaEmbeddings(config);
        encoder = new BertEncoder(config);
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
        long seqLen = inputs.InputIds.shape[1];
        // Positions run up to padding_idx + T, so the table must hold T + padding_idx + 1 rows (514 for 512 tokens).
        if (seqLen + Config.PadTokenId + 1 > Config.MaxPositionEmbeddings)
            throw DistilException.Usage($"sequence length {seqLen} needs {seqLen + Config.PadTokenId + 1} position rows but max_position_embeddings is {Config.MaxPositionEmbeddings}; lower --max-seq-len");
        using var scope = NewDisposeScope();
        var enc = encoder.forward(embeddings.forward(inputs.InputIds, inputs.TokenTypeIds), inputs.AttentionMask, request ?? OutputRequest.None);
        return enc.MoveToOuterDisposeScope();
    }
}

/// <summary>HF's RobertaClassificationHead: dropout, dense, tanh, dropout, out_proj on the first token (&lt;s&gt;).</summary>
public sealed class RobertaClassificationHead : nn.Module
{
    public readonly Linear dense, out_proj;
    readonly Dropout dropout;

    public RobertaClassificationHead(BertConfig c) : base(nameof(RobertaClassificationHead))
    {
        dense = nn.Linear(c.HiddenSize, c.HiddenSize);
        dropout = nn.Dropout(c.ClassifierDropout ?? c.HiddenDropoutProb);
        out_proj = nn.Linear(c.HiddenSize, c.NumLabels);
        RegisterComponents();
    }

    public Tensor forward(Tensor hidden)
    {
        using var scope = NewDisposeScope();
        var first = hidden.select(1, 0); // (B, H): the <s> position
        var x = dense.forward(dropout.forward(first)).tanh();
        return out_proj.forward(dropout.forward(x)).MoveToOuterDisposeScope(); // (B, num_labels)
    }
}

public sealed class RobertaForSequenceClassification : EncoderClassifier
{
    public readonly RobertaModel roberta;
    public readonly RobertaClassificationHead classifier;
    public BertConfig Config { get; }

    public RobertaForSequenceClassification(BertConfig config) : base(nameof(RobertaForSequenceClassification))
    {
        if (config.ClassifierPooling is "mean")
            throw DistilException.Usage($"classifier_pooling 'mean' is for BERT and ALBERT folders; {config.ModelType}'s head reads the first token");
        Config = config;
        roberta = new RobertaModel(config);
        classifier = new RobertaClassificationHead(config);
        RegisterComponents();
        BertInit.InitWeights(classifier, config);
    }

    public override BertConfig Shape => Config;
    public override IAttentionLayers AttentionLayers => roberta;

    public override SequenceClassifierOutput forward(BertInputs inputs, OutputRequest? request = null)
    {
        var enc = roberta.forward(inputs, request);
        return new SequenceClassifierOutput(classifier.forward(enc.LastHiddenState), enc);
    }
}
