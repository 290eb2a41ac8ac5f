using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Distil.Text;

namespace Distil.Checkpoints;

/// <summary>
/// The tokenizer files every saved model folder gets, so transformers' AutoTokenizer splits text as we did.
/// A WordPiece folder (vocab.txt, no tokenizer.json): vocab.txt (copied), tokenizer_config.json (tokenizer_class, and the
/// do_lower_case / strip_accents / tokenize_chinese_chars we actually used, over whatever else the source file had),
/// special_tokens_map.json and tokenizer.json written from the tokenizer we used (<see cref="TextTokenizer.ToTokenizerJson"/>;
/// not for a vocab.txt without BERT's special tokens, which nothing can tokenise with).
/// Any other folder (tokenizer.json, vocab.json + merges.txt, sentencepiece.bpe.model, spm.model): its tokenizer files are
/// copied as they are; tokenizer.json, tokenizer_config.json and special_tokens_map.json are written only where the source
/// had none (tokenizer.json not for SentencePiece BPE, which it cannot describe without merges).
/// </summary>
public sealed class TokenizerFiles
{
    public const string VocabFile = "vocab.txt", ConfigFile = "tokenizer_config.json", SpecialTokensFile = "special_tokens_map.json",
        TokenizerJsonFile = TokenizerFolder.TokenizerJsonFile;
    const string BertTokenizerClass = "BertTokenizer";

    /// <summary>The files copied byte for byte when a folder is not plain WordPiece.</summary>
    static readonly string[] CopiedAsIs =
    [
        TokenizerFolder.TokenizerJsonFile, TokenizerFolder.VocabTxtFile, TokenizerFolder.VocabJsonFile, TokenizerFolder.MergesFile,
        TokenizerFolder.XlmrSpmFile, TokenizerFolder.DebertaSpmFile, ConfigFile, SpecialTokensFile, "added_tokens.json",
    ];

    readonly List<(string Name, byte[] Bytes)> files;

    TokenizerFiles(List<(string, byte[])> files) => this.files = files;

    /// <summary>Names of the files <see cref="WriteInto"/> writes, in order.</summary>
    public IReadOnlyList<string> Names => files.Select(f => f.Name).ToList();

    /// <summary>Reads and checks the files of <paramref name="tokenizerDir"/> (before a save touches anything).</summary>
    public static TokenizerFiles From(string tokenizerDir)
    {
        string F(string name) => Path.Combine(tokenizerDir, name);
        bool wordPiece = File.Exists(F(VocabFile)) && !File.Exists(F(TokenizerJsonFile));
        if (!wordPiece && !CopiedAsIs.Take(6).Any(n => File.Exists(F(n))))
            throw DistilException.NotFound($"{tokenizerDir}: no tokenizer files; pass the folder the training data was tokenized with (it needs {VocabFile}, {TokenizerJsonFile}, vocab.json + merges.txt or a SentencePiece model)");
        return wordPiece ? FromWordPiece(tokenizerDir)
            : Copied(tokenizerDir, TokenizerFolder.Load(tokenizerDir)); // refuses what it cannot read, before anything is written
    }

    static TokenizerFiles FromWordPiece(string tokenizerDir)
    {
        string configPath = Path.Combine(tokenizerDir, ConfigFile), specialPath = Path.Combine(tokenizerDir, SpecialTokensFile);
        var settings = TokenizerSettings.Load(configPath); // missing file: HF's BERT defaults, written out so every tool reads the same
        // tokenizer.json needs a usable vocabulary ([PAD] [UNK] [CLS] [SEP]); a vocab.txt without them (which no command can
        // tokenise with either) is copied as it is, without one.
        BertTextTokenizer? tokenizer;
        try { tokenizer = new BertTextTokenizer(Path.Combine(tokenizerDir, VocabFile), settings); }
        catch (DistilException e) when (e.ExitCode == ExitCodes.InvalidInput) { tokenizer = null; }
        var config = File.Exists(configPath) && JsonNode.Parse(File.ReadAllText(configPath)) is JsonObject o ? o : new JsonObject();
        if (config["tokenizer_class"]?.GetValue<string>() is not string cls || !cls.StartsWith(BertTokenizerClass, StringComparison.Ordinal))
            config["tokenizer_class"] = BertTokenizerClass; // our text goes through WordPiece on vocab.txt, whatever the source said
        config["do_lower_case"] = settings.LowerCase;
        config["strip_accents"] = settings.StripAccents is bool s ? JsonValue.Create(s) : null;
        config["tokenize_chinese_chars"] = settings.TokenizeChineseChars;
        var specials = new Dictionary<string, string>
        {
            ["unk_token"] = BertTextTokenizer.UnkToken, ["sep_token"] = BertTextTokenizer.SepToken, ["pad_token"] = BertTextTokenizer.PadToken,
            ["cls_token"] = BertTextTokenizer.ClsToken, ["mask_token"] = BertTextTokenizer.MaskToken,
        };
        foreach (var (key, token) in specials) config[key] ??= token;
        byte[] special = File.Exists(specialPath) ? File.ReadAllBytes(specialPath) : Json(specials);
        var list = new List<(string, byte[])>
        {
            (VocabFile, File.ReadAllBytes(Path.Combine(tokenizerDir, VocabFile))),
            (ConfigFile, Encoding.UTF8.GetBytes(config.ToJsonString(Indented))),
            (SpecialTokensFile, special),
        };
        if (tokenizer != null) list.Add((TokenizerJsonFile, Encoding.UTF8.GetBytes(TokenizerJsonWriter.ToText(tokenizer.ToTokenizerJson()))));
        return new TokenizerFiles(list);
    }

    static TokenizerFiles Copied(string tokenizerDir, TextTokenizer tokenizer)
    {
        var list = CopiedAsIs.Where(n => File.Exists(Path.Combine(tokenizerDir, n))).Select(n => (n, File.ReadAllBytes(Path.Combine(tokenizerDir, n)))).ToList();
        bool Has(string name) => list.Any(f => f.n == name);
        if (!Has(TokenizerJsonFile) && tokenizer.ToTokenizerJson() is { } json)
            list.Add((TokenizerJsonFile, Encoding.UTF8.GetBytes(TokenizerJsonWriter.ToText(json))));
        bool roberta = tokenizer.Template.Pair.Count(t => t.SpecialId >= 0) == 4; // <s> a </s></s> b </s>
        var specials = new Dictionary<string, string>();
        void Put(string key, int id) { if (id >= 0 && tokenizer.IdToToken(id) is string t) specials[key] = t; }
        if (roberta) { Put("bos_token", tokenizer.Cls); Put("eos_token", tokenizer.Sep); }
        Put("cls_token", tokenizer.Cls); Put("sep_token", tokenizer.Sep); Put("pad_token", tokenizer.Pad); Put("unk_token", tokenizer.Unk); Put("mask_token", tokenizer.Mask);
        if (!Has(SpecialTokensFile)) list.Add((SpecialTokensFile, Json(specials)));
        if (!Has(ConfigFile))
        {
            // The slow tokenizer class of the files we keep, so AutoTokenizer reads them even without tokenizer.json.
            string? cls = File.Exists(Path.Combine(tokenizerDir, TokenizerFolder.VocabJsonFile)) ? "RobertaTokenizer"
                : File.Exists(Path.Combine(tokenizerDir, TokenizerFolder.XlmrSpmFile)) ? "XLMRobertaTokenizer"
                : File.Exists(Path.Combine(tokenizerDir, TokenizerFolder.DebertaSpmFile)) ? "DebertaV2Tokenizer" : null;
            var config = new JsonObject();
            if (cls != null) config["tokenizer_class"] = cls;
            foreach (var (k, v) in specials) config[k] = v;
            list.Add((ConfigFile, Encoding.UTF8.GetBytes(config.ToJsonString(Indented))));
        }
        return new TokenizerFiles(list);
    }

    /// <summary>Writes the files into <paramref name="dir"/> (a folder being built by <see cref="AtomicFolder"/>).</summary>
    public void WriteInto(string dir, Action<string, byte[]> write)
    {
        foreach (var (name, bytes) in files) write(Path.Combine(dir, name), bytes);
    }

    static byte[] Json(Dictionary<string, string> map) => Encoding.UTF8.GetBytes(JsonSerializer.Serialize(map, Indented));

    static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };
}
