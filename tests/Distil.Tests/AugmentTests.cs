using Distil.Augment;
using Distil.Checkpoints;
using Distil.Models;
using Distil.Text;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Distil.Tests;

/// <summary>TinyBERT word replacement: neighbours and MLM candidates against hand/model truths, determinism, p = 0, the file.</summary>
public class AugmentTests
{
    public AugmentTests() => torch.set_num_threads(1);

    //                                 0        1        2        3        4        5       6        7      8      9      10     11
    static readonly string[] Vocab = { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "good", "great", "bad", "##ly", "fine", ".", "movie" };

    [Fact]
    public void EmbeddingNeighboursEqualAHandComputedCosineRanking()
    {
        // Rows (2-d): only directions matter for cosine, so "great" is deliberately not unit length.
        var table = tensor(new float[]
        {
            0, 0,   5, 5,   4, 4,   3, 3,   9, 9,    // specials: never candidates
            1, 0,                                    // good
            1.6f, 1.2f,                              // great: direction (0.8, 0.6)
            -1, 0,                                   // bad
            -3, 4,                                   // ##ly: a continuation, never a candidate; unit row (-0.6, 0.8)
            0.6f, 0.8f,                              // fine
            0.8f, 0.6f,                              // ".": no letter, never a candidate
            0, -1,                                   // movie
        }).view(12, 2);
        using var n = new EmbeddingNeighbours(table, new VocabularyInfo(Vocab));

        // "good" = (1, 0): cos great 0.8, fine 0.6, movie 0, bad -1; itself excluded.
        var good = n.Nearest(new[] { 5 }, 3);
        Assert.Equal(new[] { 6, 9, 11 }, good.Select(x => x.Id));
        Assert.Equal(new[] { 0.8f, 0.6f, 0f }, good.Select(x => x.Cosine), new ToleranceComparer(1e-6f));

        // "goodly" = good + ##ly: query = mean of the unit rows (1, 0) and (-0.6, 0.8) = (0.2, 0.4) -> unit (0.4472, 0.8944).
        // cos: fine 0.6*0.4472 + 0.8*0.8944 = 0.9839; great 0.8*0.4472 + 0.6*0.8944 = 0.8944; good 0.4472; bad -0.4472; movie -0.8944.
        var goodly = n.Nearest(new[] { 5, 8 }, 5);
        Assert.Equal(new[] { 9, 6, 5, 7, 11 }, goodly.Select(x => x.Id));
        Assert.Equal(new[] { 0.98387f, 0.89443f, 0.44721f, -0.44721f, -0.89443f }, goodly.Select(x => x.Cosine), new ToleranceComparer(1e-4f));
    }

    [Fact]
    public void MlmCandidatesAreTheTopMOfTheMlmLogits()
    {
        using var dir = new TempDir();
        File.WriteAllLines(Path.Combine(dir.Path, "vocab.txt"), Vocab.Concat(new[] { "was", "the", "nice", "poor", "##s", "awful" }));
        File.WriteAllText(Path.Combine(dir.Path, "tokenizer_config.json"), """{"do_lower_case": true}""");
        var config = TinyBert.Config(layers: 1, hidden: 16, heads: 2, vocab: 18) with { Id2Label = null, Label2Id = null };
        torch.manual_seed(5);
        using (var lm = new BertForMaskedLM(config))
        {
            using var _ = no_grad();
            lm.cls.predictions.bias.normal_(0, 1); // a head with opinions, so the ranking is not an accident of init
            File.WriteAllText(Path.Combine(dir.Path, "config.json"), config.ToJson());
            StateDictLoader.SaveStateDict(lm, Path.Combine(dir.Path, "model.safetensors"));
        }
        using var model = ModelFolder.TryLoadMaskedLm(dir.Path);
        Assert.NotNull(model);
        var tokenizer = BertTextTokenizer.FromFolder(dir.Path);
        var vocab = VocabularyInfo.From(tokenizer);
        var refill = new MaskedLmRefill(model!, tokenizer, vocab, maxSeqLen: 32);

        // "the movie was good ." -> pieces 13 11 12 5 10; mask "good" (piece 3).
        var pieces = new[] { 13, 11, 12, 5, 10 };
        const int m = 8;
        var got = refill.Candidates(pieces, new[] { 3, 1 }, m);

        // Truth: TinyBERT's input built by hand, [CLS] the movie was [MASK] . [SEP] the movie was good . [SEP], types 0x7 then 1x6.
        long[] ids = { 2, 13, 11, 12, 4, 10, 3, 13, 11, 12, 5, 10, 3 };
        long[] types = { 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1 };
        model!.eval();
        using var __ = no_grad();
        var logits = model.forward(new BertInputs(tensor(ids).view(1, -1), ones(1, ids.Length, dtype: int64), tensor(types).view(1, -1)));
        var row = logits[0, 5].data<float>().ToArray();
        var expected = Enumerable.Range(0, row.Length).OrderByDescending(i => row[i]).Take(m).Where(vocab.IsReplacement).ToArray();
        Assert.Equal(expected, got[0]);
        Assert.All(got[0]!, id => Assert.False(Vocab.Length > id && (id < 5 || id == 8 || id == 10), $"id {id} is special, a continuation or punctuation"));
        Assert.NotNull(got[1]);

        // The augmenter takes single-piece words from the MLM and longer words from embedding neighbours.
        using var neighbours = new EmbeddingNeighbours(model.bert.embeddings.word_embeddings.weight!, vocab);
        var augmenter = new WordReplacementAugmenter(tokenizer, neighbours, refill, new AugmentOptions { Copies = 1, Candidates = m });
        var words = augmenter.Candidates("the movie was goodly");
        Assert.Equal(new[] { ("movie", "mlm"), ("goodly", "embedding") }, words.Select(w => (w.Original, w.Source)));
    }

    static WordReplacementAugmenter EmbeddingAugmenter(string folder, AugmentOptions options)
    {
        var tokenizer = BertTextTokenizer.FromFolder(folder);
        using var encoder = ModelFolder.LoadEncoder(folder);
        var neighbours = new EmbeddingNeighbours(encoder.embeddings.word_embeddings.weight!, VocabularyInfo.From(tokenizer));
        return new WordReplacementAugmenter(tokenizer, neighbours, null, options);
    }

    const string Review = "The movie was GOOD, the phone great and the food fine; love it. Bad poor awful hate!";

    [Fact]
    public void SameSeedGivesTheSameCopiesWhateverTheOrder()
    {
        string folder = TinyBert.TeacherFolder();
        var o = new AugmentOptions { Copies = 6, Seed = 7 };
        var a = EmbeddingAugmenter(folder, o);
        var b = EmbeddingAugmenter(folder, o);
        var first = a.Augment(Review, 3);
        b.Augment("the food was bad", 0); // another row first: no shared random stream
        Assert.Equal(first, b.Augment(Review, 3));
        Assert.NotEmpty(first);
        Assert.All(first, c => Assert.NotEqual(Review, c));
        Assert.Equal(first.Count, first.Distinct().Count());
        Assert.NotEqual(first, EmbeddingAugmenter(folder, o with { Seed = 8 }).Augment(Review, 3));
        Assert.NotEqual(first, a.Augment(Review, 4)); // each row has its own stream
        // Only whole words change; punctuation, stop words and spacing stay where they were.
        foreach (var c in first)
        {
            Assert.StartsWith("The ", c);
            Assert.EndsWith("!", c);
            Assert.Equal(Review.Count(ch => ch is ',' or ';' or '.'), c.Count(ch => ch is ',' or ';' or '.'));
        }
    }

    [Fact]
    public void PZeroLeavesTheTextUnchanged()
    {
        string folder = TinyBert.TeacherFolder();
        const string odd = "  The movie,was GOOD!!  \tfood\n";
        var keep = EmbeddingAugmenter(folder, new AugmentOptions { Copies = 3, P = 0, Distinct = false });
        Assert.Equal(new[] { odd, odd, odd }, keep.Augment(odd, 0));
        Assert.Empty(EmbeddingAugmenter(folder, new AugmentOptions { Copies = 3, P = 0 }).Augment(odd, 0)); // distinct: nothing new
        // p = 1 replaces every replaceable word: movie, GOOD, food (not "The", "was": stop words), keeping case.
        var all = EmbeddingAugmenter(folder, new AugmentOptions { Copies = 1, P = 1, Distinct = false }).Augment(odd, 0).Single();
        var before = WordSpans.Split(odd).Select(s => s.Of(odd)).ToArray();
        var after = WordSpans.Split(all).Select(s => s.Of(all)).ToArray();
        Assert.Equal(new[] { "The", "movie", ",", "was", "GOOD", "!", "!", "food" }, before);
        Assert.Equal(before.Length, after.Length);
        Assert.Equal(new[] { "The", ",", "was", "!", "!" }, after.Where((w, i) => i is 0 or 2 or 3 or 5 or 6));
        Assert.NotEqual("movie", after[1]);
        Assert.NotEqual("GOOD", after[4]);
        Assert.Equal(after[4].ToUpperInvariant(), after[4]);
        Assert.StartsWith("  ", all);
        Assert.EndsWith("\n", all);
    }

    [Fact]
    public void AugmentedSetRoundTrips()
    {
        using var dir = new TempDir();
        string path = Path.Combine(dir.Path, "sub", "aug.tsv");
        var rows = new[]
        {
            new AugmentedRow(0, "plain text", "plain words", null, "pos", new[] { 0.25, 0.75 }, "yelp"),
            new AugmentedRow(7, "tab\there\\n", "new\nline\r\\", "a pair\twith tab", "neg", new[] { 0.999999, 1e-6 }, null),
        };
        AugmentedSet.Write(path, new[] { "neg", "pos" }, rows);
        var (labels, back) = AugmentedSet.Read(path);
        Assert.Equal(new[] { "neg", "pos" }, labels);
        Assert.Equal(rows.Length, back.Count);
        for (int i = 0; i < rows.Length; i++)
        {
            Assert.Equal(rows[i] with { TeacherProbabilities = Array.Empty<double>() }, back[i] with { TeacherProbabilities = Array.Empty<double>() });
            Assert.Equal(rows[i].TeacherProbabilities, back[i].TeacherProbabilities);
        }
        Assert.Equal(4, File.ReadAllLines(path).Length); // escapes keep one row per line

        File.WriteAllText(path, "# teacher_probs order: neg\tpos\nrow\toriginal\taugmented\ttext_pair\tteacher_label\tteacher_probs\tdomain\n0\ta\tb\t\tmaybe\t0.5,0.5\t\n");
        Assert.Contains("teacher label 'maybe'", Assert.Throws<DistilException>(() => AugmentedSet.Read(path)).Message);
        File.WriteAllText(path, "text\tlabel\n");
        Assert.Contains("not an augmented set", Assert.Throws<DistilException>(() => AugmentedSet.Read(path)).Message);
    }

    sealed class ToleranceComparer(float tolerance) : IEqualityComparer<float>
    {
        public bool Equals(float a, float b) => Math.Abs(a - b) <= tolerance;
        public int GetHashCode(float f) => 0;
    }
}
