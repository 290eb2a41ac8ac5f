using System.Text.Json;
using Distil.Baselines;
using Distil.Data;
using Xunit;

namespace Distil.Tests;

/// <summary>
/// `distil baseline` (docs/baselines.md) against hand-computed truths: the linear models against their optimality
/// conditions solved by bisection or in closed form, tf-idf weights and overlap features by hand, the most-frequent-tag
/// rule and its seqeval scores on a hand-made CoNLL file, constant predictors (Pearson undefined -> 0), the span
/// baseline's choice worked out by hand, and bad input.
/// </summary>
public sealed class BaselineTests
{
    static double Sigmoid(double z) => 1 / (1 + Math.Exp(-z));

    /// <summary>The root of a decreasing-minus-increasing function on [lo, hi] by bisection.</summary>
    static double Root(Func<double, double> f, double lo, double hi)
    {
        for (int i = 0; i < 200; i++)
        {
            double mid = (lo + hi) / 2;
            if (f(lo) * f(mid) <= 0) hi = mid; else lo = mid;
        }
        return (lo + hi) / 2;
    }

    /// <summary>
    /// Two separable points, x = +1 (class 1) and x = -1 (class 0). By symmetry the biases cancel and the optimal
    /// weights are w1 = -w0 = v/2, so the objective is ln(1 + e^-v) + v^2 / (4 C n) with n = 2; its minimum solves
    /// sigmoid(-v) = v / (2 C n). The fitted softmax must give P(1 | x = 1) = sigmoid(v).
    /// </summary>
    [Theory]
    [InlineData(0.1)]
    [InlineData(1.0)]
    [InlineData(10.0)]
    public void SoftmaxLogisticRegressionMeetsItsOptimalityCondition(double c)
    {
        var x = SparseRows.FromDense([[1.0], [-1.0]]);
        var model = LinearModel.Fit(x, [[1.0], [0.0]], LinearLoss.Softmax, 2, c);
        double v = Root(v => Sigmoid(-v) - v / (2 * c * 2), 0, 50);
        var p = model.Predict(x);
        Assert.Equal(Sigmoid(v), p[0][1], 5);
        Assert.Equal(Sigmoid(v), p[1][0], 5); // the mirror point, the other class
        Assert.True(p[0][1] > 0.5 && p[1][0] > 0.5); // separable: both right
    }

    /// <summary>One sigmoid output on the same points: ln(1 + e^-w) + w^2 / (2 C n), minimum at sigmoid(-w) = w / (C n).</summary>
    [Fact]
    public void OneVsRestLogisticRegressionMeetsItsOptimalityCondition()
    {
        var x = SparseRows.FromDense([[1.0], [-1.0]]);
        const double c = 2;
        var model = LinearModel.Fit(x, [[1.0], [0.0]], LinearLoss.Sigmoid, 1, c);
        double w = Root(w => Sigmoid(-w) - w / (c * 2), 0, 50);
        Assert.Equal(Sigmoid(w), model.Predict(x)[0][0], 5);
        Assert.Equal(w, model.Theta[0], 4);
        Assert.Equal(0, model.Theta[1], 6); // the bias
    }

    /// <summary>Ridge with an unpenalised intercept: w = sum (x - mean x)(y - mean y) / (sum (x - mean x)^2 + alpha), alpha = 1 / C.</summary>
    [Fact]
    public void RidgeMatchesItsClosedForm()
    {
        double[] xs = [1, 2, 3, 4], ys = [2, 3, 5, 9];
        const double c = 0.5; // alpha 2
        var model = LinearModel.Fit(SparseRows.FromDense(xs.Select(v => new[] { v }).ToArray()), ys.Select(v => new[] { v }).ToArray(), LinearLoss.Squared, 1, c);
        double mx = xs.Average(), my = ys.Average();
        double w = xs.Zip(ys).Sum(p => (p.First - mx) * (p.Second - my)) / (xs.Sum(v => (v - mx) * (v - mx)) + 1 / c); // 11.5 / (5 + 2)
        Assert.Equal(23 / 14.0, w, 12);
        Assert.Equal(w, model.Theta[0], 6);
        Assert.Equal(my - w * mx, model.Theta[1], 6); // 4.75 - 2.5 w
    }

    [Fact]
    public void FitsAreBitForBitReproducible()
    {
        var rows = Enumerable.Range(0, 30).Select(i => new[] { Math.Sin(i), Math.Cos(3 * i), i % 3 == 0 ? 1.0 : 0 }).ToArray();
        var targets = Enumerable.Range(0, 30).Select(i => new[] { (double)(i % 3) }).ToArray();
        var a = LinearModel.Fit(SparseRows.FromDense(rows), targets, LinearLoss.Softmax, 3, 1);
        var b = LinearModel.Fit(SparseRows.FromDense(rows), targets, LinearLoss.Softmax, 3, 1);
        Assert.Equal(a.Theta, b.Theta);
    }

    /// <summary>Two training texts "a b" and "a c": idf(a) = ln(3/3) + 1 = 1, idf(b) = idf(c) = idf("a b") = ln(3/2) + 1; each row at unit length.</summary>
    [Fact]
    public void TfIdfWeightsAreScikitLearnsDefaults()
    {
        var train = new[] { new Example("A b", null, "x", null, "t:1"), new Example("a c", null, "y", null, "t:2") };
        var f = TextFeatures.Fit(train);
        Assert.Equal(5, f.Width); // a, b, a b, c, a c
        var row = f.Transform([new Example("a b a zzz", null, null, null, "t:3")]); // a twice, b once, "a b" once, "b a" and zzz unknown
        double idf = Math.Log(1.5) + 1, norm = Math.Sqrt(4 + 2 * idf * idf);
        var values = Enumerable.Range(row.RowStart[0], row.RowStart[1]).ToDictionary(p => row.Columns[p], p => row.Values[p]);
        Assert.Equal(3, values.Count);
        Assert.Equal(2 / norm, values[0], 12);
        Assert.Equal(idf / norm, values[1], 12);
        Assert.Equal(idf / norm, values[2], 12);
    }

    [Fact]
    public void PairsKeepTheirSidesApartAndAddOverlapFeatures()
    {
        Assert.Equal([1 / 3.0, 1 / 2.0, 1 / 4.0], TextFeatures.Overlap(["the", "cat", "sat"], ["cat", "ran"]));
        Assert.Equal([0.0, 0.0, 0.0], TextFeatures.Overlap([], ["cat"]));
        var f = TextFeatures.Fit([new Example("cat", "cat", "1", null, "t:1")]);
        Assert.Equal(2 + TextFeatures.OverlapFeatures, f.Width); // a:cat and b:cat are two terms
        var row = f.Transform([new Example("cat", "dog", null, null, "t:2")]);
        // a:cat at unit length, b: has no known term, overlap 0 -> only one value
        Assert.Equal([0], row.Columns);
        Assert.Equal([1.0], row.Values);
        var e = Assert.Throws<DistilException>(() => f.Transform([new Example("cat", null, null, null, "dev.tsv:7")]));
        Assert.Contains("dev.tsv:7", e.Message);
    }

    static string Write(TempDir dir, string name, string text)
    {
        string path = Path.Combine(dir.Path, name);
        File.WriteAllText(path, text);
        return path;
    }

    /// <summary>
    /// Paris is B-LOC twice and B-PER once in train, so B-LOC; unknown words are O. Dev: "John visited Paris" (both
    /// entities right) and "Paris Hilton smiled" (gold PER 0-1; predicted B-LOC I-PER O, read as LOC 0-0 and PER 1-1,
    /// both wrong): 4 predicted, 3 gold, 2 right -> P 1/2, R 2/3, F1 4/7; words right 5 of 6.
    /// </summary>
    [Fact]
    public void MostFrequentTagOnAHandMadeConllFile()
    {
        using var dir = new TempDir("baseline-conll");
        string train = Write(dir, "train.conll", "John B-PER\nlives O\nin O\nParis B-LOC\n\nParis B-LOC\nis O\nnice O\n\nParis B-PER\nHilton I-PER\n");
        string dev = Write(dir, "dev.conll", "John B-PER\nvisited O\nParis B-LOC\n\nParis B-PER\nHilton I-PER\nsmiled O\n");
        var r = BaselinePipeline.Run(new BaselineConfig { Data = new DataSettings { Train = train, Dev = dev, Task = "token" } });
        var m = Assert.Single(Assert.Single(r.Baselines).Splits).Metrics;
        Assert.Equal(0.5, m["precision"], 12);
        Assert.Equal(2 / 3.0, m["recall"], 12);
        Assert.Equal(4 / 7.0, m["f1"], 12);
        Assert.Equal(5 / 6.0, m["token_accuracy"], 12);
        Assert.Equal(2, m["examples"]);
    }

    /// <summary>A tie between two tags goes to the lower id: O first, then ordinal order (B-LOC before B-PER).</summary>
    [Fact]
    public void MostFrequentTagBreaksTiesByLabelOrder()
    {
        var labels = TaskDataKinds.TagLabels([new TaggedFile("x", [new TaggedSentence(["Jordan", "Jordan", "ran"], ["B-PER", "B-LOC", "O"], "x:1")], 0, [])]);
        Assert.Equal(["O", "B-LOC", "B-PER"], labels.Names);
        var tagger = TagBaseline.Fit([new TaggedSentence(["Jordan", "Jordan", "ran"], ["B-PER", "B-LOC", "O"], "x:1")], labels);
        Assert.Equal([1, 0, 0], tagger.Predict(["Jordan", "ran", "unseen"]));
    }

    /// <summary>The mean of 1, 2, 3 is 2 for every row: MSE on gold 1 and 5 is (1 + 9) / 2 = 5; Pearson and Spearman are undefined (a constant side), reported 0.</summary>
    [Fact]
    public void MeanPredictorHasNoCorrelation()
    {
        using var dir = new TempDir("baseline-reg");
        string train = Write(dir, "train.tsv", "text\tlabel\nlow\t1\nmid\t2\nhigh\t3\n");
        string dev = Write(dir, "dev.tsv", "text\tlabel\nlow\t1\nhigh\t5\n");
        var r = BaselinePipeline.Run(new BaselineConfig { Data = new DataSettings { Train = train, Dev = dev, Task = "regression" } });
        var mean = r.Baselines.Single(b => b.Name == "mean").Splits.Single().Metrics;
        Assert.Equal(5, mean["mse"], 6);
        Assert.Equal(0, mean["pearson"]);
        Assert.Equal(0, mean["spearman"]);
        Assert.Contains(r.Baselines, b => b.Name == "tfidf-ridge" && b.Grid.Count == 6);
    }

    /// <summary>Train pos, pos, neg: the majority says pos for every row, right on 1 of 3 dev rows; macro-F1 (1/2 + 0) / 2.
    /// The tf-idf model separates the words on dev.</summary>
    [Fact]
    public void MajorityAndLogisticRegressionOnSentences()
    {
        using var dir = new TempDir("baseline-seq");
        string train = Write(dir, "train.tsv", "text\tlabel\ngood great\tpos\ngreat fun\tpos\nawful bad\tneg\n");
        string dev = Write(dir, "dev.tsv", "text\tlabel\ngreat\tpos\nbad\tneg\nawful\tneg\n");
        var r = BaselinePipeline.Run(new BaselineConfig { Data = new DataSettings { Train = train, Dev = dev } });
        var majority = r.Baselines.Single(b => b.Name == "majority");
        Assert.Equal(1 / 3.0, majority.Splits.Single().Metrics["accuracy"], 12);
        Assert.Equal(0.25, majority.Splits.Single().Metrics["macro_f1"], 12);
        Assert.Contains("'pos'", majority.Setting);
        var logreg = r.Baselines.Single(b => b.Name == "tfidf-logreg");
        Assert.Equal(1.0, logreg.Splits.Single().Metrics["accuracy"]);
        Assert.Equal(1 / 3.0, logreg.Grid[0].Dev, 12); // C 0.01: the penalty leaves the prior (bias) in charge, as the majority
        double firstBest = logreg.Grid.First(g => g.Dev == 1.0).C; // the first C that is best wins
        Assert.StartsWith($"C {firstBest.ToString(System.Globalization.CultureInfo.InvariantCulture)} (best dev accuracy)", logreg.Setting);
    }

    /// <summary>
    /// Context "The cat sat on the mat. A dog barked loudly at night." Question 1 "feline animal that sat": sentence 1
    /// holds "sat"; candidates cat (1 word from sat) and mat (3 words) -> "cat" (exact). Question 2 "an animal that
    /// barked at night": sentence 2 holds barked and night; dog: ln2 / 1 + ln2 / 4, loudly: ln2 / 1 + ln2 / 2 -> "loudly",
    /// gold "dog" (0). EM = F1 = 50.
    /// </summary>
    [Fact]
    public void SpanBaselineAnswersAsWorkedOutByHand()
    {
        const string context = "The cat sat on the mat. A dog barked loudly at night.";
        var a1 = SpanBaseline.Answer("feline animal that sat", context);
        Assert.Equal(("cat", 4, 7), (a1.Text, a1.Start, a1.End));
        Assert.Equal("loudly", SpanBaseline.Answer("an animal that barked at night", context).Text);
        using var dir = new TempDir("baseline-qa");
        string Squad(params (string Id, string Q, string A, int At)[] qs) => JsonSerializer.Serialize(new
        {
            version = "1.1",
            data = new[] { new { title = "t", paragraphs = new[] { new { context, qas = qs.Select(q => new { id = q.Id, question = q.Q, answers = new[] { new { text = q.A, answer_start = q.At } } }).ToArray() } } } },
        });
        string train = Write(dir, "train.json", Squad(("t1", "feline animal that sat", "cat", 4)));
        string dev = Write(dir, "dev.json", Squad(("d1", "feline animal that sat", "cat", 4), ("d2", "an animal that barked at night", "dog", 26)));
        var r = BaselinePipeline.Run(new BaselineConfig { Data = new DataSettings { Train = train, Dev = dev } });
        var m = Assert.Single(Assert.Single(r.Baselines).Splits).Metrics;
        Assert.Equal(50, m["exact"], 9);
        Assert.Equal(50, m["f1"], 9);
    }

    [Fact]
    public void BadInputIsRefusedWithItsPlace()
    {
        using var dir = new TempDir("baseline-bad");
        string train = Write(dir, "train.tsv", "text\tlabel\nlow\t1\nmid\ttwo\n");
        var e = Assert.Throws<DistilException>(() => BaselinePipeline.Run(new BaselineConfig { Data = new DataSettings { Train = train, Task = "regression" } }));
        Assert.Contains("train.tsv:3", e.Message);
        string conll = Write(dir, "train.conll", "Paris I-LOC\n");
        e = Assert.Throws<DistilException>(() => BaselinePipeline.Run(new BaselineConfig { Data = new DataSettings { Train = conll, Task = "token" } }));
        Assert.Contains("train.conll:1", e.Message);
        string seq = Write(dir, "seq.tsv", "text\tlabel\na\tx\nb\ty\n");
        string dev = Write(dir, "dev.tsv", "text\tlabel\na\tz\n");
        e = Assert.Throws<DistilException>(() => BaselinePipeline.Run(new BaselineConfig { Data = new DataSettings { Train = seq, Dev = dev } }));
        Assert.Contains("dev.tsv:2", e.Message);
        e = Assert.Throws<DistilException>(() => BaselinePipeline.Run(new BaselineConfig { Data = new DataSettings { Train = seq }, Regularisation = [1, -1] }));
        Assert.Equal(ExitCodes.InvalidUsage, e.ExitCode);
    }

    /// <summary>The command writes result.json and report.md into --out, refuses a folder that is not its own, and prints the table.</summary>
    [Fact]
    public void CommandWritesResultAndReport()
    {
        using var dir = new TempDir("baseline-cli");
        string train = Write(dir, "train.tsv", "text\tlabel\ngood great\tpos\ngreat fun\tpos\nawful bad\tneg\n");
        string dev = Write(dir, "dev.tsv", "text\tlabel\ngreat\tpos\nbad\tneg\nawful\tneg\n");
        string output = Path.Combine(dir.Path, "run");
        var (code, text) = CliCapture.Run("baseline", "--train", train, "--dev", dev, "--test", dev, "--out", output);
        Assert.True(code == 0, text);
        Assert.Contains("tfidf-logreg", text);
        var result = JsonSerializer.Deserialize<BaselineResult>(File.ReadAllText(Path.Combine(output, "result.json")))!;
        Assert.Equal(["majority", "tfidf-logreg"], result.Baselines.Select(b => b.Name));
        Assert.Equal(["dev", "test"], result.Baselines[1].Splits.Select(s => s.Split));
        Assert.Contains("| tfidf-logreg | test | 3 | 100.00 |", File.ReadAllText(Path.Combine(output, "report.md")));
        (code, text) = CliCapture.Run("baseline", "--train", train, "--out", dir.Path);
        Assert.Equal(ExitCodes.InvalidUsage, code);
        (code, text) = CliCapture.Run("baseline", "--train", train, "--task", "tokens");
        Assert.Equal(ExitCodes.InvalidUsage, code);
    }
}
