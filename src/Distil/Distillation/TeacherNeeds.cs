namespace Distil.Distillation;

/// <summary>
/// What the matches of one stage read from the teacher, as tensors a cache can hold: the hidden states whose every
/// token is compared (<see cref="TokenLayers"/>, 0 = embedding output), those compared at [CLS] only
/// (<see cref="ClsLayers"/>, PKD: one row per example), and the attention maps (<see cref="AttentionLayers"/>).
/// Attention maps are NOT stored: nh·T² floats per layer and example (12·128² = 196k at max length, 8x a hidden state
/// of width 384) would dominate the file; layer l's maps are recomputed from the stored input of layer l (hidden
/// l-1) with the teacher's own query/key, which costs two of the layer's six matmuls. Relation features read
/// hidden l-1 too (<see cref="DistillSide.Projected"/>).
/// </summary>
public sealed record TeacherNeeds(IReadOnlyList<int> TokenLayers, IReadOnlyList<int> ClsLayers, IReadOnlyList<int> AttentionLayers)
{
    /// <summary>The needs of these matches, or null when one reads a feature this cache does not know (the teacher then runs online).</summary>
    public static TeacherNeeds? For(IEnumerable<IntermediateMatch> matches)
    {
        var tokens = new SortedSet<int>();
        var cls = new SortedSet<int>();
        var attention = new SortedSet<int>();
        foreach (var m in matches)
        {
            if (!MatchRegistry.TryGetFeature(m.Feature, out var feature) || feature.Cache is null) return null;
            var need = feature.Cache(m.TeacherLayer);
            tokens.UnionWith(need.TokenLayers);
            cls.UnionWith(need.ClsLayers);
            attention.UnionWith(need.AttentionLayers);
        }
        cls.ExceptWith(tokens); // a layer stored whole also serves its [CLS]
        return new TeacherNeeds(tokens.ToArray(), cls.ToArray(), attention.ToArray());
    }

    /// <summary>Part of the cache file name: t = whole layers, c = [CLS]-only layers.</summary>
    public string Signature => $"t{string.Join('-', TokenLayers)}_c{string.Join('-', ClsLayers)}";

    /// <summary>Bytes the cache holds in memory (fp16 states, fp32 logits, int64 offsets).</summary>
    public long Bytes(long examples, long tokens, int hidden, int labels) =>
        2L * hidden * ((tokens + 1) * TokenLayers.Count + examples * ClsLayers.Count) + 4L * examples * labels + 8L * (examples + 1);
}
