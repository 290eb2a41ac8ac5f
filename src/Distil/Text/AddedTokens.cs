namespace Distil.Text;

/// <summary>A token matched in the raw text before the model runs (HF added_tokens); lstrip/rstrip eat the spaces around it.</summary>
public sealed record AddedToken(string Content, int Id, bool LStrip = false, bool RStrip = false, bool Special = true);

/// <summary>HF's added-token split: the text cut around occurrences of added tokens (leftmost, then longest, match).</summary>
public static class AddedTokens
{
    /// <summary>Segments of <paramref name="text"/>: (start, end, token) with token null for ordinary text.</summary>
    public static List<(int Start, int End, AddedToken? Token)> Split(string text, IReadOnlyList<AddedToken> added)
    {
        var parts = new List<(int, int, AddedToken?)>();
        int start = 0;
        while (true)
        {
            int best = -1;
            AddedToken? token = null;
            foreach (var t in added)
            {
                if (t.Content.Length == 0) continue;
                int i = text.IndexOf(t.Content, start, StringComparison.Ordinal);
                if (i >= 0 && (best < 0 || i < best || (i == best && t.Content.Length > token!.Content.Length))) { best = i; token = t; }
            }
            if (token == null) { parts.Add((start, text.Length, null)); return parts; }
            int textEnd = best, next = best + token.Content.Length;
            if (token.LStrip) while (textEnd > start && char.IsWhiteSpace(text[textEnd - 1])) textEnd--;
            if (token.RStrip) while (next < text.Length && char.IsWhiteSpace(text[next])) next++;
            if (textEnd > start) parts.Add((start, textEnd, null));
            parts.Add((best, best + token.Content.Length, token));
            start = next;
        }
    }
}
