using Distil.Augment;
using Distil.Checkpoints;
using Distil.Labels;
using Distil.Text;
using Distil.Training;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Distil.Tests;

public class TransferSetTests
{
    public TransferSetTests() => torch.set_num_threads(1);

    [Fact]
    public void EveryTextColumnValueIsASentenceOnceAndHeldOutSentencesAreDropped()
    {
        using var dir = new TempDir();
        string tsv = dir.File("pairs.tsv", "text_a\ttext_b\tlabel\n" +
            "the food was good\tgood: having desirable qualities\t1\n" +
            "The food was good \tgood: morally admirable\t0\n" +       // same text_a up to case and spaces
            "the phone is awful\tawful: exceptionally bad\t1\n" +
            "a movie i hate\tmovie: a form of entertainment\t0\n");
        var log = new List<string>();
        var sentences = TransferSet.ReadSentences(new TransferOptions { Path = tsv }, new[] { "A MOVIE I HATE" }, log.Add);
        Assert.Equal(new[]
        {
            "the food was good", "good: having desirable qualities", "good: morally admirable",
            "the phone is awful", "awful: exceptionally bad", "movie: a form of entertainment",
        }, sentences);
        Assert.Contains(log, l => l.Contains("1 sentences") && l.Contains("dev or test"));
    }

    [Fact]
    public void PlainTextIsOneSentencePerLineAndMaxRowsIsASeededSubsetInFileOrder()
    {
        using var dir = new TempDir();
        var lines = Enumerable.Range(0, 50).Select(i => $"sentence {i}").ToArray();
        string txt = dir.File("corpus.txt", string.Join("\n", lines.Take(25)) + "\n\n   \n" + string.Join("\n", lines.Skip(25)) + "\n");
        Assert.Equal(lines, TransferSet.ReadSentences(new TransferOptions { Path = txt }, []));

        var a = TransferSet.ReadSentences(new TransferOptions { Path = txt, MaxRows = 10, Seed = 1 }, []);
        Assert.Equal(a, TransferSet.ReadSentences(new TransferOptions { Path = txt, MaxRows = 10, Seed = 1 }, []));
        Assert.NotEqual(a, TransferSet.ReadSentences(new TransferOptions { Path = txt, MaxRows = 10, Seed = 2 }, []));
        Assert.Equal(10, a.Distinct().Count());
        var positions = a.Select(s => Array.IndexOf(lines, s)).ToArray();
        Assert.All(positions, p => Assert.True(p >= 0));
        Assert.Equal(positions.Order(), positions);
    }

    [Fact]
    public void BadTransferFilesNameTheProblem()
    {
        using var dir = new TempDir();
        var missing = Assert.Throws<DistilException>(() => TransferSet.ReadSentences(new TransferOptions { Path = Path.Combine(dir.Path, "nope.txt") }, []));
        Assert.Contains("--transfer", missing.Message);
        string txt = dir.File("held.txt", "the dev sentence\n");
        var empty = Assert.Throws<DistilException>(() => TransferSet.ReadSentences(new TransferOptions { Path = txt }, new[] { "the dev sentence" }));
        Assert.Contains("no sentences", empty.Message);
        Assert.Throws<DistilException>(() => new TransferOptions { Path = txt, MaxRows = -1 }.Validate());
    }

    [Fact]
    public void RowsCarryTheTeachersArgmaxAndItsLogitsInSentenceOrder()
    {
        string teacherDir = TinyBert.TeacherFolder();
        var (teacher, _) = ModelFolder.LoadForClassification(teacherDir, new[] { "neg", "pos" });
        var tokenizer = BertTextTokenizer.FromFolder(teacherDir);
        using var dir = new TempDir();
        string train = dir.File("train.tsv", "text\tlabel\n");
        var sentences = new[] { "the movie was great", "awful food", "i hate the phone", "good", "the food is fine !" };

        var labels = TeacherLabels.Open(null, train, new TorchLabelTeacher(teacherDir, teacher, tokenizer, 16, CPU), 2);
        var (rows, logits) = TransferSet.Label(labels, teacher, tokenizer, sentences, 16);

        for (int i = 0; i < sentences.Length; i++)
        {
            var t = tokenizer.Encode(sentences[i], null, 16);
            Assert.Equal(t.InputIds, rows[i].InputIds);
            // The teacher run on this sentence alone: its logits and argmax are the row's.
            var direct = Classifier.PredictLogits(teacher, new[] { rows[i] with { Label = -1 } }, 1, tokenizer.Pad, CPU)[0];
            Assert.Equal(direct[0], logits[i, 0].item<float>(), 4);
            Assert.Equal(direct[1], logits[i, 1].item<float>(), 4);
            Assert.Equal(direct[1] > direct[0] ? 1L : 0L, rows[i].Label);
        }
    }
}
