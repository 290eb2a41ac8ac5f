using Distil.Data;
using Distil.Text;
using TorchSharp;
using Xunit;

namespace Distil.Tests;

public class CollateTests
{
    [Fact]
    public void PadsToTheLongestRowWithMaskAndTypes()
    {
        var rows = new[]
        {
            new EncodedExample(new long[] { 2, 5, 3 }, new long[] { 0, 0, 0 }, 1, 2),
            new EncodedExample(new long[] { 2, 5, 3, 6, 3 }, new long[] { 0, 0, 0, 1, 1 }, 0, -1),
        };
        using var b = Collator.Collate(rows, padId: 9, indices: new[] { 17, 4 });
        Assert.Equal(new long[] { 2, 5 }, b.InputIds.shape);
        Assert.Equal(torch.int64, b.InputIds.dtype);
        Assert.Equal(torch.int64, b.AttentionMask.dtype);
        Assert.Equal(new long[] { 2, 5, 3, 9, 9, 2, 5, 3, 6, 3 }, b.InputIds.data<long>().ToArray());
        Assert.Equal(new long[] { 1, 1, 1, 0, 0, 1, 1, 1, 1, 1 }, b.AttentionMask.data<long>().ToArray());
        Assert.Equal(new long[] { 0, 0, 0, 0, 0, 0, 0, 0, 1, 1 }, b.TokenTypeIds.data<long>().ToArray());
        Assert.Equal(new long[] { 1, 0 }, b.Labels.data<long>().ToArray());
        Assert.Equal(new long[] { 2, -1 }, b.Domains.data<long>().ToArray());
        Assert.Equal(new[] { 17, 4 }, b.Indices);
        Assert.Equal(5, b.SeqLen);
    }

    [Fact]
    public void PaddingIsPerBatchNotGlobal()
    {
        var data = new[]
        {
            new EncodedExample(new long[] { 2, 3 }, new long[2], 0, 0),
            new EncodedExample(new long[] { 2, 5, 6, 7, 8, 3 }, new long[6], 1, 0),
            new EncodedExample(new long[] { 2, 5, 3 }, new long[3], 1, 0),
        };
        using var b = Collator.CollateAt(data, new[] { 2, 0 }, padId: 0);
        Assert.Equal(new long[] { 2, 3 }, b.InputIds.shape);
        Assert.Equal(new long[] { 2, 5, 3, 2, 3, 0 }, b.InputIds.data<long>().ToArray());
        Assert.Equal(new[] { 2, 0 }, b.Indices);
    }

    [Fact]
    public void EncodesRowsThenCollatesThem()
    {
        using var dir = new TempDir();
        dir.File("vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\nmovie\nwas\ngreat\n");
        var tok = BertTextTokenizer.FromFolder(dir.Path);
        var rows = new[]
        {
            new Example("The movie", null, "pos", "imdb", "t.tsv:2"),
            new Example("was great", "the movie", "neg", "yelp", "t.tsv:3"),
        };
        var labels = LabelSet.FromExamples(rows);   // neg = 0, pos = 1
        var domains = DomainSet.FromExamples(rows); // imdb = 0, yelp = 1
        var enc = ExampleEncoder.Encode(rows, tok, labels, domains, maxSeqLen: 16);
        Assert.Equal(new long[] { 2, 5, 6, 3 }, enc[0].InputIds);
        Assert.Equal((1L, 0), (enc[0].Label, enc[0].Domain));
        Assert.Equal(new long[] { 2, 7, 8, 3, 5, 6, 3 }, enc[1].InputIds);
        Assert.Equal(new long[] { 0, 0, 0, 0, 1, 1, 1 }, enc[1].TokenTypeIds);
        Assert.Equal((0L, 1), (enc[1].Label, enc[1].Domain));

        using var b = Collator.CollateAt(enc, new[] { 0, 1 }, tok.Pad);
        Assert.Equal(new long[] { 2, 5, 6, 3, 0, 0, 0, 2, 7, 8, 3, 5, 6, 3 }, b.InputIds.data<long>().ToArray());

        var dev = new[] { new Example("the", null, "meh", "imdb", "dev.tsv:5") };
        Assert.StartsWith("dev.tsv:5: unknown label 'meh'", Assert.Throws<DistilException>(() => ExampleEncoder.Encode(dev, tok, labels, domains, 16)).Message);
    }
}
