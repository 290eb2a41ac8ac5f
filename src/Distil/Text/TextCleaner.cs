using System.Globalization;
using System.Text;

namespace Distil.Text;

/// <summary>
/// Maps whitespace the way HF's BasicTokenizer does before Microsoft.ML.Tokenizers sees the text: HF treats
/// \t \n \r and Unicode space separators (Zs) as word breaks, but the library deletes control characters, so
/// "stop\tme" would become "stopme". Replacing them by ' ' restores HF's result.
/// </summary>
public static class TextCleaner
{
    public static string WhitespaceToSpace(string text)
    {
        int i = 0;
        while (i < text.Length && (text[i] == ' ' || !IsHfWhitespace(text[i]))) i++;
        if (i == text.Length) return text; // common case: nothing to replace, no allocation
        var sb = new StringBuilder(text);
        for (; i < sb.Length; i++)
            if (IsHfWhitespace(sb[i])) sb[i] = ' ';
        return sb.ToString();
    }

    /// <summary>HF <c>_is_whitespace</c>: space, \t, \n, \r, or category Zs.</summary>
    static bool IsHfWhitespace(char c) =>
        c is ' ' or '\t' or '\n' or '\r' || CharUnicodeInfo.GetUnicodeCategory(c) == UnicodeCategory.SpaceSeparator;
}
