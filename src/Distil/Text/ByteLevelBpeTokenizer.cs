using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Distil.Text;

/// <summary>
/// Byte-level BPE as GPT-2 and RoBERTa (HF ByteLevel pre-tokenizer + BPE model): the GPT-2 regex splits the text,
/// each piece's UTF-8 bytes are written with GPT-2's byte-to-unicode alphabet, then merged by rank. Our own code, not
/// Microsoft.ML.Tokenizers' BPE: we need HF's added-token lstrip/rstrip, add_prefix_space, trim_offsets and character
/// offsets, and the check against HF's Rust tokenizers (docs/tokenizers.md) measures the result.
/// </summary>
public sealed partial class ByteLevelBpeTokenizer : TextTokenizer
{
    // GPT-2's pattern. .NET's \p{L} sees UTF-16 units, so letters outside the BMP (rare) fall in the symbol class.
    [GeneratedRegex(@"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+")]
    private static partial Regex Gpt2Split();

    static readonly char[] ByteToChar = BuildByteToChar();
    static readonly Dictionary<char, byte> CharToByte = Enumerable.Range(0, 256).ToDictionary(b => ByteToChar[b], b => (byte)b);

    readonly Dictionary<string, int> _vocab;
    readonly string[] _idToToken;
    readonly Dictionary<(string, string), int> _ranks;
    readonly List<AddedToken> _added;
    readonly HashSet<int> _specialIds;
    readonly Dictionary<string, string[]> _cache = new();
    readonly bool _addPrefixSpace, _trimOffsets;

    public override int VocabSize => _idToToken.Length;
    public override int Cls { get; }
    public override int Sep { get; }
    public override int Pad { get; }
    public override int Unk { get; }
    public override int Mask { get; }
    public override string ModelType => "BPE";
    public override string Source { get; }

    /// <summary>The special tokens by role (HF names: bos, eos, pad, unk, mask; cls/sep default to bos/eos).</summary>
    public sealed record Specials(string Bos = "<s>", string Eos = "</s>", string Pad = "<pad>", string Unk = "<unk>", string Mask = "<mask>");

    public ByteLevelBpeTokenizer(Dictionary<string, int> vocab, IEnumerable<(string A, string B)> merges, IEnumerable<AddedToken> added,
        Specials specials, bool addPrefixSpace, bool trimOffsets, string source)
    {
        Source = source;
        _vocab = vocab;
        _added = added.ToList();
        int size = Math.Max(vocab.Count == 0 ? 0 : vocab.Values.Max() + 1, _added.Count == 0 ? 0 : _added.Max(a => a.Id) + 1);
        _idToToken = new string[size];
        foreach (var (t, id) in vocab) _idToToken[id] = t;
        foreach (var a in _added) { _idToToken[a.Id] ??= a.Content; _vocab.TryAdd(a.Content, a.Id); }
        _ranks = new();
        int rank = 0;
        foreach (var m in merges) _ranks.TryAdd(m, rank++);
        _addPrefixSpace = addPrefixSpace;
        _trimOffsets = trimOffsets;
        int Id(string token, bool required) => _vocab.TryGetValue(token, out var id) ? id
            : required ? throw DistilException.BadInput($"{source}: the special token {token} is not in the vocabulary; a RoBERTa-style BPE vocabulary needs <s> </s> <pad> <unk>") : -1;
        Cls = Id(specials.Bos, true); Sep = Id(specials.Eos, true); Pad = Id(specials.Pad, false); Unk = Id(specials.Unk, false); Mask = Id(specials.Mask, false);
        if (Pad < 0) Pad = Sep;
        foreach (var (token, id) in new[] { (specials.Bos, Cls), (specials.Eos, Sep), (specials.Pad, Pad), (specials.Unk, Unk), (specials.Mask, Mask) })
            if (id >= 0 && !_added.Any(a => a.Id == id)) _added.Add(new AddedToken(token, id, LStrip: token == specials.Mask));
        _specialIds = _added.Where(a => a.Special).Select(a => a.Id).ToHashSet();
        Template = PairTemplate.Roberta(Cls, Sep);
    }

    /// <summary>RoBERTa's older files: vocab.json (token -> id), merges.txt ("#version" line, then "a b" per line).</summary>
    public static ByteLevelBpeTokenizer FromFiles(string vocabJson, string mergesTxt, string? tokenizerConfig = null)
    {
        Dictionary<string, int> vocab;
        try { vocab = JsonSerializer.Deserialize<Dictionary<string, int>>(File.ReadAllText(vocabJson)) ?? throw new JsonException("null"); }
        catch (JsonException e) { throw DistilException.BadInput($"{vocabJson}: not a JSON object of token -> id ({e.Message}); use the vocab.json saved with the model"); }
        var merges = ReadMerges(mergesTxt);
        var config = TokenizerConfig.Load(tokenizerConfig);
        var specials = new Specials(config.Token("bos_token") ?? "<s>", config.Token("eos_token") ?? "</s>", config.Token("pad_token") ?? "<pad>",
            config.Token("unk_token") ?? "<unk>", config.Token("mask_token") ?? "<mask>");
        return new ByteLevelBpeTokenizer(vocab, merges, [], specials, config.Flag("add_prefix_space") ?? false, config.Flag("trim_offsets") ?? true, vocabJson);
    }

    static List<(string, string)> ReadMerges(string path)
    {
        var merges = new List<(string, string)>();
        int lineNo = 0;
        foreach (var raw in File.ReadLines(path))
        {
            lineNo++;
            var line = raw.TrimEnd('\r');
            if (line.Length == 0 || (lineNo == 1 && line.StartsWith("#version", StringComparison.Ordinal))) continue;
            int sp = line.IndexOf(' ');
            if (sp <= 0 || sp == line.Length - 1 || line.IndexOf(' ', sp + 1) >= 0)
                throw DistilException.BadInput($"{path}:{lineNo}: a merge is two tokens separated by one space, got \"{line}\"");
            merges.Add((line[..sp], line[(sp + 1)..]));
        }
        return merges;
    }

    public override List<TextToken> TokenizeWithOffsets(string text)
    {
        var tokens = new List<TextToken>();
        foreach (var (start, end, token) in AddedTokens.Split(text, _added))
        {
            if (token != null) { tokens.Add(new TextToken(token.Id, start, end)); continue; }
            // As HF's ByteLevel pre-tokenizer: every non-empty stretch of text between added tokens gets the prefix space.
            if (end > start) EncodeSegment(text, start, end, tokens, prefix: _addPrefixSpace);
        }
        return tokens;
    }

    void EncodeSegment(string text, int start, int end, List<TextToken> tokens, bool prefix)
    {
        string segment = text[start..end];
        int shift = 0;
        if (prefix && !segment.StartsWith(' ')) { segment = " " + segment; shift = 1; }
        foreach (Match m in Gpt2Split().Matches(segment))
        {
            // char index of each UTF-8 byte of the piece, for offsets
            var bytes = Encoding.UTF8.GetBytes(m.Value);
            var byteChar = new int[bytes.Length + 1];
            int b = 0;
            for (int c = 0; c < m.Value.Length; c++)
            {
                int n = char.IsHighSurrogate(m.Value[c]) && c + 1 < m.Value.Length ? 4 : Encoding.UTF8.GetByteCount(m.Value.AsSpan(c, 1));
                for (int k = 0; k < n && b < bytes.Length; k++) byteChar[b++] = c;
                if (n == 4) c++;
            }
            byteChar[bytes.Length] = m.Value.Length;
            var sb = new StringBuilder(bytes.Length);
            foreach (var x in bytes) sb.Append(ByteToChar[x]);
            int at = 0;
            foreach (var piece in Bpe(sb.ToString()))
            {
                int s = m.Index + byteChar[at], e = m.Index + (at + piece.Length >= bytes.Length ? m.Value.Length : byteChar[at + piece.Length]);
                at += piece.Length;
                int os = Math.Max(start + s - shift, start), oe = Math.Max(start + e - shift, start);
                if (_trimOffsets) while (os < oe && char.IsWhiteSpace(text[os])) os++;
                int id = _vocab.TryGetValue(piece, out var v) ? v : Unk;
                if (id >= 0) tokens.Add(new TextToken(id, os, oe));
            }
        }
    }

    string[] Bpe(string word)
    {
        if (_cache.TryGetValue(word, out var cached)) return cached;
        var parts = new List<string>(word.Length);
        foreach (var c in word) parts.Add(c.ToString());
        while (parts.Count > 1)
        {
            int best = -1, bestRank = int.MaxValue;
            for (int i = 0; i + 1 < parts.Count; i++)
                if (_ranks.TryGetValue((parts[i], parts[i + 1]), out var r) && r < bestRank) { bestRank = r; best = i; }
            if (best < 0) break;
            var (a, bb) = (parts[best], parts[best + 1]);
            // merge every occurrence of this pair, left to right, as HF's word.merge_all does for one rank
            var merged = new List<string>(parts.Count);
            for (int i = 0; i < parts.Count; i++)
            {
                if (i + 1 < parts.Count && parts[i] == a && parts[i + 1] == bb) { merged.Add(a + bb); i++; }
                else merged.Add(parts[i]);
            }
            parts = merged;
        }
        var result = parts.ToArray();
        if (_cache.Count < 100_000) _cache[word] = result;
        return result;
    }

    public override string? IdToToken(int id) => id >= 0 && id < _idToToken.Length ? _idToToken[id] : null;

    public override string Decode(IEnumerable<long> ids)
    {
        var bytes = new List<byte>();
        var sb = new StringBuilder();
        void FlushBytes() { sb.Append(Encoding.UTF8.GetString(bytes.ToArray())); bytes.Clear(); }
        foreach (var l in ids)
        {
            int id = checked((int)l);
            if (_specialIds.Contains(id)) continue;
            var token = IdToToken(id) ?? throw new ArgumentOutOfRangeException(nameof(ids), $"token id {id} is outside the vocabulary (0..{VocabSize - 1})");
            if (_added.Any(a => a.Id == id)) { FlushBytes(); sb.Append(token); continue; }
            foreach (var c in token) if (CharToByte.TryGetValue(c, out var x)) bytes.Add(x);
        }
        FlushBytes();
        return sb.ToString();
    }

    /// <summary>HF's RobertaConverter: ByteLevel pre-tokenizer, BPE with our merges by rank, RobertaProcessing, ByteLevel decoder.</summary>
    public override System.Text.Json.Nodes.JsonObject ToTokenizerJson()
    {
        var added = new System.Text.Json.Nodes.JsonArray();
        foreach (var a in _added.OrderBy(a => a.Id)) added.Add(TokenizerJsonWriter.Added(a.Id, a.Content, a.LStrip, a.Special));
        var vocab = new System.Text.Json.Nodes.JsonObject();
        foreach (var (token, id) in _vocab.OrderBy(kv => kv.Value)) vocab[token] = id;
        var merges = new System.Text.Json.Nodes.JsonArray();
        foreach (var ((a, b), _) in _ranks.OrderBy(kv => kv.Value)) merges.Add($"{a} {b}");
        System.Text.Json.Nodes.JsonObject ByteLevel() => new() { ["type"] = "ByteLevel", ["add_prefix_space"] = _addPrefixSpace, ["trim_offsets"] = _trimOffsets, ["use_regex"] = true };
        var post = new System.Text.Json.Nodes.JsonObject
        {
            ["type"] = "RobertaProcessing",
            ["sep"] = new System.Text.Json.Nodes.JsonArray(IdToToken(Sep), Sep), ["cls"] = new System.Text.Json.Nodes.JsonArray(IdToToken(Cls), Cls),
            ["trim_offsets"] = _trimOffsets, ["add_prefix_space"] = _addPrefixSpace,
        };
        var model = new System.Text.Json.Nodes.JsonObject
        {
            ["type"] = "BPE", ["dropout"] = null, ["unk_token"] = null, ["continuing_subword_prefix"] = "", ["end_of_word_suffix"] = "",
            ["fuse_unk"] = false, ["byte_fallback"] = false, ["ignore_merges"] = false, ["vocab"] = vocab, ["merges"] = merges,
        };
        return TokenizerJsonWriter.File(added, null, ByteLevel(), post, ByteLevel(), model);
    }

    /// <summary>GPT-2's bytes_to_unicode: printable bytes stand for themselves, the others are shifted past U+0100.</summary>
    static char[] BuildByteToChar()
    {
        var map = new char[256];
        int n = 0;
        for (int b = 0; b < 256; b++)
        {
            bool printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            map[b] = printable ? (char)b : (char)(256 + n++);
        }
        return map;
    }
}
