using Distil.Data;
using Xunit;

namespace Distil.Tests;

/// <summary>The data shipped with the repository reads as its README describes.</summary>
public class ShippedDataTests
{
    static string RepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d != null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "Distil.sln"))) return d.FullName;
        throw new InvalidOperationException($"no Distil.sln above {AppContext.BaseDirectory}");
    }

    [Fact]
    public void UciSentimentTrainHas2086RowsTwoLabelsThreeDomains()
    {
        var d = DatasetReader.Read(Path.Combine(RepoRoot(), "data", "uci-sentiment", "train.domain.tsv"));
        Assert.Equal(2086, d.Count);
        Assert.Equal(0, d.SkippedRows);
        Assert.Equal(new[] { "0", "1" }, LabelSet.FromExamples(d.Examples).Names);
        Assert.Equal(new[] { "amazon", "imdb", "yelp" }, DomainSet.FromExamples(d.Examples).Names);
        // Per-domain counts from the README's table.
        var counts = d.Examples.GroupBy(e => e.Domain!).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal((691, 698, 697), (counts["amazon"], counts["imdb"], counts["yelp"]));
        Assert.Equal("Overall, I like there food and the service.", d.Examples[0].Text);
    }

    [Fact]
    public void WordnetGlossPairExcerptReadsAsPairs()
    {
        var d = DatasetReader.Read(Path.Combine(AppContext.BaseDirectory, "data", "wordnet-gloss-pairs.dev-head40.tsv"));
        Assert.Equal(40, d.Count);
        Assert.Equal(new Example("there were cracks in the plaster", "plaster: a surface of hardened plaster (as on a wall or ceiling)", "1", null, d.Examples[0].Source), d.Examples[0]);
        Assert.Equal(new[] { "0", "1" }, LabelSet.FromExamples(d.Examples).Names);
    }

    /// <summary>The gloss-pair task as its README counts it, read by the pair reader finetune uses (text_a/text_b/label
    /// by header); balanced labels; dev starts with the excerpt the reader tests use.</summary>
    [Theory]
    [InlineData("train", 41580)]
    [InlineData("dev", 5946)]
    [InlineData("test", 11872)]
    public void WordnetGlossPairsReadAsPairsWithTheReadmeCounts(string split, int pairs)
    {
        var d = DatasetReader.Read(Path.Combine(RepoRoot(), "data", "wordnet-gloss-pairs", split + ".tsv"));
        Assert.Equal(pairs, d.Count);
        Assert.Equal(0, d.SkippedRows);
        Assert.All(d.Examples, e => Assert.Contains(": ", e.TextPair));
        Assert.Equal(pairs / 2, d.Examples.Count(e => e.Label == "1"));
        Assert.Equal(pairs / 2, d.Examples.Count(e => e.Label == "0"));
        if (split == "dev")
            Assert.Equal(DatasetReader.Read(Path.Combine(AppContext.BaseDirectory, "data", "wordnet-gloss-pairs.dev-head40.tsv")).Examples.Select(e => (e.Text, e.TextPair, e.Label)),
                d.Examples.Take(40).Select(e => (e.Text, e.TextPair, e.Label)));
    }
}
