using System.Globalization;
using System.Text;

namespace Distil.Text;

/// <summary>
/// Port of HF's <c>BasicTokenizer</c> (clean, CJK spacing, NFC, lower-case + strip accents, split on whitespace and
/// punctuation). We do this ourselves because Microsoft.ML.Tokenizers 2.0.1's pre-tokenizer silently drops symbol
/// characters that HF keeps: "$", "+", "=", "&lt;", "|", "~", "^", "`", "€", "£", "©", "°", emoji ("it costs $5" loses "$").
/// Only WordPiece itself is left to the library.
/// </summary>
public sealed class BasicTokenizer(bool lowerCase, bool stripAccents, bool tokenizeChineseChars)
{
    /// <summary>The words of <paramref name="text"/>, each to be split into WordPieces.</summary>
    public List<string> Split(string text)
    {
        text = TextCleaner.Clean(text);
        if (tokenizeChineseChars) text = SpaceCjk(text);
        text = text.Normalize(NormalizationForm.FormC); // HF normalises to NFC so composed and decomposed input agree
        var words = new List<string>();
        foreach (var raw in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            var w = raw;
            if (lowerCase) w = w.ToLowerInvariant();
            if (stripAccents) w = StripAccents(w);
            SplitOnPunctuation(w, words);
        }
        return words;
    }

    /// <summary>
    /// The same words as <see cref="Split"/>, each with its character span [Start, End) in <paramref name="text"/>.
    /// Where normalisation changed a word's length (NFC, accents, some lower-casings) each of its pieces gets the whole
    /// word's span, as exact character alignment is then lost.
    /// </summary>
    public List<WordSpan> SplitWithOffsets(string text)
    {
        var words = new List<WordSpan>();
        var chunk = new StringBuilder();
        var origin = new List<int>(); // original index of each UTF-16 unit in chunk
        int i = 0;
        while (i < text.Length)
        {
            Rune.DecodeFromUtf16(text.AsSpan(i), out var r, out int len);
            if (TextCleaner.IsWhitespace(r)) Flush(words, chunk, origin);
            else if (TextCleaner.IsDropped(r)) { }
            else if (tokenizeChineseChars && IsCjk(r.Value))
            {
                Flush(words, chunk, origin);
                Append(chunk, origin, text, i, len);
                Flush(words, chunk, origin);
            }
            else Append(chunk, origin, text, i, len);
            i += len;
        }
        Flush(words, chunk, origin);
        return words;
    }

    static void Append(StringBuilder chunk, List<int> origin, string text, int at, int len)
    {
        chunk.Append(text, at, len);
        for (int k = 0; k < len; k++) origin.Add(at + k);
    }

    void Flush(List<WordSpan> words, StringBuilder chunk, List<int> origin)
    {
        if (chunk.Length == 0) return;
        string raw = chunk.ToString();
        var w = raw.Normalize(NormalizationForm.FormC);
        if (lowerCase) w = w.ToLowerInvariant();
        if (stripAccents) w = StripAccents(w);
        bool aligned = w.Length == raw.Length;
        int wordStart = origin[0], wordEnd = origin[^1] + 1;
        var pieces = new List<string>();
        SplitOnPunctuation(w, pieces);
        int p = 0;
        foreach (var piece in pieces)
        {
            int q = p + piece.Length;
            words.Add(aligned ? new WordSpan(piece, origin[p], origin[q - 1] + 1) : new WordSpan(piece, wordStart, wordEnd));
            p = q;
        }
        chunk.Clear();
        origin.Clear();
    }

    static string StripAccents(string word)
    {
        var nfd = word.Normalize(NormalizationForm.FormD);
        var sb = new StringBuilder(nfd.Length);
        foreach (var r in nfd.EnumerateRunes())
            if (Rune.GetUnicodeCategory(r) != UnicodeCategory.NonSpacingMark) sb.Append(r.ToString());
        return sb.ToString();
    }

    static void SplitOnPunctuation(string word, List<string> words)
    {
        var current = new StringBuilder();
        foreach (var r in word.EnumerateRunes())
        {
            if (IsPunctuation(r))
            {
                if (current.Length > 0) { words.Add(current.ToString()); current.Clear(); }
                words.Add(r.ToString());
            }
            else current.Append(r.ToString());
        }
        if (current.Length > 0) words.Add(current.ToString());
    }

    /// <summary>HF <c>_is_punctuation</c>: all non-alphanumeric printable ASCII (so "$", "+", "^" count), or category P*.</summary>
    public static bool IsPunctuation(Rune r)
    {
        int c = r.Value;
        if (c is >= 33 and <= 47 or >= 58 and <= 64 or >= 91 and <= 96 or >= 123 and <= 126) return true;
        return Rune.GetUnicodeCategory(r) is UnicodeCategory.ConnectorPunctuation or UnicodeCategory.DashPunctuation
            or UnicodeCategory.OpenPunctuation or UnicodeCategory.ClosePunctuation or UnicodeCategory.InitialQuotePunctuation
            or UnicodeCategory.FinalQuotePunctuation or UnicodeCategory.OtherPunctuation;
    }

    /// <summary>HF <c>_tokenize_chinese_chars</c>: spaces around each CJK ideograph.</summary>
    static string SpaceCjk(string text)
    {
        bool any = false;
        foreach (var r in text.EnumerateRunes()) if (IsCjk(r.Value)) { any = true; break; }
        if (!any) return text;
        var sb = new StringBuilder(text.Length + 16);
        foreach (var r in text.EnumerateRunes())
        {
            if (IsCjk(r.Value)) sb.Append(' ').Append(r.ToString()).Append(' ');
            else sb.Append(r.ToString());
        }
        return sb.ToString();
    }

    static bool IsCjk(int c) =>
        c is >= 0x4E00 and <= 0x9FFF or >= 0x3400 and <= 0x4DBF or >= 0x20000 and <= 0x2A6DF or >= 0x2A700 and <= 0x2B73F
            or >= 0x2B740 and <= 0x2B81F or >= 0x2B820 and <= 0x2CEAF or >= 0xF900 and <= 0xFAFF or >= 0x2F800 and <= 0x2FA1F;
}

/// <summary>One word after BERT's basic splitting and the span [Start, End) of the original text it came from.</summary>
public readonly record struct WordSpan(string Text, int Start, int End);
