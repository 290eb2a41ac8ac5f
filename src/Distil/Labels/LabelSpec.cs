using System.Security.Cryptography;
using System.Text.Json.Serialization;

namespace Distil.Labels;

/// <summary>
/// What a label store holds and who made it: the teacher (its files and the engine that runs it: TorchSharp, or an
/// ONNX Runtime export in fp32 or int8, whose logits differ in the last digits), the tokenizer and max_seq_len, the
/// teacher's labels, and which hidden states (fp16) the shards keep besides the logits (fp32). The store's manifest
/// is this record; a store refuses labels made under another spec rather than mixing them.
/// </summary>
public sealed record LabelSpec
{
    [JsonPropertyName("teacher_key")] public required string TeacherKey { get; init; }
    [JsonPropertyName("tokenizer_key")] public required string TokenizerKey { get; init; }
    [JsonPropertyName("engine")] public required string Engine { get; init; }
    [JsonPropertyName("max_seq_len")] public required int MaxSeqLen { get; init; }
    [JsonPropertyName("labels")] public required IReadOnlyList<string> Labels { get; init; }
    /// <summary>Hidden-state layers kept for every token (0 = embedding output; layer l is also layer l+1's attention input); empty = logits only.</summary>
    [JsonPropertyName("hidden_layers")] public IReadOnlyList<int> HiddenLayers { get; init; } = [];
    [JsonPropertyName("hidden_size")] public int HiddenSize { get; init; }
    /// <summary>Where the teacher was read from (for messages only; not part of the key).</summary>
    [JsonPropertyName("teacher")] public string? TeacherPath { get; init; }

    /// <summary>Teacher + tokenizer + what is kept: rows labelled under one key are interchangeable.</summary>
    [JsonIgnore]
    public string Key => Hash($"{TeacherKey}|{Engine}|{TokenizerKey}|{MaxSeqLen}|{string.Join(',', Labels)}|{string.Join(',', HiddenLayers)}|{HiddenSize}");

    /// <summary>First 16 hex digits of SHA-256 over the files (in the given order; a missing file hashes as its name only).</summary>
    public static string HashFiles(string dir, IEnumerable<string> files)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[1 << 20];
        foreach (string f in files)
        {
            sha.AppendData(System.Text.Encoding.UTF8.GetBytes(f + "\n"));
            string path = Path.Combine(dir, f);
            if (!File.Exists(path)) continue;
            using var s = File.OpenRead(path);
            int n;
            while ((n = s.Read(buffer, 0, buffer.Length)) > 0) sha.AppendData(buffer, 0, n);
        }
        return Convert.ToHexString(sha.GetHashAndReset())[..16].ToLowerInvariant();
    }

    static string Hash(string s) => Convert.ToHexString(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(s)))[..16].ToLowerInvariant();

    /// <summary>The first difference from <paramref name="other"/>, in words (null when the keys agree).</summary>
    public string? Difference(LabelSpec other)
    {
        if (Key == other.Key) return null;
        if (TeacherKey != other.TeacherKey) return $"teacher {other.TeacherPath ?? other.TeacherKey} (key {other.TeacherKey}) is not the store's teacher {TeacherPath ?? TeacherKey} (key {TeacherKey})";
        if (Engine != other.Engine) return $"engine {other.Engine} is not the store's engine {Engine} (their logits differ in the last digits)";
        if (TokenizerKey != other.TokenizerKey) return $"tokenizer (key {other.TokenizerKey}) is not the store's (key {TokenizerKey})";
        if (MaxSeqLen != other.MaxSeqLen) return $"max_seq_len {other.MaxSeqLen} is not the store's {MaxSeqLen}";
        if (!HiddenLayers.SequenceEqual(other.HiddenLayers)) return $"hidden layers [{string.Join(',', other.HiddenLayers)}] are not the store's [{string.Join(',', HiddenLayers)}]";
        return $"labels [{string.Join(',', other.Labels)}] are not the store's [{string.Join(',', Labels)}]";
    }
}
