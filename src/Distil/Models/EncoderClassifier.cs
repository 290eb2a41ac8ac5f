using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Distil.Models;

/// <summary>The query/key/value projections of one self-attention layer (names as in the checkpoints).</summary>
public sealed record AttentionProjections(Linear query, Linear key, Linear value);

/// <summary>
/// An encoder whose layers' query/key/value projections distillation can re-apply (MiniLM relations recompute them
/// from a layer's input). <paramref name="layer"/> is 0-based; with ALBERT's cross-layer sharing several layers
/// return the same modules.
/// </summary>
public interface IAttentionLayers
{
    AttentionProjections SelfAttention(int layer);
}

/// <summary>
/// A sequence classifier over a BERT-like encoder (BERT, ALBERT): the same inputs, logits and encoder outputs
/// (hidden states per layer, attentions, values), so the distillation matches, evaluation and latency code treat
/// every such student alike. The smallest common surface: the forward, the widths the matches see and the attention
/// projections.
/// </summary>
public abstract class EncoderClassifier : nn.Module
{
    protected EncoderClassifier(string name) : base(name) { }

    /// <summary>
    /// Depth, width, heads, FFN size, vocabulary and labels as a <see cref="BertConfig"/>: what matches, presets and
    /// projections validate against. BERT: its own config; ALBERT: its hidden-side sizes (the E-wide embedding is
    /// mapped to H before hidden state 0, as in HF).
    /// </summary>
    public abstract BertConfig Shape { get; }

    /// <summary>The encoder's attention layers (for relation features).</summary>
    public abstract IAttentionLayers AttentionLayers { get; }

    /// <summary>Sequence logits (B, num_labels), or per-token logits (B, T, num_labels) for a token head.</summary>
    public abstract SequenceClassifierOutput forward(BertInputs inputs, OutputRequest? request = null);

    TaskKind? task;

    /// <summary>What the head predicts: a token head says so; a sequence head reads config.json's problem_type unless
    /// set (a loader that turns a folder into a regression or multi-label model sets it, and the folder it saves says so).</summary>
    public virtual TaskKind Task
    {
        get => task ?? TaskKinds.FromProblemType(Shape.ProblemType);
        set => task = value;
    }
}

/// <summary>
/// The input tables of any encoder family, by their HF names, for what reuses a teacher's embeddings (word-embedding
/// neighbours, AdaBERT's projected tables): the word table (V, E) and the absolute position table with row k the
/// position of token k (RoBERTa's rows start after padding_idx; null where the family has none, as DeBERTa-v3).
/// </summary>
public static class EncoderEmbeddings
{
    public static Tensor Word(EncoderClassifier model) => model switch
    {
        BertForSequenceClassification b => b.bert.embeddings.word_embeddings.weight!,
        AlbertForSequenceClassification a => a.albert.embeddings.word_embeddings.weight!,
        RobertaForSequenceClassification r => r.roberta.embeddings.word_embeddings.weight!,
        ElectraForSequenceClassification e => e.electra.embeddings.word_embeddings.weight!,
        DistilBertForSequenceClassification d => d.distilbert.embeddings.word_embeddings.weight!,
        DebertaV2ForSequenceClassification d => d.deberta.embeddings.word_embeddings.weight!,
        _ => throw new ArgumentException($"no word table known for {model.GetType().Name}", nameof(model)),
    };

    public static Tensor? Position(EncoderClassifier model) => model switch
    {
        BertForSequenceClassification b => b.bert.embeddings.position_embeddings.weight!,
        AlbertForSequenceClassification a => a.albert.embeddings.position_embeddings.weight!,
        RobertaForSequenceClassification r => r.roberta.embeddings.position_embeddings.weight!.narrow(0, r.Config.PadTokenId + 1,
            r.Config.MaxPositionEmbeddings - r.Config.PadTokenId - 1), // token k sits at row padding_idx + 1 + k
        ElectraForSequenceClassification e => e.electra.embeddings.position_embeddings.weight!,
        DistilBertForSequenceClassification d => d.distilbert.embeddings.position_embeddings.weight!,
        DebertaV2ForSequenceClassification d => d.deberta.embeddings.position_embeddings?.weight,
        _ => throw new ArgumentException($"no position table known for {model.GetType().Name}", nameof(model)),
    };
}
