using System.Text;
using Microsoft.ML.Tokenizers;

namespace Distil.Text;

/// <summary>
/// BERT WordPiece tokenizer with Hugging Face's behaviour. Normalisation and word splitting are our port of HF's
/// BasicTokenizer (the library's drops symbols and deletes \t \n); WordPiece and Decode are Microsoft.ML.Tokenizers'
/// <see cref="BertTokenizer"/>. Accents are stripped for uncased vocabularies; truncation is HF "longest_first".
/// </summary>
public sealed class BertTextTokenizer
{
    public const int MaxInputCharsPerWord = 100;
    public const string ClsToken = "[CLS]", SepToken = "[SEP]", PadToken = "[PAD]", UnkToken = "[UNK]", MaskToken = "[MASK]";

    readonly BertTokenizer _inner;
    readonly string[] _vocab;
    readonly BasicTokenizer _basic;
    readonly (string Token, int Id)[] _specials;

    public TokenizerSettings Settings { get; }
    public string VocabPath { get; }
    public int VocabSize => _vocab.Length;
    public int Cls { get; }
    public int Sep { get; }
    public int Pad { get; }
    public int Unk { get; }
    /// <summary>-1 if the vocabulary has no [MASK] (only needed for MLM).</summary>
    public int Mask { get; }

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
    static void CheckFitsModel(BertTextTokenizer tokenizer, string configPath)
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
            throw DistilException.BadInput($"{tokenizer.VocabPath}: {tokenizer.VocabSize} tokens, but {configPath} has vocab_size {size}: ids past {size - 1} have no embedding; use the vocab.txt the model was trained with");
    }

    public static BertTextTokenizer FromFiles(string vocabPath, string? tokenizerConfigPath = null) =>
        new(vocabPath, tokenizerConfigPath == null ? new TokenizerSettings() : TokenizerSettings.Load(tokenizerConfigPath));

    public BertTextTokenizer(string vocabPath, TokenizerSettings settings)
    {
        if (!File.Exists(vocabPath)) throw DistilException.NotFound($"{vocabPath}: vocab.txt not found; a model folder needs the vocabulary its model was trained with");
        VocabPath = vocabPath;
        Settings = settings;
        _vocab = ReadVocab(vocabPath);
        var index = new Dictionary<string, int>(_vocab.Length);
        for (int i = 0; i < _vocab.Length; i++) index[_vocab[i]] = i; // last duplicate wins, as in HF's dict
        int Require(string token) => index.TryGetValue(token, out var id) ? id
            : throw DistilException.BadInput($"{vocabPath}: the special token {token} is missing; a BERT vocab.txt needs [PAD] [UNK] [CLS] [SEP] (one per line)");
        Pad = Require(PadToken); Unk = Require(UnkToken); Cls = Require(ClsToken); Sep = Require(SepToken);
        Mask = index.TryGetValue(MaskToken, out var m) ? m : -1;
        _specials = new[] { ClsToken, SepToken, PadToken, UnkToken, MaskToken }.Where(index.ContainsKey).Select(t => (t, index[t])).ToArray();
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
    /// WordPiece ids of one text, no added special tokens, no truncation. Special tokens written in the text
    /// ("[MASK]") map to their ids, as HF's added-token split does.
    /// </summary>
    public List<int> Tokenize(string text)
    {
        var ids = new List<int>();
        int start = 0;
        while (start <= text.Length)
        {
            var (at, token, id) = NextSpecial(text, start);
            foreach (var word in _basic.Split(text[start..at]))
            {
                // HF: a word longer than max_input_chars_per_word (100 code points) is [UNK].
                if (word.Length > MaxInputCharsPerWord && word.EnumerateRunes().Count() > MaxInputCharsPerWord) { ids.Add(Unk); continue; }
                // The library only runs WordPiece here: our BasicTokenizer already did HF's normalisation and splitting.
                ids.AddRange(_inner.EncodeToIds(word, addSpecialTokens: false, considerPreTokenization: false, considerNormalization: false));
            }
            if (token == null) break;
            ids.Add(id);
            start = at + token.Length;
        }
        return ids;
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

    /// <summary>
    /// Encodes a text or a text pair with special tokens, truncated HF "longest_first" so that the result has at most
    /// <paramref name="maxSeqLen"/> tokens. maxSeqLen must leave room for the special tokens and one token: 3 (single), 4 (pair).
    /// </summary>
    public TokenizedInput Encode(string text, string? pair, int maxSeqLen)
    {
        int specials = pair == null ? 2 : 3;
        if (maxSeqLen < specials + 1)
            throw DistilException.Usage($"max_seq_len {maxSeqLen} is too small: a {(pair == null ? "single text" : "text pair")} needs at least {specials + 1} ({specials} special tokens + 1); use e.g. 128");
        var a = Tokenize(text);
        var b = pair == null ? null : Tokenize(pair);
        Truncation.LongestFirst(a, b, maxSeqLen - specials);

        int total = a.Count + (b?.Count ?? 0) + specials;
        var ids = new long[total];
        var types = new long[total];
        int k = 0;
        ids[k++] = Cls;
        foreach (var id in a) ids[k++] = id;
        ids[k++] = Sep;
        if (b != null)
        {
            int start = k;
            foreach (var id in b) ids[k++] = id;
            ids[k++] = Sep;
            Array.Fill(types, 1L, start, k - start);
        }
        return new TokenizedInput(ids, types);
    }

    /// <summary>The vocabulary entries of these ids (for inspection); out-of-range ids throw.</summary>
    public string[] Tokens(IEnumerable<long> ids) => ids.Select(id =>
        id >= 0 && id < _vocab.Length ? _vocab[id] : throw new ArgumentOutOfRangeException(nameof(ids), $"token id {id} is outside the vocabulary (0..{_vocab.Length - 1})")).ToArray();

    /// <summary>Text of these ids, special tokens skipped, "##" pieces joined.</summary>
    public string Decode(IEnumerable<long> ids) => _inner.Decode(ids.Select(i => checked((int)i)), skipSpecialTokens: true) ?? "";
}
