using System.Text.Json;
using System.Text.Json.Nodes;

namespace Distil.Text;

/// <summary>The keys of HF's tokenizer_config.json that the non-BERT tokenizers read (special tokens, add_prefix_space).</summary>
public sealed class TokenizerConfig
{
    readonly JsonObject _root;
    TokenizerConfig(JsonObject root) => _root = root;

    /// <summary>A missing path or file gives an empty config (each family's defaults).</summary>
    public static TokenizerConfig Load(string? path)
    {
        if (path == null || !File.Exists(path)) return new TokenizerConfig(new JsonObject());
        try { return new TokenizerConfig(JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new JsonException("not an object")); }
        catch (JsonException e) { throw DistilException.BadInput($"{path}: not valid JSON ({e.Message}); fix the file or delete it to use the defaults"); }
    }

    /// <summary>A config holding only these special tokens.</summary>
    public static TokenizerConfig FromTokens(Dictionary<string, string> tokens)
    {
        var o = new JsonObject();
        foreach (var (k, v) in tokens) o[k] = v;
        return new TokenizerConfig(o);
    }

    public bool? Flag(string key) => _root[key] is JsonValue v && v.TryGetValue(out bool b) ? b : null;

    /// <summary>A special token, written as a string or as an AddedToken object ({"content": ...}).</summary>
    public string? Token(string key) => _root[key] switch
    {
        JsonValue v when v.TryGetValue(out string? s) => s,
        JsonObject o when o["content"] is JsonValue c && c.TryGetValue(out string? s) => s,
        _ => null,
    };
}
