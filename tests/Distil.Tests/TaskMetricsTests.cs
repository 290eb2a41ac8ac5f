using Distil.Training.Metrics;
using Xunit;

namespace Distil.Tests;

/// <summary>
/// The task metrics against hand-computed values and the published examples of the libraries they follow
/// (seqeval's README example; the official SQuAD scripts' normalisation and no-answer rules; scipy's rankdata).
/// </summary>
public class TaskMetricsTests
{
    static IReadOnlyList<string> T(string tags) => tags.Split(' ');
    static List<EntityChunk> Chunks(string tags) => EntityChunks.Extract(T(tags));

    [Fact]
    public void Seqeval_readme_example_scores_half()
    {
        // seqeval's README: MISC predicted one token early (wrong span), PER right: micro P = R = F1 = 0.5.
        var gold = new[] { T("O O O B-MISC I-MISC I-MISC O"), T("B-PER I-PER O") };
        var pred = new[] { T("O O B-MISC I-MISC I-MISC I-MISC O"), T("B-PER I-PER O") };
        var r = EntityMetrics.Compute(gold, pred);
        Assert.Equal(0.5, r.Micro.Precision, 12);
        Assert.Equal(0.5, r.Micro.Recall, 12);
        Assert.Equal(0.5, r.Micro.F1, 12);
        Assert.Equal(2, r.Micro.Support);
        Assert.Equal(new EntityScore(0, 0, 0, 1), r.PerType["MISC"]);
        Assert.Equal(new EntityScore(1, 1, 1, 1), r.PerType["PER"]);
        Assert.Equal(8.0 / 10, r.TokenAccuracy, 12); // tokens 2 and 3 of the first sentence differ
    }

    [Fact]
    public void Wrong_type_counts_against_both_types()
    {
        var r = EntityMetrics.Compute(new[] { T("B-PER I-PER O B-LOC") }, new[] { T("B-PER I-PER O B-ORG") });
        Assert.Equal(0.5, r.Micro.F1, 12);
        Assert.Equal(new EntityScore(0, 0, 0, 1), r.PerType["LOC"]);
        Assert.Equal(new EntityScore(0, 0, 0, 0), r.PerType["ORG"]);
        Assert.Equal(0.75, r.TokenAccuracy, 12);
    }

    [Fact]
    public void Iob2_lenient_reading_as_seqeval_default()
    {
        Assert.Equal([new("PER", 0, 1)], Chunks("I-PER I-PER O"));            // I- opening a sentence opens a chunk
        Assert.Equal([new("PER", 0, 0), new("LOC", 1, 1)], Chunks("B-PER I-LOC")); // type change closes and opens
        Assert.Equal([new("MISC", 1, 1)], Chunks("O I-MISC"));
        Assert.Equal([new("X", 0, 0), new("X", 1, 2)], Chunks("B-X B-X I-X"));
        Assert.Empty(Chunks("O O"));
        Assert.Equal([new("PER-NAME", 0, 0)], Chunks("B-PER-NAME")); // the type is all after the first '-'
    }

    [Fact]
    public void Iobes_chunks()
    {
        Assert.Equal([new("PER", 0, 0), new("LOC", 2, 3)], Chunks("S-PER O B-LOC E-LOC"));
        Assert.Equal([new("LOC", 0, 2), new("LOC", 3, 3)], Chunks("B-LOC I-LOC E-LOC S-LOC"));
        Assert.Equal([new("PER", 1, 1)], Chunks("O E-PER"));
        // E closes a chunk; a second E opens (and closes) another one.
        Assert.Equal([new("PER", 0, 1), new("PER", 2, 2)], Chunks("B-PER E-PER E-PER"));
        Assert.Equal([new("A", 0, 0), new("A", 1, 1)], Chunks("S-A S-A"));
    }

    [Fact]
    public void Malformed_tags_are_rejected_with_position()
    {
        var e = Assert.Throws<DistilException>(() => EntityChunks.Extract(T("O X-PER"), 7));
        Assert.Contains("sentence 7, token 1", e.Message);
        Assert.Throws<DistilException>(() => EntityChunks.Extract(T("B-")));
        Assert.Throws<DistilException>(() => EntityChunks.Extract(T("o")));
    }

    [Fact]
    public void Strict_bio_finds_the_first_broken_inside()
    {
        Assert.Null(EntityChunks.FirstBrokenInside(T("O B-X I-X I-X O B-Y")));
        Assert.Equal(0, EntityChunks.FirstBrokenInside(T("I-X")));
        Assert.Equal(2, EntityChunks.FirstBrokenInside(T("B-PER I-PER I-LOC")));
        Assert.Equal(1, EntityChunks.FirstBrokenInside(T("O I-X")));
        Assert.Throws<DistilException>(() => EntityChunks.FirstBrokenInside(T("S-PER")));
    }

    [Theory]
    [InlineData("The  Cat's, hat!", "cats hat")]
    [InlineData("An apple a day", "apple day")]
    [InlineData("theater anthem", "theater anthem")] // articles only as whole words
    [InlineData("a-team", "ateam")]                   // punctuation goes before articles are looked for
    [InlineData("  Denver\tBroncos\n", "denver broncos")]
    [InlineData("the", "")]
    [InlineData("café «naïve»", "café «naïve»")]      // only ASCII punctuation is removed
    public void Squad_normalisation_matches_the_official_script(string text, string normalised) =>
        Assert.Equal(normalised, SquadMetrics.Normalize(text));

    [Fact]
    public void Squad_token_f1_by_hand()
    {
        // pred {big, cat, sat} vs gold {cat, sat, down}: 2 shared, P = R = 2/3.
        Assert.Equal(2.0 / 3, SquadMetrics.F1("the big cat sat", "a cat sat down"), 12);
        // multiset: "cat cat" vs "cat" shares one: P = 1/2, R = 1, F1 = 2/3.
        Assert.Equal(2.0 / 3, SquadMetrics.F1("cat cat", "cat"), 12);
        Assert.Equal(0, SquadMetrics.F1("", ""));            // v1.1: no shared word is 0
        Assert.Equal(1, SquadMetrics.F1("", "", v2: true));  // v2.0: both empty is 1
        Assert.Equal(0, SquadMetrics.F1("a", "Paris", v2: true));
        Assert.True(SquadMetrics.ExactMatch("the Denver Broncos.", "denver broncos"));
    }

    [Fact]
    public void Squad_v1_best_over_gold_answers()
    {
        var s = SquadMetrics.EvaluateV1([
            new(["Denver Broncos", "the Denver Broncos"], "denver broncos."),
            new(["Santa Clara, California"], "Santa Clara"), // P = 1, R = 2/3: F1 = 0.8
        ]);
        Assert.Equal(50, s.Exact, 10);
        Assert.Equal(90, s.F1, 10);
        Assert.Equal(2, s.Total);
        Assert.Throws<DistilException>(() => SquadMetrics.EvaluateV1([new([], "x")]));
    }

    [Fact]
    public void Squad_v2_no_answer_handling()
    {
        var r = SquadMetrics.EvaluateV2([
            new(["Paris"], "Paris"),
            new([], ""),        // no answer, abstained: right
            new([], "London"),  // no answer, answered: wrong
            new(["the"], ""),   // a gold that normalises to nothing is dropped: scored against "", yet counted HasAns
        ]);
        Assert.Equal(new SquadScore(75, 75, 4), r.All);
        Assert.Equal(new SquadScore(100, 100, 2), r.HasAns);
        Assert.Equal(new SquadScore(50, 50, 2), r.NoAns);
        Assert.Null(SquadMetrics.EvaluateV2([new(["x"], "x")]).NoAns);
    }

    [Fact]
    public void Regression_by_hand()
    {
        double[] pred = [1, 2, 3, 4], gold = [2, 4, 6, 9];
        var m = RegressionMetrics.Compute(pred, gold);
        // deviations (-1.5,-.5,.5,1.5) and (-3.25,-1.25,.75,3.75): Sxy = 11.5, Sxx = 5, Syy = 26.75.
        Assert.Equal(11.5 / Math.Sqrt(5 * 26.75), m["pearson"], 12);
        Assert.Equal(1, m["spearman"], 12);
        Assert.Equal(39.0 / 4, m["mse"], 12);
        Assert.Equal(0, RegressionMetrics.Pearson([1, 1, 1], [1, 2, 3]));
        Assert.Throws<DistilException>(() => RegressionMetrics.Compute([double.NaN], [1]));
    }

    [Fact]
    public void Spearman_averages_tied_ranks_as_scipy()
    {
        Assert.Equal([3.5, 1, 3.5, 2], RegressionMetrics.AverageRanks([3, 1, 3, 2]));
        // scipy.stats.spearmanr([1, 2, 2, 3], [1, 3, 2, 4]) = 0.9486832980505138 = 4.5 / sqrt(4.5 * 5)
        Assert.Equal(0.9486832980505138, RegressionMetrics.Spearman([1, 2, 2, 3], [1, 3, 2, 4]), 12);
    }

    [Fact]
    public void Multi_label_micro_macro_by_hand()
    {
        var probs = new[] { new[] { 0.9, 0.2, 0.6 }, new[] { 0.1, 0.7, 0.4 } };
        var gold = new[] { new[] { true, false, false }, new[] { false, true, true } };
        var r = MultiLabelMetrics.Compute(probs, gold);
        // labels 0 and 1 right once each; label 2: one FP, one FN. micro: TP 2, FP 1, FN 1 -> 4/6.
        Assert.Equal(4.0 / 6, r.MicroF1, 12);
        Assert.Equal(2.0 / 3, r.MacroF1, 12);
        Assert.Equal(new LabelScore(0, 0, 0, 1), r.PerLabel[2]);
        Assert.Equal(0, r.SubsetAccuracy);
        // threshold: at-or-above is predicted
        var t = MultiLabelMetrics.Compute([[0.5]], [[true]]);
        Assert.Equal(1, t.MicroF1);
        Assert.Equal(1, MultiLabelMetrics.Compute(probs, gold, threshold: 0.35).PerLabel[2].Recall);
        Assert.Throws<DistilException>(() => MultiLabelMetrics.Compute([[1.5]], [[true]]));
    }
}
