using Distil.Data;
using Distil.Models;
using Xunit;

namespace Distil.Tests;

public class LabelSetTests
{
    static Example Row(string? label, string source = "train.tsv:2", string? domain = null) => new("t", null, label, domain, source);

    [Fact]
    public void NumericLabelsAreOrderedNumerically()
    {
        var set = LabelSet.FromExamples(new[] { "10", "2", "1", "0", "2" }.Select(l => Row(l)));
        Assert.Equal(new[] { "0", "1", "2", "10" }, set.Names);
        Assert.Equal(3, set.IdOf("10", "x"));
    }

    [Fact]
    public void TextLabelsAreOrderedOrdinally()
    {
        var set = LabelSet.FromExamples(new[] { "neutral", "entailment", "contradiction" }.Select(l => Row(l)));
        Assert.Equal(new[] { "contradiction", "entailment", "neutral" }, set.Names);
    }

    [Fact]
    public void LabelOnlyInDevIsAnErrorNamingRowLabelAndKnownLabels()
    {
        var set = LabelSet.FromExamples(new[] { Row("1"), Row("0") });
        var e = Assert.Throws<DistilException>(() => set.IdOf("2", "dev.tsv:3"));
        Assert.Equal(ExitCodes.InvalidInput, e.ExitCode);
        Assert.StartsWith("dev.tsv:3: unknown label '2'", e.Message);
        Assert.Contains("0, 1", e.Message);
    }

    [Fact]
    public void LabelsFromAModelKeepItsOrder()
    {
        var config = new BertConfig().WithLabels(new[] { "negative", "positive" });
        var set = LabelSet.FromConfig(config);
        Assert.Equal((0, 1), (set.IdOf("negative", "s"), set.IdOf("positive", "s")));
        Assert.Throws<DistilException>(() => LabelSet.FromNames(new[] { "a", "b", "a" }));
        Assert.Throws<DistilException>(() => LabelSet.FromExamples(new[] { Row(null, "test.tsv:2") }));
    }

    [Fact]
    public void DomainsAreSortedAndUnknownDomainsNamed()
    {
        var set = DomainSet.FromExamples(new[] { Row("1", domain: "yelp"), Row("0", domain: "amazon"), Row("1", domain: "imdb") });
        Assert.Equal(new[] { "amazon", "imdb", "yelp" }, set.Names);
        Assert.Equal(2, set.IdOf("yelp", "s"));
        Assert.Contains("dev.tsv:9: unknown domain 'twitter'", Assert.Throws<DistilException>(() => set.IdOf("twitter", "dev.tsv:9")).Message);
        Assert.Equal(DomainSet.None, DomainSet.FromExamples(new[] { Row("1") }).IdOf(null, "s"));
    }
}
