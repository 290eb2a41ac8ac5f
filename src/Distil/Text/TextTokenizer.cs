namespace Distil.Text;

/// <summary>One token of a text: its id and the span [Start, End) of the original text it covers.</summary>
public readonly record struct TextToken(int Id, int Start, int End);

/// <summary>
/// What every tokenizer family (WordPiece, byte-level BPE, SentencePiece Unigram/BPE) offers the rest of Distil:
/// ids with character offsets, the family's single/pair template, HF "longest_first" truncation and the special ids.
/// <see cref="TokenizerFolder.Load"/> picks the implementation from a model folder's files.
/// </summary>
public abstract class TextTokenizer
{
    /// <summary>Number of ids the tokenizer can produce (added tokens included).</summary>
    public abstract int VocabSize { get; }
    /// <summary>First token of every input: [CLS] (BERT, DeBERTa) or &lt;s&gt; (RoBERTa, XLM-R).</summary>
    public abstract int Cls { get; }
    /// <summary>Separator / end of input: [SEP] or &lt;/s&gt;.</summary>
    public abstract int Sep { get; }
    public abstract int Pad { get; }
    public abstract int Unk { get; }
    /// <summary>-1 if the vocabulary has no mask token (only needed for MLM).</summary>
    public abstract int Mask { get; }
    /// <summary>How special tokens surround one text or a pair (tokenizer.json's post_processor may replace the family's).</summary>
    public PairTemplate Template { get; internal set; } = null!;
    /// <summary>The file the tokenizer was read from, for error messages.</summary>
    public abstract string Source { get; }
    /// <summary>"WordPiece", "BPE" or "Unigram": the model type as tokenizer.json names it.</summary>
    public abstract string ModelType { get; }

    /// <summary>Tokens of one text, no template, no truncation, with offsets into <paramref name="text"/>.</summary>
    public abstract List<TextToken> TokenizeWithOffsets(string text);

    /// <summary>The vocabulary entry of one id, or null if the id is outside the vocabulary.</summary>
    public abstract string? IdToToken(int id);

    /// <summary>Text of these ids, special tokens skipped.</summary>
    public abstract string Decode(IEnumerable<long> ids);

    /// <summary>
    /// This tokenizer as HF's tokenizer.json (<see cref="TokenizerJsonWriter"/>), so transformers' AutoTokenizer splits text
    /// as we do; null where we do not write one (SentencePiece BPE, whose HF form needs merges SentencePiece does not store).
    /// </summary>
    public virtual System.Text.Json.Nodes.JsonObject? ToTokenizerJson() => null;

    /// <summary>Ids of one text, no template, no truncation.</summary>
    public virtual List<int> Tokenize(string text)
    {
        var tokens = TokenizeWithOffsets(text);
        var ids = new List<int>(tokens.Count);
        foreach (var t in tokens) ids.Add(t.Id);
        return ids;
    }

    /// <summary>The vocabulary entries of these ids (for inspection); out-of-range ids throw.</summary>
    public string[] Tokens(IEnumerable<long> ids) => ids.Select(id =>
        (id >= 0 && id < int.MaxValue ? IdToToken((int)id) : null)
            ?? throw new ArgumentOutOfRangeException(nameof(ids), $"token id {id} is outside the vocabulary (0..{VocabSize - 1})")).ToArray();

    /// <summary>
    /// Encodes a text or a text pair with the family's template, truncated HF "longest_first" so that the result has at
    /// most <paramref name="maxSeqLen"/> tokens. Offsets of special tokens are (0, 0) as in HF; offsets of the pair's
    /// tokens point into <paramref name="pair"/>.
    /// </summary>
    public TokenizedInput Encode(string text, string? pair, int maxSeqLen)
    {
        var template = pair == null ? Template.Single : Template.Pair;
        int specials = template.Count(t => t.SpecialId >= 0);
        if (maxSeqLen < specials + 1)
            throw DistilException.Usage($"max_seq_len {maxSeqLen} is too small: a {(pair == null ? "single text" : "text pair")} needs at least {specials + 1} ({specials} special tokens + 1); use e.g. 128");
        var a = TokenizeWithOffsets(text);
        var b = pair == null ? null : TokenizeWithOffsets(pair);
        Truncation.LongestFirst(a, b, maxSeqLen - specials);

        int total = a.Count + (b?.Count ?? 0) + specials;
        var ids = new long[total];
        var types = new long[total];
        var offsets = new (int Start, int End)[total];
        var sequence = new int[total];
        int k = 0;
        foreach (var item in template)
        {
            if (item.SpecialId >= 0) { types[k] = item.TypeId; sequence[k] = -1; ids[k++] = item.SpecialId; continue; }
            foreach (var t in item.Sequence == 0 ? a : b!)
            {
                types[k] = item.TypeId; sequence[k] = item.Sequence; offsets[k] = (t.Start, t.End);
                ids[k++] = t.Id;
            }
        }
        return new TokenizedInput(ids, types) { Offsets = offsets, SequenceIds = sequence };
    }
}
