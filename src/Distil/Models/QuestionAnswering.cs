// The extractive-QA heads of transformers' modeling files (BertForQuestionAnswering, RobertaForQuestionAnswering,
// DistilBertForQuestionAnswering, ElectraForQuestionAnswering, DebertaV2ForQuestionAnswering), kept in one file
// because each is the family's encoder plus `qa_outputs` = Linear(H, 2) on every token. Field names are the
// checkpoint keys (`bert.*` / `roberta.*` / `distilbert.*` / `electra.*` / `deberta.*`, `qa_outputs.weight`).
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Distil.Models;

/// <summary>Start and end logits per token, (B, T) each, plus the encoder outputs they came from.</summary>
public sealed record QuestionAnsweringOutput(Tensor StartLogits, Tensor EndLogits, BertEncoderOutput Encoder);

/// <summary>
/// An encoder with a span head: every family's QA model has the same surface, so training, distillation, evaluation
/// and export treat them alike. Like the token classifier, our BERT/RoBERTa/ELECTRA encoders keep their pooler (HF
/// builds the QA models without it), so a saved folder also holds the pooler's weights, which transformers ignores.
/// </summary>
public abstract class EncoderQuestionAnswering : nn.Module
{
    protected EncoderQuestionAnswering(string name) : base(name) { }

    /// <summary>Depth, width and vocabulary as a <see cref="BertConfig"/> (for matches, projections, latency).</summary>
    public abstract BertConfig Shape { get; }
    public abstract IAttentionLayers AttentionLayers { get; }
    /// <summary>The checkpoint key prefix of the encoder: bert, roberta, distilbert, electra, deberta.</summary>
    public abstract string BasePrefix { get; }
    /// <summary>The transformers class name, for config.json's architectures.</summary>
    public string Architecture => GetType().Name;

    public abstract QuestionAnsweringOutput forward(BertInputs inputs, OutputRequest? request = null);

    /// <summary>The span head on the last hidden states: (B, T, H) -> (B, T, 2) -> start, end (B, T) each.</summary>
    protected static QuestionAnsweringOutput Span(Linear qaOutputs, Tensor sequence, BertEncoderOutput enc)
    {
        using var scope = NewDisposeScope();
        var logits = qaOutputs.forward(sequence); // (B, T, 2)
        var start = logits.select(-1, 0).contiguous(); // (B, T)
        var end = logits.select(-1, 1).contiguous(); // (B, T)
        return new QuestionAnsweringOutput(start.MoveToOuterDisposeScope(), end.MoveToOuterDisposeScope(), enc);
    }

    /// <summary>
    /// transformers' QA loss: positions clamped to [0, T] where T (one past the last token) is also the ignore index,
    /// so a position outside the input counts for nothing; cross-entropy on start and on end, averaged.
    /// Logits (B, T), positions (B) int64.
    /// </summary>
    public static Tensor Loss(Tensor startLogits, Tensor endLogits, Tensor startPositions, Tensor endPositions)
    {
        using var scope = NewDisposeScope();
        long ignored = startLogits.shape[1];
        var s = startPositions.clamp(0, ignored);
        var e = endPositions.clamp(0, ignored);
        var loss = (nn.functional.cross_entropy(startLogits, s, ignore_index: ignored)
                  + nn.functional.cross_entropy(endLogits, e, ignore_index: ignored)) / 2;
        return loss.MoveToOuterDisposeScope();
    }
}

/// <summary>HF's BertForQuestionAnswering: qa_outputs on the last hidden states, no dropout.</summary>
public sealed class BertForQuestionAnswering : EncoderQuestionAnswering
{
    public readonly BertModel bert;
    public readonly Linear qa_outputs;
    public BertConfig Config { get; }

    public BertForQuestionAnswering(BertConfig config) : base(nameof(BertForQuestionAnswering))
    {
        Config = config;
        bert = new BertModel(config);
        qa_outputs = nn.Linear(config.HiddenSize, 2);
        RegisterComponents();
        BertInit.InitWeights(qa_outputs, config);
    }

    public override BertConfig Shape => Config;
    public override IAttentionLayers AttentionLayers => bert;
    public override string BasePrefix => "bert";
    public override QuestionAnsweringOutput forward(BertInputs inputs, OutputRequest? request = null)
    {
        var enc = bert.forward(inputs, request);
        return Span(qa_outputs, enc.LastHiddenState, enc);
    }
}

/// <summary>HF's RobertaForQuestionAnswering (also XLM-R, CamemBERT): qa_outputs on the last hidden states.</summary>
public sealed class RobertaForQuestionAnswering : EncoderQuestionAnswering
{
    public readonly RobertaModel roberta;
    public readonly Linear qa_outputs;
    public BertConfig Config { get; }

    public RobertaForQuestionAnswering(BertConfig config) : base(nameof(RobertaForQuestionAnswering))
    {
        Config = config;
        roberta = new RobertaModel(config);
        qa_outputs = nn.Linear(config.HiddenSize, 2);
        RegisterComponents();
        BertInit.InitWeights(qa_outputs, config);
    }

    public override BertConfig Shape => Config;
    public override IAttentionLayers AttentionLayers => roberta;
    public override string BasePrefix => "roberta";
    public override QuestionAnsweringOutput forward(BertInputs inputs, OutputRequest? request = null)
    {
        var enc = roberta.forward(inputs, request);
        return Span(qa_outputs, enc.LastHiddenState, enc);
    }
}

/// <summary>HF's ElectraForQuestionAnswering: qa_outputs on the discriminator's last hidden states.</summary>
public sealed class ElectraForQuestionAnswering : EncoderQuestionAnswering
{
    public readonly ElectraModel electra;
    public readonly Linear qa_outputs;
    public BertConfig Config { get; }

    public ElectraForQuestionAnswering(BertConfig config) : base(nameof(ElectraForQuestionAnswering))
    {
        Config = config;
        electra = new ElectraModel(config);
        qa_outputs = nn.Linear(config.HiddenSize, 2);
        RegisterComponents();
        BertInit.InitWeights(qa_outputs, config);
    }

    public override BertConfig Shape => Config;
    public override IAttentionLayers AttentionLayers => electra;
    public override string BasePrefix => "electra";
    public override QuestionAnsweringOutput forward(BertInputs inputs, OutputRequest? request = null)
    {
        var enc = electra.forward(inputs, request);
        return Span(qa_outputs, enc.LastHiddenState, enc);
    }
}

/// <summary>HF's DistilBertForQuestionAnswering: dropout (qa_dropout) then qa_outputs.</summary>
public sealed class DistilBertForQuestionAnswering : EncoderQuestionAnswering
{
    public readonly DistilBertModel distilbert;
    public readonly Linear qa_outputs;
    readonly Dropout dropout;
    public DistilBertConfig Config { get; }

    public DistilBertForQuestionAnswering(DistilBertConfig config) : base(nameof(DistilBertForQuestionAnswering))
    {
        Config = config;
        distilbert = new DistilBertModel(config);
        qa_outputs = nn.Linear(config.Dim, 2);
        dropout = nn.Dropout(config.QaDropout);
        RegisterComponents();
        BertInit.InitWeights(qa_outputs, config.Shape);
    }

    public override BertConfig Shape => Config.Shape;
    public override IAttentionLayers AttentionLayers => distilbert;
    public override string BasePrefix => "distilbert";
    public override QuestionAnsweringOutput forward(BertInputs inputs, OutputRequest? request = null)
    {
        var enc = distilbert.forward(inputs, request);
        using var dropped = dropout.forward(enc.LastHiddenState); // (B, T, D)
        return Span(qa_outputs, dropped, enc);
    }
}

/// <summary>HF's DebertaV2ForQuestionAnswering: qa_outputs on the last hidden states.</summary>
public sealed class DebertaV2ForQuestionAnswering : EncoderQuestionAnswering
{
    public readonly DebertaV2Model deberta;
    public readonly Linear qa_outputs;
    public DebertaV2Config Config { get; }

    public DebertaV2ForQuestionAnswering(DebertaV2Config config) : base(nameof(DebertaV2ForQuestionAnswering))
    {
        Config = config;
        deberta = new DebertaV2Model(config);
        qa_outputs = nn.Linear(config.HiddenSize, 2);
        RegisterComponents();
        DebertaV2Init.InitWeights(qa_outputs, config);
    }

    public override BertConfig Shape => Config.Shape;
    public override IAttentionLayers AttentionLayers => deberta;
    public override string BasePrefix => "deberta";
    public override QuestionAnsweringOutput forward(BertInputs inputs, OutputRequest? request = null)
    {
        var enc = deberta.forward(inputs, request);
        return Span(qa_outputs, enc.LastHiddenState, enc);
    }
}
