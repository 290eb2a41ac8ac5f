using Distil.Models;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Distil.Distillation;

/// <summary>
/// One model's outputs as the matches read them: logits and encoder outputs (ask the forward for
/// <see cref="OutputRequest.All"/>), plus the model itself for relation features, whose query/key/value vectors
/// the forward does not return: they are recomputed from the layer's input hidden state with that layer's projections.
/// </summary>
public sealed record DistillSide(Tensor Logits, BertEncoderOutput Encoder, IAttentionLayers? Model = null)
{
    public static DistillSide From(SequenceClassifierOutput output, IAttentionLayers? model = null) => new(output.Logits, output.Encoder, model);

    /// <summary>Hidden state i: 0 = embedding output, i = output of transformer layer i.</summary>
    public Tensor Hidden(int layer) =>
        (Encoder.HiddenStates ?? throw DistilException.Usage("hidden-state matches need the forward called with OutputRequest HiddenStates"))[layer];

    /// <summary>Pre-softmax masked scores of transformer layer i (1-based).</summary>
    public Tensor AttentionScores(int layer) =>
        (Encoder.AttentionScores ?? throw DistilException.Usage("attention matches need the forward called with OutputRequest Attentions"))[layer - 1];

    /// <summary>Softmax probabilities of transformer layer i (1-based).</summary>
    public Tensor AttentionProbs(int layer) =>
        (Encoder.Attentions ?? throw DistilException.Usage("attention matches need the forward called with OutputRequest Attentions"))[layer - 1];

    /// <summary>Query, key or value vectors (B, T, H) of transformer layer i (1-based): that layer's Linear on its input.</summary>
    public Tensor Projected(int layer, Func<AttentionProjections, Linear> pick)
    {
        if (Model is null) throw DistilException.Usage("relation matches need the model on both sides (DistillSide.Model)");
        return pick(Model.SelfAttention(layer - 1)).forward(Hidden(layer - 1));
    }
}
