using Distil.Models;
using static TorchSharp.torch;

namespace Distil.Distillation;

/// <summary>Which layer indices a feature accepts.</summary>
public enum LayerRange { None, EmbeddingOnly, Hidden, Transformer }

/// <summary>
/// What a (feature, loss) pair needs from the configs and how it is computed. <see cref="Extract"/> pulls the
/// tensors of one side at one layer (before any projection); <see cref="Compute"/> gets (student, teacher, mask, match).
/// <see cref="PerExample"/>, when the loss has one, returns the loss of each example (B,) for instance weighting.
/// What the feature itself needs (layers, model outputs, cache, memory) is its <see cref="FeatureSpec"/>.
/// </summary>
public sealed record MatchKind(
    string Feature, string Loss, bool Projectable, bool EqualHeads, bool NeedsRelationHeads, bool UsesTemperature,
    Func<DistillSide, int, Tensor[]> Extract,
    Func<Tensor[], Tensor[], Tensor, IntermediateMatch, Tensor> Compute,
    Func<Tensor[], Tensor[], Tensor, IntermediateMatch, Tensor>? PerExample = null);

/// <summary>
/// (feature, loss) -> implementation, looked up by name (TextBrewer's MATCH_LOSS_MAP, but typed and validated).
/// <see cref="Register"/> adds a kind; lookups of unknown names list the valid ones.
/// </summary>
public static class MatchRegistry
{
    /// <summary>Projection names a match may declare (student width -> teacher width).</summary>
    public static readonly IReadOnlyList<string> Projections = new[] { "linear" };

    static readonly Dictionary<(string, string), MatchKind> Kinds = new();
    static readonly Dictionary<string, FeatureSpec> FeatureSpecs = new(StringComparer.Ordinal);

    static MatchRegistry()
    {
        var hidden = new OutputRequest(HiddenStates: true);
        var maps = new OutputRequest(HiddenStates: true, Attentions: true);
        RegisterFeature(new(MatchFeatures.Logits, LayerRange.None, false, false, OutputRequest.None, false, _ => CacheNeed.Nothing));
        RegisterFeature(new(MatchFeatures.Labels, LayerRange.None, false, true, OutputRequest.None, false, _ => CacheNeed.Nothing));
        RegisterFeature(new(MatchFeatures.Hidden, LayerRange.Hidden, true, false, hidden, false, l => CacheNeed.Tokens(l)));
        RegisterFeature(new(MatchFeatures.Embedding, LayerRange.EmbeddingOnly, true, false, hidden, false, l => CacheNeed.Tokens(l)));
        RegisterFeature(new(MatchFeatures.ClsHidden, LayerRange.Hidden, true, false, hidden, false, l => new CacheNeed(Array.Empty<int>(), new[] { l }, Array.Empty<int>())));
        // Attention maps are recomputed from the layer's stored input (hidden l-1), not stored (TeacherNeeds explains why).
        RegisterFeature(new(MatchFeatures.Attention, LayerRange.Transformer, true, false, maps, true, l => new CacheNeed(new[] { l - 1 }, Array.Empty<int>(), new[] { l })));
        // Relations project hidden l-1 with the layer's own query/key/value (DistillSide.Projected); the student's
        // relation maps are batch x heads x seq² like attention maps.
        RegisterFeature(new(MatchFeatures.AttentionRelation, LayerRange.Transformer, true, false, hidden, true, l => CacheNeed.Tokens(l - 1)));
        RegisterFeature(new(MatchFeatures.ValueRelation, LayerRange.Transformer, true, false, hidden, true, l => CacheNeed.Tokens(l - 1)));

        Tensor[] Logits(DistillSide s, int _) => new[] { s.Logits };
        Tensor[] Hidden(DistillSide s, int l) => new[] { s.Hidden(l) };
        Tensor[] Cls(DistillSide s, int l) => new[] { s.Hidden(l).select(1, 0) };
        Tensor[] Scores(DistillSide s, int l) => new[] { s.AttentionScores(l) };
        Tensor[] Probs(DistillSide s, int l) => new[] { s.AttentionProbs(l) };
        Tensor[] Values(DistillSide s, int l) => new[] { s.Projected(l, a => a.value) };
        Tensor[] QueryKey(DistillSide s, int l) => new[] { s.Projected(l, a => a.query), s.Projected(l, a => a.key) };
        double T(IntermediateMatch m) => m.Temperature ?? 1.0;

        Register(new(MatchFeatures.Logits, MatchLosses.SoftCe, false, false, false, true, Logits,
            (s, t, _, m) => KdLosses.SoftCrossEntropy(s[0], t[0], T(m)), (s, t, _, m) => KdLosses.SoftCrossEntropyPerExample(s[0], t[0], T(m))));
        Register(new(MatchFeatures.Logits, MatchLosses.Kl, false, false, false, true, Logits,
            (s, t, _, m) => KdLosses.KlDivergence(s[0], t[0], T(m)), (s, t, _, m) => KdLosses.KlDivergencePerExample(s[0], t[0], T(m))));
        // Gold labels: the "teacher side" of this match is the label tensor (see MatchLoss).
        Register(new(MatchFeatures.Labels, MatchLosses.HardCe, false, false, false, false, Logits,
            (s, t, _, _) => KdLosses.HardCrossEntropy(s[0], t[0]), (s, t, _, _) => KdLosses.HardCrossEntropyPerExample(s[0], t[0])));
        foreach (var feature in new[] { MatchFeatures.Hidden, MatchFeatures.Embedding })
        {
            Register(new(feature, MatchLosses.Mse, true, false, false, false, Hidden, (s, t, mask, _) => KdLosses.HiddenMse(s[0], t[0], mask),
                (s, t, mask, _) => KdLosses.HiddenMsePerExample(s[0], t[0], mask)));
            Register(new(feature, MatchLosses.Cosine, true, false, false, false, Hidden, (s, t, mask, _) => KdLosses.CosineHidden(s[0], t[0], mask)));
        }
        Register(new(MatchFeatures.ClsHidden, MatchLosses.Mse, true, false, false, false, Cls,
            (s, t, _, _) => KdLosses.NormalizedClsMse(s[0], t[0])));
        Register(new(MatchFeatures.Attention, MatchLosses.Mse, false, true, false, false, Scores,
            (s, t, mask, _) => KdLosses.AttentionScoreMse(s[0], t[0], mask), (s, t, mask, _) => KdLosses.AttentionScoreMsePerExample(s[0], t[0], mask)));
        Register(new(MatchFeatures.Attention, MatchLosses.Kl, false, true, false, false, Probs,
            (s, t, mask, _) => KdLosses.AttentionKl(s[0], t[0], mask)));
        Register(new(MatchFeatures.ValueRelation, MatchLosses.Kl, false, false, true, false, Values,
            (s, t, mask, m) => KdLosses.RelationKl(s[0], t[0], m.RelationHeads!.Value, mask)));
        Register(new(MatchFeatures.AttentionRelation, MatchLosses.Kl, false, false, true, false, QueryKey,
            (s, t, mask, m) => KdLosses.RelationKl(s[0], s[1], t[0], t[1], m.RelationHeads!.Value, mask)));
    }

    /// <summary>Adds a (feature, loss) kind; its feature must be registered first.</summary>
    public static void Register(MatchKind kind)
    {
        if (!FeatureSpecs.ContainsKey(kind.Feature))
            throw new InvalidOperationException($"register feature '{kind.Feature}' (RegisterFeature) before its losses");
        Kinds[(kind.Feature, kind.Loss)] = kind;
    }

    public static void RegisterFeature(FeatureSpec feature) => FeatureSpecs[feature.Name] = feature;

    public static bool TryGetFeature(string name, out FeatureSpec feature) => FeatureSpecs.TryGetValue(name, out feature!);

    /// <summary>The forward outputs these matches read (the union of their features' needs); unknown features are
    /// reported by <see cref="Validate"/>, here they ask for everything.</summary>
    public static OutputRequest OutputsFor(IEnumerable<IntermediateMatch> matches)
    {
        bool states = false, attentions = false, values = false;
        foreach (var m in matches)
        {
            var o = TryGetFeature(m.Feature, out var f) ? f.Outputs : OutputRequest.All;
            states |= o.HiddenStates; attentions |= o.Attentions; values |= o.Values;
        }
        return new OutputRequest(states, attentions, values);
    }

    /// <summary>True when a match keeps batch x heads x seq² maps alive for backward (the memory estimate's class).</summary>
    public static bool KeepsAttentionMaps(IEnumerable<IntermediateMatch> matches) =>
        matches.Any(m => TryGetFeature(m.Feature, out var f) && f.KeepsAttentionMaps);

    /// <summary>True when the matches read nothing but the teacher's logits and the labels (a logits cache serves them).</summary>
    public static bool LogitsOnly(IEnumerable<IntermediateMatch> matches) => matches.All(m => !m.IsLayered);

    public static IReadOnlyList<string> Features => Kinds.Keys.Select(k => k.Item1).Distinct().Order(StringComparer.Ordinal).ToArray();

    public static IReadOnlyList<string> LossesFor(string feature) =>
        Kinds.Keys.Where(k => k.Item1 == feature).Select(k => k.Item2).Order(StringComparer.Ordinal).ToArray();

    public static bool TryGet(string feature, string loss, out MatchKind kind) => Kinds.TryGetValue((feature, loss), out kind!);

    /// <summary>The kind of a match, or a usage error that names the match and lists the valid names.</summary>
    public static MatchKind Get(IntermediateMatch m, int index)
    {
        if (TryGet(m.Feature, m.Loss, out var kind)) return kind;
        var losses = LossesFor(m.Feature);
        throw DistilException.Usage(losses.Count == 0
            ? $"{Describe(m, index)}: unknown feature '{m.Feature}'; valid features: {string.Join(", ", Features)}"
            : $"{Describe(m, index)}: unknown loss '{m.Loss}' for feature '{m.Feature}'; valid losses: {string.Join(", ", losses)}");
    }

    /// <summary>"match #2 (hidden mse, teacher layer 7 -> student layer 3)": matches are numbered from 1 in messages.</summary>
    public static string Describe(IntermediateMatch m, int index) => $"match #{index + 1} ({m.Summary})";

    /// <summary>
    /// Checks every match against both configs before training starts; throws a usage error naming the first bad
    /// match and what to do. Layer indices, widths (or a declared projection), head counts, relation heads,
    /// weights and temperatures.
    /// </summary>
    public static void Validate(IReadOnlyList<IntermediateMatch> matches, BertConfig teacher, BertConfig student)
    {
        if (matches.Count == 0) throw DistilException.Usage("no distillation matches: give at least one (or use a preset)");
        for (int i = 0; i < matches.Count; i++)
        {
            var m = matches[i];
            var kind = Get(m, i);
            void Require(bool ok, string what)
            {
                if (!ok) throw DistilException.Usage($"{Describe(m, i)}: {what}");
            }
            Require(double.IsFinite(m.Weight) && m.Weight >= 0, $"weight {m.Weight} must be finite and >= 0");
            if (m.Temperature is { } t)
            {
                Require(kind.UsesTemperature, $"temperature applies only to logits matches; remove it");
                Require(double.IsFinite(t) && t > 0, $"temperature {t} must be > 0");
            }
            var layers = FeatureSpecs[m.Feature].Layers;
            CheckLayer(layers, m.TeacherLayer, teacher, "teacher", Require);
            CheckLayer(layers, m.StudentLayer, student, "student", Require);
            if (m.Projection is { } p)
            {
                Require(kind.Projectable, $"projection '{p}' is not supported for {m.Feature} {m.Loss}; remove it");
                Require(Projections.Contains(p), $"unknown projection '{p}'; valid projections: {string.Join(", ", Projections)}");
            }
            else if (kind.Projectable)
                Require(teacher.HiddenSize == student.HiddenSize,
                    $"teacher width {teacher.HiddenSize} != student width {student.HiddenSize}; declare \"projection\": \"linear\"");
            if (kind.EqualHeads)
                Require(teacher.NumAttentionHeads == student.NumAttentionHeads,
                    $"teacher has {teacher.NumAttentionHeads} heads, student {student.NumAttentionHeads}; use attention_relation kl with relation_heads");
            if (kind.NeedsRelationHeads)
            {
                Require(m.RelationHeads is > 0, "relation_heads is required (a positive number dividing both widths)");
                int r = m.RelationHeads!.Value;
                Require(teacher.HiddenSize % r == 0 && student.HiddenSize % r == 0,
                    $"relation_heads {r} must divide both the teacher width {teacher.HiddenSize} and the student width {student.HiddenSize}");
            }
            else Require(m.RelationHeads is null, $"relation_heads applies only to relation features; remove it");
        }
    }

    static void CheckLayer(LayerRange range, int layer, BertConfig c, string side, Action<bool, string> require)
    {
        int n = c.NumHiddenLayers;
        switch (range)
        {
            case LayerRange.EmbeddingOnly:
                require(layer == 0, $"{side} layer {layer}: embedding is layer 0 (use feature hidden for transformer layers)");
                break;
            case LayerRange.Hidden:
                require(layer >= 0 && layer <= n, layer > n
                    ? $"{side} has only {n} layers (hidden layers are 0 = embeddings .. {n})"
                    : $"{side} layer {layer} is negative (hidden layers are 0 = embeddings .. {n})");
                break;
            case LayerRange.Transformer:
                require(layer >= 1 && layer <= n, layer > n
                    ? $"{side} has only {n} layers (attention layers are 1 .. {n})"
                    : $"{side} layer {layer}: attention layers are 1 .. {n} (there is no attention at the embeddings)");
                break;
        }
    }
}
