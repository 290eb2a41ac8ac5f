using Distil.Text;

namespace Distil.Augment;

/// <summary>
/// The tokenizer's vocabulary as strings, and which entries may replace a word: whole words (not "##" continuations,
/// not "[CLS]"-style special or "[unused]" entries) with at least one letter (a sentiment word must not become ",").
/// </summary>
public sealed class VocabularyInfo
{
    public IReadOnlyList<string> Tokens { get; }
    readonly bool[] replacement;

    public VocabularyInfo(IReadOnlyList<string> tokens)
    {
        Tokens = tokens;
        replacement = tokens.Select(IsWholeWord).ToArray();
    }

    public static VocabularyInfo From(BertTextTokenizer tokenizer) =>
        new(tokenizer.Tokens(Enumerable.Range(0, tokenizer.VocabSize).Select(i => (long)i)));

    public int Count => Tokens.Count;

    /// <summary>True when vocabulary entry <paramref name="id"/> can stand in for a word.</summary>
    public bool IsReplacement(int id) => id >= 0 && id < replacement.Length && replacement[id];

    static bool IsWholeWord(string token) =>
        token.Length > 0 && !token.StartsWith("##", StringComparison.Ordinal)
        && !(token.StartsWith('[') && token.EndsWith(']') && token.Length > 2)
        && token.Any(char.IsLetter);
}
