using System.Text.Json;
using Distil.Text;
using Xunit;

namespace Distil.Tests;

/// <summary>
/// The non-WordPiece tokenizers against independent truths: SentencePiece ids against sentencepiece's own encoder
/// (tests/reference/spm_encode.py) on real sentences and hostile text; byte-level BPE against ids and offsets worked
/// out by hand from GPT-2's algorithm; each family's pair template; the folder factory's choice by files.
/// </summary>
public class TokenizerFamilyTests
{
    static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "data", "tokenizers", name);

    /// <summary>Real sentences plus accents (composed and decomposed), emoji, CJK, odd whitespace, an over-long line.</summary>
    internal static List<string> Texts()
    {
        var texts = File.ReadLines(Path.Combine(PythonReference.Folder, "..", "..", "data", "uci-sentiment", "test.tsv"))
            .Skip(1).Take(150).Select(l => l.Split('\t')[0]).ToList();
        texts.AddRange(File.ReadLines(Path.Combine(PythonReference.Folder, "..", "..", "data", "wordnet-sentences", "sentences.txt")).Take(100));
        texts.AddRange([
            "Café déjà vu, naïve façade — Ångström!", "Cafe\u0301 de\u0301ja\u0300", "ＦＵＬＬＷＩＤＴＨ ｶﾀｶﾅ ①②", "I love it 😀👍🏽 so much 🇫🇷",
            "日本語のテキストと中文文本", "한국어 문장", "  leading and   repeated\u00A0spaces  ", "tab\\there\\nnewline", "\u200Bzero\u200Bwidth",
            "", "   ", "x", string.Join(" ", Enumerable.Repeat("antidisestablishmentarianism überlong ☃", 200)),
        ]);
        return texts;
    }

    [Theory]
    [InlineData("unigram.model", "Unigram")]
    [InlineData("bpe.model", "BPE")]
    [InlineData("deberta.model", "Unigram")]
    public void SentencePieceIdsEqualSentencepiecesOwn(string model, string type)
    {
        using var dir = new TempDir();
        var texts = Texts();
        string file = dir.File("texts.txt", string.Join("\n", texts));
        var expected = PythonReference.Run("spm_encode.py", Fixture(model), file).Split('\n')[..texts.Count];
        var tok = SentencePieceTokenizer.FromFile(Fixture(model), SentencePieceTokenizer.IdLayout.Model);
        Assert.Equal(type, tok.ModelType);
        int same = 0;
        var diffs = new List<string>();
        for (int i = 0; i < texts.Count; i++)
        {
            string text = texts[i].Replace("\\t", "\t").Replace("\\n", "\n");
            var tokens = tok.TokenizeWithOffsets(text);
            string ours = string.Join(" ", tokens.Select(t => t.Id));
            if (ours == expected[i]) same++;
            else diffs.Add($"{texts[i][..Math.Min(60, texts[i].Length)]}: ours {ours[..Math.Min(80, ours.Length)]} theirs {expected[i][..Math.Min(80, expected[i].Length)]}");
            int prev = 0;
            foreach (var t in tokens)
            {
                Assert.InRange(t.Start, prev, text.Length);
                Assert.InRange(t.End, t.Start, text.Length);
                prev = t.Start;
            }
        }
        Assert.True(diffs.Count == 0, $"{model}: {same}/{texts.Count} identical; first differences:\n{string.Join("\n", diffs.Take(5))}");
    }

    [Fact]
    public void XlmrLayoutShiftsModelIdsByOneAndPutsMaskLast()
    {
        var model = SentencePieceTokenizer.FromFile(Fixture("unigram.model"), SentencePieceTokenizer.IdLayout.Model);
        var xlmr = SentencePieceTokenizer.FromFile(Fixture("unigram.model"), SentencePieceTokenizer.IdLayout.Fairseq);
        string text = "The movie was great 😀";
        var ids = model.Tokenize(text);
        Assert.Contains(0, ids); // the emoji is unknown in a 500-piece model: <unk> is model id 0, fairseq id 3
        Assert.Equal(ids.Select(i => i == 0 ? 3 : i + 1), xlmr.Tokenize(text));
        Assert.Equal((0, 1, 2, 3), (xlmr.Cls, xlmr.Pad, xlmr.Sep, xlmr.Unk));
        Assert.Equal(500 + 1, xlmr.Mask);
        Assert.Equal(502, xlmr.VocabSize);
        var pair = xlmr.Encode("good", "bad", 64);
        var a = xlmr.Tokenize("good"); var b = xlmr.Tokenize("bad");
        Assert.Equal(new long[] { 0 }.Concat(a.Select(i => (long)i)).Concat([2, 2]).Concat(b.Select(i => (long)i)).Append(2), pair.InputIds);
        Assert.All(pair.TokenTypeIds, t => Assert.Equal(0, t));
        Assert.Equal("The movie was great", xlmr.Decode(xlmr.Tokenize("The movie was great").Select(i => (long)i)));
    }

    [Fact]
    public void DebertaLayoutUsesTheModelsSpecialsAndBertsTemplate()
    {
        var tok = SentencePieceTokenizer.FromFile(Fixture("deberta.model"), SentencePieceTokenizer.IdLayout.Model);
        Assert.Equal((0, 1, 2, 3, 500), (tok.Pad, tok.Cls, tok.Sep, tok.Unk, tok.Mask));
        var pair = tok.Encode("good", "bad", 64);
        int na = tok.Tokenize("good").Count, nb = tok.Tokenize("bad").Count;
        Assert.Equal(1, pair.InputIds[0]);
        Assert.Equal(2, pair.InputIds[na + 1]);
        Assert.Equal(Enumerable.Repeat(0L, na + 2).Concat(Enumerable.Repeat(1L, nb + 1)), pair.TokenTypeIds);
        Assert.Equal([1, 2], tok.Encode("[CLS][SEP]", null, 8).InputIds[1..3].Select(x => (int)x)); // specials in text keep their ids
    }

    // GPT-2 byte-level BPE on a hand-made vocabulary: "Ġ" is the space byte.
    static readonly Dictionary<string, int> BpeVocab = new()
    {
        ["<s>"] = 0, ["<pad>"] = 1, ["</s>"] = 2, ["<unk>"] = 3, ["h"] = 4, ["e"] = 5, ["l"] = 6, ["o"] = 7, ["Ġ"] = 8, ["w"] = 9,
        ["r"] = 10, ["d"] = 11, ["he"] = 12, ["ll"] = 13, ["hell"] = 14, ["hello"] = 15, ["Ġw"] = 16, ["or"] = 17, ["Ġwor"] = 18, ["<mask>"] = 19,
        ["Ã"] = 20, ["©"] = 21, ["Ã©"] = 22,
    };
    static readonly string[] BpeMerges = ["h e", "l l", "he ll", "hell o", "Ġ w", "o r", "Ġw or", "Ã ©"];

    static ByteLevelBpeTokenizer Bpe(TempDir dir, bool addPrefixSpace = false)
    {
        dir.File("vocab.json", JsonSerializer.Serialize(BpeVocab));
        dir.File("merges.txt", "#version: 0.2\n" + string.Join("\n", BpeMerges) + "\n");
        dir.File("tokenizer_config.json", JsonSerializer.Serialize(new { add_prefix_space = addPrefixSpace }));
        return (ByteLevelBpeTokenizer)TokenizerFolder.Load(dir.Path);
    }

    [Fact]
    public void ByteLevelBpeMergesByRankWithOffsets()
    {
        using var dir = new TempDir();
        var tok = Bpe(dir);
        // "hello" -> he l l o -> he ll o -> hell o -> hello; " world" -> Ġ w o r l d -> Ġw o r l d -> Ġw or l d -> Ġwor l d
        Assert.Equal([new(15, 0, 5), new(18, 6, 9), new(6, 9, 10), new(11, 10, 11)], tok.TokenizeWithOffsets("hello world"));
        // é is bytes C3 A9, written "Ã©"; <mask> strips the space before it (RoBERTa's lstrip)
        Assert.Equal([15, 22, 19], tok.Tokenize("helloé <mask>"));
        Assert.Equal("helloé", tok.Decode([15, 22]));
        var pair = tok.Encode("hello world", "hello", 64);
        Assert.Equal(new long[] { 0, 15, 18, 6, 11, 2, 2, 15, 2 }, pair.InputIds);
        Assert.All(pair.TokenTypeIds, t => Assert.Equal(0, t));
        Assert.Equal("hello world", tok.Decode(tok.Encode("hello world", null, 64).InputIds));
    }

    [Fact]
    public void AddPrefixSpaceMakesTheFirstWordLikeAnInnerOne()
    {
        using var dir = new TempDir();
        var tok = Bpe(dir, addPrefixSpace: true);
        Assert.Equal([new(18, 0, 3), new(6, 3, 4), new(11, 4, 5)], tok.TokenizeWithOffsets("world"));
    }

    [Fact]
    public void BertOffsetsPointIntoTheOriginalText()
    {
        using var dir = new TempDir();
        dir.File("vocab.txt", string.Join("\n", ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un", "##believ", "##able", "!", "cafe", "the"]) + "\n");
        var tok = TokenizerFolder.Load(dir.Path);
        Assert.Equal([new(5, 0, 2), new(6, 2, 8), new(7, 8, 12), new(8, 12, 13), new(9, 15, 19), new(10, 20, 23)],
            tok.TokenizeWithOffsets("Unbelievable!\t CAFÉ the"));
        var enc = tok.Encode("the", "cafe", 16);
        Assert.Equal([(0, 0), (0, 3), (0, 0), (0, 4), (0, 0)], enc.Offsets!);
        Assert.Equal([-1, 0, -1, 1, -1], enc.SequenceIds!);
    }
}
