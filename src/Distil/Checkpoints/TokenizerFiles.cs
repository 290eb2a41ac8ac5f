using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Distil.Text;

namespace Distil.Checkpoints;

/// <summary>
/// The tokenizer files every saved model folder gets, so transformers' AutoTokenizer splits text as we did:
/// vocab.txt (copied), tokenizer_config.json (tokenizer_class, and the do_lower_case / strip_accents /
/// tokenize_chinese_chars we actually used, over whatever else the source file had) and special_tokens_map.json.
/// </summary>
public sealed class TokenizerFiles
{
    public const string VocabFile = "vocab.txt", ConfigFile = "tokenizer_config.json", SpecialTokensFile = "special_tokens_map.json";
    const string BertTokenizerClass = "BertTokenizer";

    readonly string vocab;
    readonly byte[] configJson, specialTokensJson;

    TokenizerFiles(string vocab, byte[] configJson, byte[] specialTokensJson) =>
        (this.vocab, this.configJson, this.specialTokensJson) = (vocab, configJson, specialTokensJson);

    /// <summary>Reads and checks the files of <paramref name="tokenizerDir"/> (before a save touches anything).</summary>
    public static TokenizerFiles From(string tokenizerDir)
    {
        string vocab = Path.Combine(tokenizerDir, VocabFile);
        if (!File.Exists(vocab)) throw DistilException.NotFound($"{vocab}: tokenizer file not found; pass the folder the training data was tokenized with (it needs {VocabFile})");
        string configPath = Path.Combine(tokenizerDir, ConfigFile), specialPath = Path.Combine(tokenizerDir, SpecialTokensFile);
        var settings = TokenizerSettings.Load(configPath); // missing file: HF's BERT defaults, written out so every tool reads the same
        var config = File.Exists(configPath) && JsonNode.Parse(File.ReadAllText(configPath)) is JsonObject o ? o : new JsonObject();
        if (config["tokenizer_class"]?.GetValue<string>() is not string cls || !cls.StartsWith(BertTokenizerClass, StringComparison.Ordinal))
            config["tokenizer_class"] = BertTokenizerClass; // our text goes through WordPiece on vocab.txt, whatever the source said
        config["do_lower_case"] = settings.LowerCase;
        config["strip_accents"] = settings.StripAccents is bool s ? JsonValue.Create(s) : null;
        config["tokenize_chinese_chars"] = settings.TokenizeChineseChars;
        var specials = SpecialTokens();
        foreach (var (key, token) in specials) config[key] ??= token;
        byte[] special = File.Exists(specialPath) ? File.ReadAllBytes(specialPath)
            : Encoding.UTF8.GetBytes(JsonSerializer.Serialize(specials, Indented));
        return new TokenizerFiles(vocab, Encoding.UTF8.GetBytes(config.ToJsonString(Indented)), special);
    }

    /// <summary>Writes the files into <paramref name="dir"/> (a folder being built by <see cref="AtomicFolder"/>).</summary>
    public void WriteInto(string dir, Action<string, byte[]> write)
    {
        write(Path.Combine(dir, VocabFile), File.ReadAllBytes(vocab));
        write(Path.Combine(dir, ConfigFile), configJson);
        write(Path.Combine(dir, SpecialTokensFile), specialTokensJson);
        // tokenizer.json (the fast-tokenizer file) belongs here too, written by the same call: the one place tokenizer files are written.
    }

    static Dictionary<string, string> SpecialTokens() => new()
    {
        ["unk_token"] = BertTextTokenizer.UnkToken, ["sep_token"] = BertTextTokenizer.SepToken, ["pad_token"] = BertTextTokenizer.PadToken,
        ["cls_token"] = BertTextTokenizer.ClsToken, ["mask_token"] = BertTextTokenizer.MaskToken,
    };

    static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };
}
