using Distil.Models;

namespace Distil.Distillation;

/// <summary>
/// What the teacher cache stores for one match, by teacher layer: hidden states kept for every token (0 = embedding
/// output), hidden states kept at [CLS] only, and layers whose attention maps are recomputed from the stored input.
/// </summary>
public sealed record CacheNeed(IReadOnlyList<int> TokenLayers, IReadOnlyList<int> ClsLayers, IReadOnlyList<int> AttentionLayers)
{
    public static readonly CacheNeed Nothing = new(Array.Empty<int>(), Array.Empty<int>(), Array.Empty<int>());
    public static CacheNeed Tokens(params int[] layers) => new(layers, Array.Empty<int>(), Array.Empty<int>());
}

/// <summary>
/// The one description of a distillation feature: which layers it accepts, what it needs from a model's forward, what
/// the teacher cache holds for it, and its memory class. The objectives, the teacher cache and the memory estimate
/// read these fields instead of testing feature names, so a new feature is one <see cref="MatchRegistry.RegisterFeature"/>
/// plus its (feature, loss) kinds (and a <see cref="DistillSide"/> accessor when it reads a tensor no feature read before).
/// </summary>
/// <param name="Layered">Layers matter (false for logits and labels, which are read once per example).</param>
/// <param name="FromLabels">The teacher side is the gold labels, not a teacher output.</param>
/// <param name="Outputs">What the forward must return beyond the logits (hidden states, attention maps).</param>
/// <param name="KeepsAttentionMaps">Memory class: batch x heads x seq² maps stay alive for backward (see MemoryEstimate).</param>
/// <param name="Cache">What the teacher cache stores for teacher layer l; null when the cache cannot serve it (the
/// teacher then runs in every step).</param>
public sealed record FeatureSpec(string Name, LayerRange Layers, bool Layered, bool FromLabels, OutputRequest Outputs, bool KeepsAttentionMaps,
    Func<int, CacheNeed>? Cache);
