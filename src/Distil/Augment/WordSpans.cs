using System.Text;
using Distil.Text;

namespace Distil.Augment;

/// <summary>A word of a text: where it is in the original string (so a replacement keeps everything around it).</summary>
public readonly record struct WordSpan(int Start, int Length)
{
    public int End => Start + Length;
    public string Of(string text) => text.Substring(Start, Length);
}

/// <summary>
/// The words of a text with the boundaries of HF's BasicTokenizer (whitespace, then every punctuation character is a
/// word of its own, CJK ideographs too), as spans of the ORIGINAL string. TinyBERT re-joins basic-tokenized words with
/// spaces, which lower-cases and re-spaces every augmented sentence; keeping spans instead means an unchanged word stays
/// byte-identical and the augmented file reads like the data.
/// </summary>
public static class WordSpans
{
    public static IReadOnlyList<WordSpan> Split(string text)
    {
        var spans = new List<WordSpan>();
        int start = -1;
        int i = 0;
        while (i < text.Length)
        {
            var r = Rune.GetRuneAt(text, i);
            int n = r.Utf16SequenceLength;
            bool separate = BasicTokenizer.IsPunctuation(r) || IsCjk(r.Value);
            if (IsSpace(r) || separate)
            {
                if (start >= 0) { spans.Add(new WordSpan(start, i - start)); start = -1; }
                if (separate) spans.Add(new WordSpan(i, n));
            }
            else if (start < 0) start = i;
            i += n;
        }
        if (start >= 0) spans.Add(new WordSpan(start, text.Length - start));
        return spans;
    }

    /// <summary>The text with some words replaced (index -> new word); spans must come from <see cref="Split"/> of this text.</summary>
    public static string Replace(string text, IReadOnlyList<WordSpan> spans, IReadOnlyDictionary<int, string> replacements)
    {
        if (replacements.Count == 0) return text;
        var sb = new StringBuilder(text.Length + 16);
        int at = 0;
        for (int w = 0; w < spans.Count; w++)
        {
            if (!replacements.TryGetValue(w, out var word)) continue;
            sb.Append(text, at, spans[w].Start - at).Append(word);
            at = spans[w].End;
        }
        return sb.Append(text, at, text.Length - at).ToString();
    }

    // HF _is_whitespace (\t \n \r count). Other control and format characters stay inside the word: the tokenizer drops them.
    static bool IsSpace(Rune r) => Rune.IsWhiteSpace(r);

    static bool IsCjk(int c) =>
        c is >= 0x4E00 and <= 0x9FFF or >= 0x3400 and <= 0x4DBF or >= 0x20000 and <= 0x2A6DF or >= 0x2A700 and <= 0x2B73F
            or >= 0x2B740 and <= 0x2B81F or >= 0x2B820 and <= 0x2CEAF or >= 0xF900 and <= 0xFAFF or >= 0x2F800 and <= 0x2FA1F;
}
