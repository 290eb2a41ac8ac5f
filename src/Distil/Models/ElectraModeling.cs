// ELECTRA's discriminator in TorchSharp, after Hugging Face's modeling_electra.py. The field names ARE the checkpoint
// format (config.json with model_type electra + model.safetensors with keys such as
// `electra.encoder.layer.0.attention.self.query.weight`, `electra.embeddings_project.weight`, `classifier.out_proj.weight`).
// What differs from BERT: the embedding tables are E = embedding_size wide (mapped to H by `embeddings_project` when
// E != H), there is no pooler, and the head is dense -> gelu -> out_proj on [CLS]. The layers are BERT's modules.
// Shapes: B = batch, T = sequence length, E = embedding size, H = hidden size.
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Distil.Models;

public static class ElectraFamily
{
    public const string Type = "electra", Architecture = "ElectraForSequenceClassification";

    /// <summary>E: embedding_size, or hidden_size when config.json does not say (then there is no projection).</summary>
    public static int EmbeddingWidth(BertConfig c) => c.EmbeddingSize ?? c.HiddenSize;
}

/// <summary>BERT's embeddings, E wide: word + position (0..T-1) + token type, LayerNorm in E.</summary>
public sealed class ElectraEmbeddings : nn.Module
{
    public readonly Embedding word_embeddings, position_embeddings, token_type_embeddings;
    public readonly LayerNorm LayerNorm;
    readonly Dropout dropout;

    public ElectraEmbeddings(BertConfig c) : base(nameof(ElectraEmbeddings))
    {
        int e = ElectraFamily.EmbeddingWidth(c);
        word_embeddings = nn.Embedding(c.VocabSize, e, padding_idx: c.PadTokenId);
        position_embeddings = nn.Embedding(c.MaxPositionEmbeddings, e);
        token_type_embeddings = nn.Embedding(c.TypeVocabSize, e);
        LayerNorm = nn.LayerNorm(e, eps: c.LayerNormEps);
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

public sealed class ElectraModel : nn.Module, IAttentionLayers
{
    public readonly ElectraEmbeddings embeddings;
    /// <summary>E -> H; null (and absent from the state dict, as in HF) when E == H.</summary>
    public readonly Linear? embeddings_project;
    public readonly BertEncoder encoder;
    public BertConfig Config { get; }

    public ElectraModel(BertConfig config) : base(nameof(ElectraModel))
    {
        config.Validate(modelTypes: [ElectraFamily.Type]);
        Config = config;
        embeddings = new ElectraEmbeddings(config);
        int e = ElectraFamily.EmbeddingWidth(config);
        if (e != config.HiddenSize) embeddings_project = nn.Linear(e, config.HiddenSize);
        encoder = new BertEncoder(config);
        RegisterComponents();
        BertInit.InitWeights(this, config);
    }

    public AttentionProjections SelfAttention(int layer)
    {
        var a = encoder.layer[layer].attention.self;
        return new AttentionProjections(a.query, a.key, a.value);
    }

    /// <summary>Hidden state 0 is the embedding output after the E -> H projection (as HF's output_hidden_states).</summary>
    public BertEncoderOutput forward(BertInputs inputs, OutputRequest? request = null)
    {
        long seqLen = inputs.InputIds.shape[1];
        if (seqLen > Config.MaxPositionEmbeddings)
            throw DistilException.Usage($"sequence length {seqLen} exceeds max_position_embeddings {Config.MaxPositionEmbeddings}; lower --max-seq-len");
        using var scope = NewDisposeScope();
        var embedded = embeddings.forward(inputs.InputIds, inputs.TokenTypeIds); // (B, T, E)
        if (embeddings_project is not null) embedded = embeddings_project.forward(embedded); // (B, T, E) -> (B, T, H)
        var enc = encoder.forward(embedded, inputs.AttentionMask, request ?? OutputRequest.None);
        return enc.MoveToOuterDisposeScope();
    }
}

/// <summary>HF's ElectraClassificationHead: dropout, dense, gelu (exact), dropout, out_proj on [CLS].</summary>
public sealed class ElectraClassificationHead : nn.Module
{
    public readonly Linear dense, out_proj;
    readonly Dropout dropout;

    public ElectraClassificationHead(BertConfig c) : base(nameof(ElectraClassificationHead))
    {
        dense = nn.Linear(c.HiddenSize, c.HiddenSize);
        dropout = nn.Dropout(c.ClassifierDropout ?? c.HiddenDropoutProb);
        out_proj = nn.Linear(c.HiddenSize, c.NumLabels);
        RegisterComponents();
    }

    public Tensor forward(Tensor hidden)
    {
        using var scope = NewDisposeScope();
        var first = hidden.select(1, 0); // (B, H): the [CLS] position
        var x = F.gelu(dense.forward(dropout.forward(first)));
        return out_proj.forward(dropout.forward(x)).MoveToOuterDisposeScope(); // (B, num_labels)
    }
}

public sealed class ElectraForSequenceClassification : EncoderClassifier
{
    public readonly ElectraModel electra;
    public readonly ElectraClassificationHead classifier;
    public BertConfig Config { get; }

    public ElectraForSequenceClassification(BertConfig config) : base(nameof(ElectraForSequenceClassification))
    {
        if (config.ClassifierPooling is "mean")
            throw DistilException.Usage("classifier_pooling 'mean' is for BERT and ALBERT folders; ELECTRA's head reads the first token");
        Config = config;
        electra = new ElectraModel(config);
        classifier = new ElectraClassificationHead(config);
        RegisterComponents();
        BertInit.InitWeights(classifier, config);
    }

    public override BertConfig Shape => Config;
    public override IAttentionLayers AttentionLayers => electra;

    public override SequenceClassifierOutput forward(BertInputs inputs, OutputRequest? request = null)
    {
        var enc = electra.forward(inputs, request);
        return new SequenceClassifierOutput(classifier.forward(enc.LastHiddenState), enc);
    }
}
