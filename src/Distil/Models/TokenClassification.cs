// The token-classification heads of transformers' modeling files (RobertaForTokenClassification (also XLM-R and
// CamemBERT), ElectraForTokenClassification, DistilBertForTokenClassification, DebertaV2ForTokenClassification; BERT's
// is in BertModeling.cs), kept in one file because each is the family's encoder plus dropout and `classifier` =
// Linear(H, num_labels) on every token. Field names are the checkpoint keys (`roberta.*` / `electra.*` /
// `distilbert.*` / `deberta.*`, `classifier.weight`). Shapes: B = batch, T = sequence length, H = hidden size,
// C = num_labels.
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Distil.Models;

/// <summary>
/// An encoder with a per-token head: logits (B, T, C) as <see cref="SequenceClassifierOutput.Logits"/>, so training,
/// distillation, evaluation and export treat every family's token model alike. The task is always
/// <see cref="TaskKind.Token"/>.
/// </summary>
public abstract class EncoderTokenClassifier : EncoderClassifier
{
    protected EncoderTokenClassifier(string name) : base(name) { }

    /// <summary>The checkpoint key prefix of the encoder: bert, roberta, distilbert, electra, deberta.</summary>
    public abstract string BasePrefix { get; }

    /// <summary>The head: Linear(H, C) on every token (key <c>classifier.*</c> in every family).</summary>
    public abstract Linear Classifier { get; }

    public override TaskKind Task
    {
        get => TaskKind.Token;
        set { if (value != TaskKind.Token) throw DistilException.Usage($"a token classifier cannot be a {value.Name()} model"); }
    }

    /// <summary>The head on the last hidden states: dropout, then (B, T, H) -> (B, T, C).</summary>
    protected static SequenceClassifierOutput Tag(Linear classifier, Dropout dropout, BertEncoderOutput enc)
    {
        using var scope = NewDisposeScope();
        var logits = classifier.forward(dropout.forward(enc.LastHiddenState)); // (B, T, H) -> (B, T, C)
        return new SequenceClassifierOutput(logits.MoveToOuterDisposeScope(), enc);
    }
}

/// <summary>
/// HF's RobertaForTokenClassification (XLMRobertaForTokenClassification and CamembertForTokenClassification are the same
/// modules): dropout (classifier_dropout, else hidden_dropout_prob) and `classifier` on every token; no pooler.
/// </summary>
public sealed class RobertaForTokenClassification : EncoderTokenClassifier
{
    public readonly RobertaModel roberta;
    public readonly Linear classifier;
    readonly Dropout dropout;
    public BertConfig Config { get; }

    public RobertaForTokenClassification(BertConfig config) : base(nameof(RobertaForTokenClassification))
    {
        Config = config;
        roberta = new RobertaModel(config);
        dropout = nn.Dropout(config.ClassifierDropout ?? config.HiddenDropoutProb);
        classifier = nn.Linear(config.HiddenSize, config.NumLabels);
        RegisterComponents();
        BertInit.InitWeights(classifier, config);
    }

    public override BertConfig Shape => Config;
    public override IAttentionLayers AttentionLayers => roberta;
    public override string BasePrefix => "roberta";
    public override Linear Classifier => classifier;
    public override SequenceClassifierOutput forward(BertInputs inputs, OutputRequest? request = null) =>
        Tag(classifier, dropout, roberta.forward(inputs, request));
}

/// <summary>HF's ElectraForTokenClassification: dropout (classifier_dropout, else hidden_dropout_prob) and `classifier` on the discriminator's states.</summary>
public sealed class ElectraForTokenClassification : EncoderTokenClassifier
{
    public readonly ElectraModel electra;
    public readonly Linear classifier;
    readonly Dropout dropout;
    public BertConfig Config { get; }

    public ElectraForTokenClassification(BertConfig config) : base(nameof(ElectraForTokenClassification))
    {
        Config = config;
        electra = new ElectraModel(config);
        dropout = nn.Dropout(config.ClassifierDropout ?? config.HiddenDropoutProb);
        classifier = nn.Linear(config.HiddenSize, config.NumLabels);
        RegisterComponents();
        BertInit.InitWeights(classifier, config);
    }

    public override BertConfig Shape => Config;
    public override IAttentionLayers AttentionLayers => electra;
    public override string BasePrefix => "electra";
    public override Linear Classifier => classifier;
    public override SequenceClassifierOutput forward(BertInputs inputs, OutputRequest? request = null) =>
        Tag(classifier, dropout, electra.forward(inputs, request));
}

/// <summary>HF's DistilBertForTokenClassification: dropout (the config's dropout) and `classifier` on every token (no pre_classifier).</summary>
public sealed class DistilBertForTokenClassification : EncoderTokenClassifier
{
    public readonly DistilBertModel distilbert;
    public readonly Linear classifier;
    readonly Dropout dropout;
    public DistilBertConfig Config { get; }

    public DistilBertForTokenClassification(DistilBertConfig config) : base(nameof(DistilBertForTokenClassification))
    {
        Config = config;
        distilbert = new DistilBertModel(config);
        dropout = nn.Dropout(config.Dropout);
        classifier = nn.Linear(config.Dim, config.NumLabels);
        RegisterComponents();
        BertInit.InitWeights(classifier, config.Shape);
    }

    public override BertConfig Shape => Config.Shape;
    public override IAttentionLayers AttentionLayers => distilbert;
    public override string BasePrefix => "distilbert";
    public override Linear Classifier => classifier;
    public override SequenceClassifierOutput forward(BertInputs inputs, OutputRequest? request = null) =>
        Tag(classifier, dropout, distilbert.forward(inputs, request));
}

/// <summary>HF's DebertaV2ForTokenClassification: dropout (hidden_dropout_prob) and `classifier` on every token; no ContextPooler.</summary>
public sealed class DebertaV2ForTokenClassification : EncoderTokenClassifier
{
    public readonly DebertaV2Model deberta;
    public readonly Linear classifier;
    readonly Dropout dropout;
    public DebertaV2Config Config { get; }

    public DebertaV2ForTokenClassification(DebertaV2Config config) : base(nameof(DebertaV2ForTokenClassification))
    {
        Config = config;
        deberta = new DebertaV2Model(config);
        dropout = nn.Dropout(config.HiddenDropoutProb);
        classifier = nn.Linear(config.HiddenSize, config.NumLabels);
        RegisterComponents();
        DebertaV2Init.InitWeights(classifier, config);
    }

    public override BertConfig Shape => Config.Shape;
    public override IAttentionLayers AttentionLayers => deberta;
    public override string BasePrefix => "deberta";
    public override Linear Classifier => classifier;
    public override SequenceClassifierOutput forward(BertInputs inputs, OutputRequest? request = null) =>
        Tag(classifier, dropout, deberta.forward(inputs, request));
}
