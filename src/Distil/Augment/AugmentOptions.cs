using System.Text.Json.Serialization;

namespace Distil.Augment;

/// <summary>
/// TinyBERT word-replacement settings (docs/tinybert.md §Augmentation: N = 20-30 copies, p = 0.4, M = 15 candidates).
/// JSON names are config keys (the "augment" section of `distil distill`, or `distil augment`'s config).
/// </summary>
public sealed record AugmentOptions
{
    /// <summary>N: augmented copies tried per example (0 = no augmentation).</summary>
    [JsonPropertyName("copies")] public int Copies { get; init; }
    /// <summary>p: probability that each replaceable word is replaced in a copy.</summary>
    [JsonPropertyName("p")] public double P { get; init; } = 0.4;
    /// <summary>M: candidates per word (MLM top-M, or M nearest embedding neighbours).</summary>
    [JsonPropertyName("candidates")] public int Candidates { get; init; } = 15;
    /// <summary>Seed of the replacement draws; each example draws from its own stream (seed, row), so results do not depend on order.</summary>
    [JsonPropertyName("seed")] public int Seed { get; init; } = 42;
    /// <summary>Keep only copies that differ from the original and from each other (TinyBERT); false keeps all N.</summary>
    [JsonPropertyName("distinct")] public bool Distinct { get; init; } = true;
    /// <summary>Use the teacher's masked-LM head for single-piece words when its checkpoint has one.</summary>
    [JsonPropertyName("use_mlm")] public bool UseMlm { get; init; } = true;

    public void Validate()
    {
        if (Copies < 0) throw DistilException.Usage($"augment copies {Copies} must be >= 0");
        if (!(P >= 0 && P <= 1)) throw DistilException.Usage($"augment p {P} must be in [0, 1]");
        if (Candidates < 1) throw DistilException.Usage($"augment candidates {Candidates} must be >= 1");
    }
}
