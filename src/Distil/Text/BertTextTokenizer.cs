using System.Text;
using Microsoft.ML.Tokenizers;

namespace Distil.Text;

/// <summary>
/// BERT WordPiece tokenizer with Hugging Face's behaviour. Normalisation and word splitting are our port of HF's
/// BasicTokenizer (the library's drops symbols and deletes \t \n); WordPiece and Decode are Microsoft.ML.Tokenizers'
/// <see cref="BertTokenizer"/>. Accents are stripped for uncased vocabularies; truncation is HF "longest_first".
/// </summary>
public sealed class BertTextTokenizer : TextTokenizer
{
    public const int MaxInputCharsPerWord = 100;
    public const string ClsToken = "[CLS]", SepToken = "[SEP]", PadToken = "[PAD]", UnkToken = "[UNK]", MaskToken = "[MASK]";

    readonly BertTokenizer _inner;
    readonly string[] _vocab;
    readonly BasicTokenizer _basic;
    readonly (string Token, int Id)[] _specials;

    public TokenizerSettings Settings { get; }
    public string VocabPath { get; }
    public override string Source => VocabPath;
    public override int VocabSize => _vocab.Length;
    public override int Cls { get; }
    public override int Sep { get; }
    public override int Pad { get; }
    public override int Unk { get; }
    public override int Mask { get; }
    public override string ModelType => "WordPiece";

    /// <summary>From a model folder: vocab.txt and, if present, tokenizer_config.json.</summary>
    public static BertTextTokenizer FromFolder(string folder)
    {
        if (!Directory.Exists(folder)) throw DistilException.NotFound($"{folder}: model folder not found; pass a folder holding vocab.txt");
        var tokenizer = FromFiles(Path.Combine(folder, "vocab.txt"), Path.Combine(folder, "tokenizer_config.json"));
        CheckFitsModel(tokenizer, Path.Combine(folder, "config.json"));
        return tokenizer;
    }

    /// <summary>
    /// A vocab.txt longer than the model's embedding table would produce ids the model cannot look up (an index error
    /// deep in training); a shorter one is normal (tables are often padded), so only "longer" is refused.
    /// </summary>
    internal static void CheckFitsModel(TextTokenizer tokenizer, string configPath)
    {
        if (!File.Exists(configPath)) return;
        long? vocabSize = null;
        try
        {
            if (System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(configPath)) is System.Text.Json.Nodes.JsonObject o
                && o["vocab_size"] is System.Text.Json.Nodes.JsonValue v && v.TryGetValue(out long n)) vocabSize = n;
        }
        catch (System.Text.Json.JsonException) { return; } // config.json's own loader reports a malformed file, with its context
        if (vocabSize is long size && size > 0 && tokenizer.VocabSize > size)
            throw DistilException.BadInput($"{tokenizer.Source}: {tokenizer.VocabSize} tokens, but {configPath} has vocab_size {size}: ids past {size - 1} have no embedding; use the tokenizer files the model was trained with");
    }

    public static BertTextTokenizer FromFiles(string vocabPath, string? tokenizerConfigPath = null) =>
        new(vocabPath, tokenizerConfigPath == null ? new TokenizerSettings() : TokenizerSettings.Load(tokenizerConfigPath));

    public BertTextTokenizer(string vocabPath, TokenizerSettings settings)
        : this(File.Exists(vocabPath) ? ReadVocab(vocabPath) : throw DistilException.NotFound($"{vocabPath}: vocab.txt not found; a model folder needs the vocabulary its model was trained with"),
            settings, vocabPath)
    {
    }

    /// <summary>From a vocabulary in id order (e.g. tokenizer.json's WordPiece model); <paramref name="source"/> names it in errors.</summary>
    public BertTextTokenizer(string[] vocab, TokenizerSettings settings, string source)
    {
        string vocabPath = source;
        VocabPath = source;
        Settings = settings;
        _vocab = vocab;
        var index = new Dictionary<string, int>(_vocab.Length);
        for (int i = 0; i < _vocab.Length; i++) index[_vocab[i]] = i; // last duplicate wins, as in HF's dict
        int Require(string token) => index.TryGetValue(token, out var id) ? id
            : throw DistilException.BadInput($"{vocabPath}: the special token {token} is missing; a BERT vocab.txt needs [PAD] [UNK] [CLS] [SEP] (one per line)");
        Pad = Require(PadToken); Unk = Require(UnkToken); Cls = Require(ClsToken); Sep = Require(SepToken);
        Mask = index.TryGetValue(MaskToken, out var m) ? m : -1;
        _specials = new[] { ClsToken, SepToken, PadToken, UnkToken, MaskToken }.Where(index.ContainsKey).Select(t => (t, index[t])).ToArray();
        Template = PairTemplate.Bert(Cls, Sep);
        _basic = new BasicTokenizer(settings.LowerCase, settings.EffectiveStripAccents, settings.TokenizeChineseChars);

        // The vocab is handed over as LF text: we read it ourselves so CRLF files and trailing '\r' cannot leak into tokens.
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes(string.Join('\n', _vocab) + "\n"));
        _inner = BertTokenizer.Create(stream, new BertOptions
        {
            LowerCaseBeforeTokenization = settings.LowerCase,
            RemoveNonSpacingMarks = settings.EffectiveStripAccents, // library default is false: "Héllo" would be [UNK]
            IndividuallyTokenizeCjk = settings.TokenizeChineseChars,
            UnknownToken = UnkToken,
            MaskingToken = Mask >= 0 ? MaskToken : UnkToken,
        });
    }

    /// <summary>HF's BertConverter: BertNormalizer with our settings, BertPreTokenizer, WordPiece ("##", 100 chars), [CLS] a [SEP] b [SEP].</summary>
    public override System.Text.Json.Nodes.JsonObject ToTokenizerJson()
    {
        var added = new System.Text.Json.Nodes.JsonArray();
        foreach (var (token, id) in _specials.OrderBy(s => s.Id)) added.Add(TokenizerJsonWriter.Added(id, token));
        var vocab = new System.Text.Json.Nodes.JsonObject();
        for (int i = 0; i < _vocab.Length; i++) vocab[_vocab[i]] = i; // a repeated token keeps its last id, as HF's vocab dict
        var normalizer = new System.Text.Json.Nodes.JsonObject
        {
            ["type"] = "BertNormalizer", ["clean_text"] = true, ["handle_chinese_chars"] = Settings.TokenizeChineseChars,
            ["strip_accents"] = Settings.StripAccents, ["lowercase"] = Settings.LowerCase,
        };
        var model = new System.Text.Json.Nodes.JsonObject
        {
            ["type"] = "WordPiece", ["unk_token"] = UnkToken, ["continuing_subword_prefix"] = "##", ["max_input_chars_per_word"] = MaxInputCharsPerWord, ["vocab"] = vocab,
        };
        return TokenizerJsonWriter.File(added, normalizer, new System.Text.Json.Nodes.JsonObject { ["type"] = "BertPreTokenizer" },
            TokenizerJsonWriter.TemplateProcessing(Template, IdToToken),
            new System.Text.Json.Nodes.JsonObject { ["type"] = "WordPiece", ["prefix"] = "##", ["cleanup"] = true }, model);
    }

    static string[] ReadVocab(string path)
    {
        string text;
        try { text = File.ReadAllText(path, new UTF8Encoding(false, throwOnInvalidBytes: true)); }
        catch (DecoderFallbackException) { throw DistilException.BadInput($"{path}: not valid UTF-8; vocab.txt must be UTF-8 text, one token per line"); }
        var lines = text.Split('\n');
        int n = lines.Length;
        if (n > 0 && lines[n - 1].Length == 0) n--; // final newline
        var vocab = new string[n];
        for (int i = 0; i < n; i++) vocab[i] = lines[i].TrimEnd('\r');
        return vocab;
    }

    /// <summary>
    /// WordPiece tokens of one text, no added special tokens, no truncation. Special tokens written in the text
    /// ("[MASK]") map to their ids, as HF's added-token split does.
    /// </summary>
    public override List<TextToken> TokenizeWithOffsets(string text)
    {
        var tokens = new List<TextToken>();
        int start = 0;
        while (start <= text.Length)
        {
            var (at, token, id) = NextSpecial(text, start);
            foreach (var word in _basic.SplitWithOffsets(text[start..at]))
                AddWordPieces(word with { Start = word.Start + start, End = word.End + start }, tokens);
            if (token == null) break;
            tokens.Add(new TextToken(id, at, at + token.Length));
            start = at + token.Length;
        }
        return tokens;
    }

    void AddWordPieces(WordSpan word, List<TextToken> tokens)
    {
        // HF: a word longer than max_input_chars_per_word (100 code points) is [UNK].
        if (word.Text.Length > MaxInputCharsPerWord && word.Text.EnumerateRunes().Count() > MaxInputCharsPerWord)
        {
            tokens.Add(new TextToken(Unk, word.Start, word.End));
            return;
        }
        // The library only runs WordPiece here: our BasicTokenizer already did HF's normalisation and splitting.
        var ids = _inner.EncodeToIds(word.Text, addSpecialTokens: false, considerPreTokenization: false, considerNormalization: false);
        // Piece spans from the pieces' text ("##" dropped); if they do not add up to the word, each gets the word's span.
        bool exact = word.End - word.Start == word.Text.Length;
        int at = word.Start;
        foreach (var id in ids)
        {
            var piece = _vocab[id];
            int len = id == Unk ? word.Text.Length : piece.StartsWith("##", StringComparison.Ordinal) && at > word.Start ? piece.Length - 2 : piece.Length;
            if (exact && at + len <= word.End) { tokens.Add(new TextToken(id, at, at + len)); at += len; }
            else tokens.Add(new TextToken(id, word.Start, word.End));
        }
    }

    (int At, string? Token, int Id) NextSpecial(string text, int start)
    {
        (int, string?, int) best = (text.Length, null, -1);
        foreach (var (token, id) in _specials)
        {
            int i = text.IndexOf(token, start, StringComparison.Ordinal);
            if (i >= 0 && i < best.Item1) best = (i, token, id);
        }
        return best;
    }

    public override string? IdToToken(int id) => id >= 0 && id < _vocab.Length ? _vocab[id] : null;

    /// <summary>Text of these ids, special tokens skipped, "##" pieces joined.</summary>
    public override string Decode(IEnumerable<long> ids) => _inner.Decode(ids.Select(i => checked((int)i)), skipSpecialTokens: true) ?? "";
}
