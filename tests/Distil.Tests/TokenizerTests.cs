using Distil.Text;
using Xunit;

namespace Distil.Tests;

/// <summary>Ids are line numbers (0-based) of the hand-written vocab below, so every expectation can be checked by eye.</summary>
public class TokenizerTests : IDisposable
{
    static readonly string[] Vocab =
    {
        "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", // 0-4
        "the", "movie", "was", "great", "un",         // 5-9
        "##believ", "##able", ",", ".", "hello",      // 10-14
        "world", "a", "b", "c", "d",                  // 15-19
        "e", "stop", "me", "now", "cafe",             // 20-24
        "$", "5", "+", "€", "\U0001F600",            // 25-29
    };

    readonly TempDir _dir = new();
    readonly BertTextTokenizer _tok;

    public TokenizerTests()
    {
        _dir.File("vocab.txt", string.Join("\n", Vocab) + "\n");
        _tok = BertTextTokenizer.FromFolder(_dir.Path);
    }

    public void Dispose() => _dir.Dispose();

    long[] Ids(string text) => _tok.Encode(text, null, 64).InputIds;

    [Fact]
    public void SpecialIdsAndVocabSizeComeFromTheVocab()
    {
        Assert.Equal((2, 3, 0, 4, 1), (_tok.Cls, _tok.Sep, _tok.Pad, _tok.Mask, _tok.Unk));
        Assert.Equal(30, _tok.VocabSize);
    }

    [Fact]
    public void LowerCasesByDefault() => Assert.Equal(new long[] { 2, 5, 6, 7, 8, 13, 3 }, Ids("The Movie was GREAT."));

    [Fact]
    public void StripsAccentsWhenUncased() => Assert.Equal(new long[] { 2, 14, 15, 24, 3 }, Ids("Héllo wörld café"));

    [Fact]
    public void TabsNewlinesAndNbspSeparateWords() =>
        Assert.Equal(new long[] { 2, 21, 22, 23, 5, 6, 3 }, Ids("stop\tme\nnow\r\nthe\u00A0movie"));

    [Fact]
    public void UnknownWordBecomesUnk() => Assert.Equal(new long[] { 2, 5, 1, 3 }, Ids("the xyzzy"));

    [Fact]
    public void SplitsIntoWordPieces()
    {
        var ids = Ids("unbelievable,");
        Assert.Equal(new long[] { 2, 9, 10, 11, 12, 3 }, ids);
        Assert.Equal(new[] { "[CLS]", "un", "##believ", "##able", ",", "[SEP]" }, _tok.Tokens(ids));
        Assert.Equal("unbelievable,", _tok.Decode(ids).Replace(" ", ""));
    }

    [Fact]
    public void PairGetsTwoSeparatorsAndTokenTypes()
    {
        var e = _tok.Encode("the movie", "was great .", 64);
        Assert.Equal(new long[] { 2, 5, 6, 3, 7, 8, 13, 3 }, e.InputIds);
        Assert.Equal(new long[] { 0, 0, 0, 0, 1, 1, 1, 1 }, e.TokenTypeIds);
    }

    [Fact]
    public void PairIsTruncatedLongestFirst()
    {
        // a = a b c d e (5), b = the movie was (3); 8 - 3 specials = 5 -> remove 3:
        // 5>3 a loses e, 4>3 a loses d, 3=3 tie -> b loses "was".
        var e = _tok.Encode("a b c d e", "the movie was", 8);
        Assert.Equal(new long[] { 2, 16, 17, 18, 3, 5, 6, 3 }, e.InputIds);
        Assert.Equal(new long[] { 0, 0, 0, 0, 0, 1, 1, 1 }, e.TokenTypeIds);
    }

    [Fact]
    public void SingleTextIsTruncatedAtTheEnd() =>
        Assert.Equal(new long[] { 2, 16, 17, 3 }, _tok.Encode("a b c d e", null, 4).InputIds);

    [Fact]
    public void TruncationCountsWordPiecesNotWords() =>
        // un ##believ ##able = 3 pieces; 4 - 2 specials leaves 2.
        Assert.Equal(new long[] { 2, 9, 10, 3 }, _tok.Encode("unbelievable", null, 4).InputIds);

    [Fact]
    public void MaxSeqLenTooSmallIsAUsageError()
    {
        var single = Assert.Throws<DistilException>(() => _tok.Encode("the", null, 2));
        Assert.Equal(ExitCodes.InvalidUsage, single.ExitCode);
        Assert.Contains("max_seq_len 2", single.Message);
        var pair = Assert.Throws<DistilException>(() => _tok.Encode("the", "movie", 3));
        Assert.Contains("at least 4", pair.Message);
        Assert.Equal(new long[] { 2, 5, 3, 6, 3 }, _tok.Encode("the", "movie", 5).InputIds);
    }

    [Fact]
    public void CrlfVocabGivesTheSameIds()
    {
        using var dir = new TempDir();
        dir.File("vocab.txt", string.Join("\r\n", Vocab) + "\r\n");
        var tok = BertTextTokenizer.FromFolder(dir.Path);
        Assert.Equal(30, tok.VocabSize);
        Assert.Equal(new long[] { 2, 5, 6, 9, 10, 11, 3 }, tok.Encode("the movie unbelievable", null, 64).InputIds);
        Assert.Equal("[SEP]", tok.Tokens(new long[] { 3 })[0]);
    }

    [Fact]
    public void CasedConfigKeepsCaseAndAccents()
    {
        using var dir = new TempDir();
        dir.File("vocab.txt", string.Join("\n", Vocab));
        dir.File("tokenizer_config.json", """{"do_lower_case": false}""");
        var tok = BertTextTokenizer.FromFolder(dir.Path);
        Assert.Equal(new long[] { 2, 1, 5, 1, 24, 3 }, tok.Encode("The the café cafe", null, 64).InputIds);
    }

    [Fact]
    public void StripAccentsFalseKeepsAccentsEvenWhenLowerCasing()
    {
        using var dir = new TempDir();
        dir.File("vocab.txt", string.Join("\n", Vocab));
        dir.File("tokenizer_config.json", """{"do_lower_case": true, "strip_accents": false}""");
        Assert.Equal(new long[] { 2, 1, 24, 3 }, BertTextTokenizer.FromFolder(dir.Path).Encode("Café CAFE", null, 64).InputIds);
    }

    [Fact]
    public void BrokenTokenizerConfigIsBadInput()
    {
        using var dir = new TempDir();
        dir.File("vocab.txt", string.Join("\n", Vocab));
        var cfg = dir.File("tokenizer_config.json", "{ do_lower_case: ");
        var e = Assert.Throws<DistilException>(() => BertTextTokenizer.FromFolder(dir.Path));
        Assert.Equal(ExitCodes.InvalidInput, e.ExitCode);
        Assert.StartsWith(cfg, e.Message);
    }

    // HF _clean_text drops \0, U+FFFD and control/format characters without splitting the word.
    [Theory]
    [InlineData("th\u0007e movie")]
    [InlineData("the mo\u200Bvie")]
    [InlineData("the movie\0")]
    [InlineData("the movie\uFFFD")]
    [InlineData("the mo\uFFFDvie")]
    [InlineData("the mo\0vie")]
    [InlineData("the\u2003movie\u00AD")] // em space separates, soft hyphen (Cf) is dropped
    public void ControlCharactersAreDroppedLikeHf(string text) =>
        Assert.Equal(new long[] { 2, 5, 6, 3 }, Ids(text));

    [Fact]
    public void EmojiAndCjkCharactersAreWordsOfTheirOwn() =>
        // HF: an emoji (outside the BMP) is a word of its own (here in the vocab); each CJK character is split off as a word.
        Assert.Equal(new long[] { 2, 5, 29, 6, 1, 1, 3 }, Ids("the \U0001F600 movie\u4E2D\u6587"));

    [Fact]
    public void SymbolsAreKeptAsHfDoes() =>
        // HF: ASCII symbols are punctuation (split off), other symbols (So/Sc) stay inside their word;
        // "5+€" -> 5 + € ; "great😀" is one word with no WordPiece for 😀 -> [UNK]; "😀" alone is in the vocab.
        Assert.Equal(new long[] { 2, 25, 26, 26, 27, 28, 1, 29, 3 }, Ids("$5 5+€ great\U0001F600 \U0001F600"));

    [Fact]
    public void SpecialTokensInTheTextKeepTheirIds() =>
        Assert.Equal(new long[] { 2, 5, 4, 8, 3 }, Ids("the [MASK]great"));

    [Fact]
    public void WordsOverAHundredCharactersAreUnk()
    {
        using var dir = new TempDir();
        dir.File("vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\na\n##a\n");
        var tok = BertTextTokenizer.FromFolder(dir.Path);
        Assert.Equal(new long[] { 2, 4, 5, 5, 3 }, tok.Encode("aaa", null, 200).InputIds);
        Assert.Equal(102, tok.Encode(new string('a', 100), null, 200).Length);
        Assert.Equal(new long[] { 2, 1, 3 }, tok.Encode(new string('a', 101), null, 200).InputIds);
    }

    [Fact]
    public void MissingVocabIsNotFound()
    {
        using var dir = new TempDir();
        var e = Assert.Throws<DistilException>(() => BertTextTokenizer.FromFolder(dir.Path));
        Assert.Equal(ExitCodes.InputNotFound, e.ExitCode);
        Assert.Contains("vocab.txt", e.Message);
    }

    [Fact]
    public void VocabWithoutSepIsBadInputNamingTheToken()
    {
        using var dir = new TempDir();
        var path = dir.File("vocab.txt", string.Join("\n", Vocab.Where(t => t != "[SEP]")));
        var e = Assert.Throws<DistilException>(() => BertTextTokenizer.FromFiles(path));
        Assert.Equal(ExitCodes.InvalidInput, e.ExitCode);
        Assert.Contains("[SEP]", e.Message);
        Assert.Contains(path, e.Message);
    }
}
