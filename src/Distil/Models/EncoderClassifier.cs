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
