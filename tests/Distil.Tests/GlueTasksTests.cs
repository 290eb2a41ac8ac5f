using Distil.Data;
using Xunit;

namespace Distil.Tests;

public class GlueTasksTests : IDisposable
{
    readonly TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    [Fact]
    public void ColaHasNoHeaderAndTextInTheFourthColumn()
    {
        _dir.File("train.tsv", "gj04\t1\t\tOur friends won't buy this analysis, let alone the next one we propose.\ngj04\t0\t*\tThey drank the pub.\n");
        var d = GlueTasks.Read(_dir.Path, "cola", DataSplit.Train);
        Assert.Equal(2, d.Count);
        Assert.Equal("Our friends won't buy this analysis, let alone the next one we propose.", d.Examples[0].Text);
        Assert.Equal(new[] { "1", "0" }, d.Examples.Select(e => e.Label));
        Assert.EndsWith("train.tsv:1", d.Examples[0].Source); // line 1 is data, not a header
    }

    [Fact]
    public void MnliReadsDevMatchedWithGenreAsDomain()
    {
        const string header = "index\tpromptID\tpairID\tgenre\tsentence1_binary_parse\tsentence2_binary_parse\tsentence1_parse\tsentence2_parse\tsentence1\tsentence2\tlabel1\tgold_label";
        _dir.File("dev_matched.tsv", header + "\n0\t1\t1e\tgovernment\t(x)\t(y)\t(X)\t(Y)\tThe new rights are nice enough\tEveryone really likes the newest benefits\tneutral\tneutral\n"
                                     + "1\t2\t2c\tfiction\t(x)\t(y)\t(X)\t(Y)\tHe ran.\tHe sat still.\tcontradiction\tcontradiction\n");
        var d = GlueTasks.Read(_dir.Path, "MNLI", DataSplit.Dev);
        Assert.Equal(new Example("The new rights are nice enough", "Everyone really likes the newest benefits", "neutral", "government", d.Examples[0].Source), d.Examples[0]);
        Assert.Equal(("contradiction", "fiction"), (d.Examples[1].Label!, d.Examples[1].Domain!));
        Assert.EndsWith("dev_matched.tsv:2", d.Examples[0].Source);
    }

    [Fact]
    public void MrpcPairsWithBomHeaderInAGlueDataSubfolder()
    {
        Directory.CreateDirectory(Path.Combine(_dir.Path, "MRPC"));
        _dir.File("MRPC/train.tsv", "\uFEFFQuality\t#1 ID\t#2 ID\t#1 String\t#2 String\n1\t702876\t702977\tAmrozi accused his brother.\tReferring to him, Amrozi accused his brother.\n");
        var d = GlueTasks.Read(_dir.Path, "mrpc", DataSplit.Train);
        Assert.Equal(("Amrozi accused his brother.", "Referring to him, Amrozi accused his brother.", "1"),
            (d.Examples[0].Text, d.Examples[0].TextPair!, d.Examples[0].Label!));
    }

    [Fact]
    public void TestSplitIsUnlabelled()
    {
        _dir.File("test.tsv", "index\tsentence\n0\tuneasy mishmash of styles and genres .\n");
        var d = GlueTasks.Read(_dir.Path, "SST-2", DataSplit.Test);
        Assert.Equal(("uneasy mishmash of styles and genres .", (string?)null), (d.Examples[0].Text, d.Examples[0].Label));
    }

    [Fact]
    public void EveryTaskHasALayoutAndUnknownTasksAreUsageErrors()
    {
        Assert.Equal(new[] { "sst2", "cola", "mrpc", "qqp", "qnli", "rte", "mnli" }, GlueTasks.Names);
        Assert.Equal("dev_matched.tsv", GlueTasks.Get("mnli").FileOf(DataSplit.Dev));
        Assert.Equal(Column.Named("is_duplicate"), GlueTasks.Get("qqp").Columns.Label);
        var e = Assert.Throws<DistilException>(() => GlueTasks.Get("stsb"));
        Assert.Equal(ExitCodes.InvalidUsage, e.ExitCode);
        Assert.Contains("sst2, cola, mrpc, qqp, qnli, rte, mnli", e.Message);
        Assert.Equal(ExitCodes.InputNotFound, Assert.Throws<DistilException>(() => GlueTasks.Read(_dir.Path, "rte", DataSplit.Dev)).ExitCode);
    }
}
