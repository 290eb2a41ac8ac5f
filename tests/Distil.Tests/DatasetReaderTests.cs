using System.Text;
using Distil.Data;
using Xunit;

namespace Distil.Tests;

public class DatasetReaderTests : IDisposable
{
    readonly TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    [Fact]
    public void TsvWithHeaderGivesRowsWithFileLineSources()
    {
        var path = _dir.File("train.tsv", "text\tlabel\nthe movie\t1\n\ngreat , great\t0\n");
        var d = DatasetReader.Read(path);
        Assert.Equal(2, d.Count);
        Assert.Equal(new Example("the movie", null, "1", null, $"{path}:2"), d.Examples[0]);
        Assert.Equal(new Example("great , great", null, "0", null, $"{path}:4"), d.Examples[1]); // blank line 3 skipped
        Assert.Equal(0, d.SkippedRows);
    }

    [Fact]
    public void CrlfAndBomAreAccepted()
    {
        var bytes = Encoding.UTF8.GetPreamble().Concat(Encoding.UTF8.GetBytes("sentence\tlabel\r\nfine\t1\r\n")).ToArray();
        var d = DatasetReader.Read(_dir.File("a.tsv", bytes));
        Assert.Equal(("fine", "1"), (d.Examples[0].Text, d.Examples[0].Label));
    }

    [Fact]
    public void WrongColumnCountNamesFileLineAndProblem()
    {
        var path = _dir.File("train.tsv", "text\tlabel\nok\t1\nno label here\n");
        var e = Assert.Throws<DistilException>(() => DatasetReader.Read(path));
        Assert.Equal(ExitCodes.InvalidInput, e.ExitCode);
        Assert.StartsWith($"{path}:3: has 1 columns, expected 2", e.Message);
        Assert.EndsWith("fix the row or pass --skip-bad-rows", e.Message);
    }

    [Fact]
    public void EmptyLabelAndEmptyTextAreBadRows()
    {
        var path = _dir.File("train.tsv", "text\tlabel\nok\t \n");
        Assert.StartsWith($"{path}:2: empty label (column 'label')", Assert.Throws<DistilException>(() => DatasetReader.Read(path)).Message);
        var path2 = _dir.File("t2.tsv", "text\tlabel\n\t1\n");
        Assert.StartsWith($"{path2}:2: empty text (column 'text')", Assert.Throws<DistilException>(() => DatasetReader.Read(path2)).Message);
    }

    [Fact]
    public void SkipBadRowsCountsThemAndKeepsTheFirstReasons()
    {
        var path = _dir.File("train.tsv", "text\tlabel\ngood one\t1\nbad\n\t0\nanother good\t0\nx\t1\textra\n");
        var d = DatasetReader.Read(path, skipBadRows: true);
        Assert.Equal(new[] { "good one", "another good" }, d.Examples.Select(x => x.Text));
        Assert.Equal(3, d.SkippedRows);
        Assert.Equal(3, d.SkipReasons.Count);
        Assert.StartsWith($"{path}:3: has 1 columns", d.SkipReasons[0]);
        Assert.StartsWith($"{path}:4: empty text", d.SkipReasons[1]);
        Assert.StartsWith($"{path}:6: has 3 columns", d.SkipReasons[2]);
    }

    [Fact]
    public void CsvHandlesQuotedCommasEscapedQuotesAndNewlines()
    {
        var path = _dir.File("train.csv", "text,label\n\"Well, \"\"great\"\" movie\",1\nplain,0\n\"two\nlines\",1\n\"\",0\n");
        var d = DatasetReader.Read(path, skipBadRows: true);
        Assert.Equal(new[] { "Well, \"great\" movie", "plain", "two\nlines" }, d.Examples.Select(x => x.Text));
        Assert.Equal(new[] { "1", "0", "1" }, d.Examples.Select(x => x.Label));
        Assert.Equal($"{path}:4", d.Examples[2].Source); // a record is named by its first line
        Assert.Equal(1, d.SkippedRows);
        Assert.StartsWith($"{path}:6: empty text", d.SkipReasons[0]); // "" is an empty field
    }

    [Fact]
    public void CsvTextAfterClosingQuoteIsABadRow()
    {
        var path = _dir.File("train.csv", "text,label\n\"say \"hi\" now\",1\n");
        var e = Assert.Throws<DistilException>(() => DatasetReader.Read(path));
        Assert.StartsWith($"{path}:2: unexpected text after a closing quote in field 1", e.Message);
    }

    [Fact]
    public void CsvUnclosedQuoteIsABadRow()
    {
        var path = _dir.File("train.csv", "text,label\nok,1\n\"never closed,0\n");
        var d = DatasetReader.Read(path, skipBadRows: true);
        Assert.Single(d.Examples);
        Assert.StartsWith($"{path}:3: a quoted field is not closed", d.SkipReasons[0]);
    }

    [Fact]
    public void CsvParserSplitsRfc4180Records()
    {
        var lines = new[] { (1, "a,\"b,c\",\"\"\"\",,"), (2, "x") };
        var recs = CsvRecords.Parse(lines).ToList();
        Assert.Equal(new[] { "a", "b,c", "\"", "", "" }, recs[0].Fields);
        Assert.Equal(new[] { "x" }, recs[1].Fields);
    }

    [Fact]
    public void JsonlReadsStringsNumbersAndDomains()
    {
        var path = _dir.File("train.jsonl", "{\"text\": \"so good\", \"label\": 1, \"domain\": \"yelp\"}\n\n{\"domain\": \"imdb\", \"label\": 0, \"text\": \"dull\", \"id\": 7}\n");
        var d = DatasetReader.Read(path);
        Assert.Equal(new Example("so good", null, "1", "yelp", $"{path}:1"), d.Examples[0]);
        Assert.Equal(new Example("dull", null, "0", "imdb", $"{path}:3"), d.Examples[1]);
    }

    [Fact]
    public void JsonlBadJsonAndWrongTypesAreBadRows()
    {
        var path = _dir.File("train.jsonl", "{\"text\": \"a\", \"label\": \"x\"}\n{\"text\": \"b\", \"label\": \n[1, 2]\n{\"text\": [\"c\"], \"label\": \"y\"}\n{\"text\": \"d\"}\n");
        var e = Assert.Throws<DistilException>(() => DatasetReader.Read(path));
        Assert.StartsWith($"{path}:2: not valid JSON", e.Message);
        var d = DatasetReader.Read(path, skipBadRows: true);
        Assert.Single(d.Examples);
        Assert.Equal(4, d.SkippedRows);
        Assert.StartsWith($"{path}:3: expected a JSON object, found array", d.SkipReasons[1]);
        Assert.StartsWith($"{path}:4: field 'text' is array", d.SkipReasons[2]);
        Assert.StartsWith($"{path}:5: missing label (column 'label')", d.SkipReasons[3]);
    }

    [Fact]
    public void InvalidUtf8NamesTheLine()
    {
        var bytes = Encoding.UTF8.GetBytes("text\tlabel\nok\t1\n").Concat(new byte[] { 0x63, 0x61, 0x66, 0xE9, 0x09, 0x31, 0x0A }).ToArray(); // "caf\xE9\t1" (Latin-1)
        var path = _dir.File("latin1.tsv", bytes);
        var e = Assert.Throws<DistilException>(() => DatasetReader.Read(path, skipBadRows: true));
        Assert.StartsWith($"{path}:3: invalid UTF-8", e.Message);
    }

    [Fact]
    public void EmptyFileAndHeaderOnlyAreErrors()
    {
        var empty = _dir.File("empty.tsv", "");
        Assert.Contains("the file is empty", Assert.Throws<DistilException>(() => DatasetReader.Read(empty)).Message);
        var header = _dir.File("header.csv", "text,label\n\n");
        Assert.Contains($"{header}: only a header, no data rows", Assert.Throws<DistilException>(() => DatasetReader.Read(header)).Message);
        var allBad = _dir.File("bad.tsv", "text\tlabel\nx\n");
        Assert.Contains("no usable rows", Assert.Throws<DistilException>(() => DatasetReader.Read(allBad, skipBadRows: true)).Message);
    }

    [Fact]
    public void ColumnsCanBeGivenByNameOrIndex()
    {
        var path = _dir.File("d.tsv", "id\treview\tstars\tsite\n7\tnice\t5\tyelp\n");
        var byName = DatasetReader.Read(path, new ColumnMapping(Column.Parse("review"), null, Column.Parse("stars"), Column.Parse("site")));
        Assert.Equal(new Example("nice", null, "5", "yelp", $"{path}:2"), byName.Examples[0]);
        var byIndex = DatasetReader.Read(path, new ColumnMapping(Column.Parse("1"), null, Column.Parse("2")));
        Assert.Equal(("nice", "5", (string?)null), (byIndex.Examples[0].Text, byIndex.Examples[0].Label, byIndex.Examples[0].Domain));
    }

    [Fact]
    public void UnknownOrUnguessableColumnIsAUsageErrorListingTheHeader()
    {
        var path = _dir.File("d.tsv", "id\treview\tstars\n7\tnice\t5\n");
        var e = Assert.Throws<DistilException>(() => DatasetReader.Read(path, new ColumnMapping(Label: Column.Named("rating"), Text: Column.Named("review"))));
        Assert.Equal(ExitCodes.InvalidUsage, e.ExitCode);
        Assert.Contains("no label column 'rating'; the header has id, review, stars", e.Message);
        var guess = Assert.Throws<DistilException>(() => DatasetReader.Read(path));
        Assert.Contains("cannot tell which column holds the text", guess.Message);
    }

    [Fact]
    public void HeaderlessFileUsesFirstColumnsAsTextAndLabel()
    {
        var d = DatasetReader.Read(_dir.File("h.tsv", "fine film\t1\nawful\t0\n"), hasHeader: false);
        Assert.Equal(new[] { ("fine film", "1"), ("awful", "0") }, d.Examples.Select(x => (x.Text, x.Label!)));
    }

    [Fact]
    public void FormatComesFromTheExtensionOrIsAskedFor()
    {
        var e = Assert.Throws<DistilException>(() => DatasetReader.Read(_dir.File("d.txt", "text\tlabel\na\t1\n")));
        Assert.Equal(ExitCodes.InvalidUsage, e.ExitCode);
        Assert.Contains("--format", e.Message);
        Assert.Single(DatasetReader.Read(Path.Combine(_dir.Path, "d.txt"), format: DataFormat.Tsv).Examples);
        Assert.Equal(ExitCodes.InputNotFound, Assert.Throws<DistilException>(() => DatasetReader.Read(Path.Combine(_dir.Path, "nope.tsv"))).ExitCode);
    }
}
