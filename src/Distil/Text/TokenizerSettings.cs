using System.Text.Json;

namespace Distil.Text;

/// <summary>The parts of HF's tokenizer_config.json that change how text is split.</summary>
public sealed record TokenizerSettings(bool LowerCase = true, bool? StripAccents = null, bool TokenizeChineseChars = true)
{
    /// <summary>HF: strip_accents = null means "follow do_lower_case".</summary>
    public bool EffectiveStripAccents => StripAccents ?? LowerCase;

    /// <summary>The settings as HF's tokenizer_config.json keys (written when a model folder came without that file).</summary>
    public string ToJson() => JsonSerializer.Serialize(new Dictionary<string, object?>
    {
        ["do_lower_case"] = LowerCase, ["strip_accents"] = StripAccents, ["tokenize_chinese_chars"] = TokenizeChineseChars,
        ["tokenizer_class"] = "BertTokenizer",
    });

    /// <summary>Reads tokenizer_config.json; a missing file gives HF's BERT defaults (uncased).</summary>
    public static TokenizerSettings Load(string path)
    {
        if (!File.Exists(path)) return new TokenizerSettings();
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(path));
            var root = doc.RootElement;
            bool? Flag(string name) =>
                root.TryGetProperty(name, out var v) && v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : null;
            return new TokenizerSettings(Flag("do_lower_case") ?? true, Flag("strip_accents"), Flag("tokenize_chinese_chars") ?? true);
        }
        catch (JsonException e)
        {
            throw DistilException.BadInput($"{path}: not valid JSON ({e.Message}); fix the file or delete it to use the uncased defaults");
        }
    }
}
