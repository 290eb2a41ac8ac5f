using System.Globalization;
using System.Text;

namespace Distil.Text;

/// <summary>
/// HF BasicTokenizer's <c>_clean_text</c>, applied before Microsoft.ML.Tokenizers sees the text, because the library
/// differs on two points: it deletes \t \n \r ("stop\tme" -> "stopme", HF: two words), and it splits words at
/// format characters such as U+200B (HF deletes them: "mo\u200Bvie" -> "movie").
/// </summary>
public static class TextCleaner
{
    /// <summary>Whitespace (HF <c>_is_whitespace</c>) -> ' '; U+0000, U+FFFD and other characters of category C* removed.</summary>
    public static string Clean(string text)
    {
        int i = 0;
        while (i < text.Length && text[i] >= ' ' && text[i] < 0x7F) i++; // ASCII printable: nothing to do
        if (i == text.Length) return text;
        var sb = new StringBuilder(text.Length);
        sb.Append(text, 0, i);
        foreach (var r in text.AsSpan(i).EnumerateRunes())
        {
            if (IsWhitespace(r)) sb.Append(' ');
            else if (!IsDropped(r)) sb.Append(r.ToString());
        }
        return sb.ToString();
    }

    /// <summary>HF <c>_is_whitespace</c>: space, \t, \n, \r, or category Zs.</summary>
    public static bool IsWhitespace(Rune r) =>
        r.Value is ' ' or '\t' or '\n' or '\r' || Rune.GetUnicodeCategory(r) == UnicodeCategory.SpaceSeparator;

    /// <summary>HF drops \0, U+FFFD and <c>_is_control</c> (category starting with "C"); invalid UTF-16 arrives as U+FFFD.</summary>
    public static bool IsDropped(Rune r) =>
        r.Value is 0 or 0xFFFD || Rune.GetUnicodeCategory(r) is UnicodeCategory.Control or UnicodeCategory.Format
            or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned or UnicodeCategory.Surrogate;
}
