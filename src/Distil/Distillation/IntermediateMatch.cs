using System.Text.Json;
using System.Text.Json.Serialization;

namespace Distil.Distillation;

/// <summary>
/// One distillation term as data (TextBrewer's intermediate match): which teacher and student feature to compare,
/// with which loss and weight. Layer numbering: hidden layer i = output of transformer layer i (1-based, 0 = the
/// embedding output, so <c>embedding</c> = hidden 0); attention / relation layer i = self-attention of transformer
/// layer i (1-based). Layers are ignored for <c>logits</c> and <c>labels</c>.
/// </summary>
public sealed record IntermediateMatch(
    [property: JsonPropertyName("teacher_layer")] int TeacherLayer,
    [property: JsonPropertyName("student_layer")] int StudentLayer,
    [property: JsonPropertyName("feature")] string Feature,
    [property: JsonPropertyName("loss")] string Loss,
    [property: JsonPropertyName("weight")] double Weight = 1,
    [property: JsonPropertyName("temperature")] double? Temperature = null,
    [property: JsonPropertyName("projection")] string? Projection = null,
    [property: JsonPropertyName("relation_heads")] int? RelationHeads = null)
{
    /// <summary>True when the feature is a per-layer tensor (layers matter); an unknown feature counts as layered so
    /// that messages about it still name its layers.</summary>
    public bool IsLayered => !MatchRegistry.TryGetFeature(Feature, out var f) || f.Layered;

    /// <summary>Short name for logs and dictionaries of loss terms: <c>hidden_3_6</c> = student layer 3 vs teacher layer 6.</summary>
    public string TermName => IsLayered ? $"{Feature}_{StudentLayer}_{TeacherLayer}" : $"{Feature}_{Loss}";

    /// <summary>Human summary used in error messages: "hidden, teacher layer 7 -> student layer 3".</summary>
    public string Summary => IsLayered
        ? $"{Feature} {Loss}, teacher layer {TeacherLayer} -> student layer {StudentLayer}"
        : $"{Feature} {Loss}";

    static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };

    /// <summary>Reads a JSON array of matches; unknown keys are errors (a typo must not silently drop a setting).</summary>
    public static IReadOnlyList<IntermediateMatch> ListFromJson(string json, string source = "matches")
    {
        try
        {
            return JsonSerializer.Deserialize<List<IntermediateMatch>>(json, Options)
                   ?? throw DistilException.Usage($"{source}: expected a JSON array of matches");
        }
        catch (JsonException e) { throw DistilException.Usage($"{source}: not a valid list of matches ({e.Message})"); }
    }

    public static string ListToJson(IEnumerable<IntermediateMatch> matches) => JsonSerializer.Serialize(matches.ToList(), Options);
}

/// <summary>Feature names a match may compare.</summary>
public static class MatchFeatures
{
    public const string Logits = "logits", Labels = "labels", Hidden = "hidden", Embedding = "embedding", ClsHidden = "cls_hidden",
        Attention = "attention", AttentionRelation = "attention_relation", ValueRelation = "value_relation";
}

/// <summary>Loss names a match may use.</summary>
public static class MatchLosses
{
    public const string SoftCe = "soft_ce", Kl = "kl", Mse = "mse", Cosine = "cosine", HardCe = "hard_ce";
}
