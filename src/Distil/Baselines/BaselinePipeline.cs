using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Serialization;
using Distil.Data;
using Distil.Models;
using Distil.Training;

namespace Distil.Baselines;

/// <summary>`distil baseline`'s settings: the data section of the training commands, the C grid and the L-BFGS budget.</summary>
public sealed record BaselineConfig
{
    [JsonPropertyName("data")] public DataSettings Data { get; init; } = new();
    [JsonPropertyName("out")] public string? Out { get; init; }
    /// <summary>The values of C tried on dev for the linear models (ridge: alpha = 1 / C); the first best wins.</summary>
    [JsonPropertyName("regularisation")] public double[] Regularisation { get; init; } = [0.01, 0.1, 1, 10, 100, 1000];
    /// <summary>L-BFGS iterations of each fit.</summary>
    [JsonPropertyName("iterations")] public int Iterations { get; init; } = LinearModel.DefaultIterations;

    public void Validate()
    {
        Data.Validate();
        if (Regularisation.Length == 0 || Regularisation.Any(c => !(c > 0) || double.IsInfinity(c)))
            throw DistilException.Usage($"regularisation: give one or more positive values of C (got [{string.Join(", ", Regularisation)}])");
        if (Iterations < 1) throw DistilException.Usage($"iterations must be at least 1 (got {Iterations})");
    }
}

/// <summary>The metrics of one split.</summary>
public sealed record BaselineSplit(string Split, IReadOnlyDictionary<string, double> Metrics);

/// <summary>One value of C and the dev headline metric it gave.</summary>
public sealed record GridPoint(double C, double Dev);

/// <summary>One baseline's results: what it is, the setting chosen on dev, its grid, its splits.</summary>
public sealed record BaselineRun(string Name, string Method, string? Setting, IReadOnlyList<GridPoint> Grid, IReadOnlyList<BaselineSplit> Splits, double Seconds);

/// <summary>`distil baseline`'s result.json.</summary>
public sealed record BaselineResult(string Task, string Headline, string Train, int TrainRows, int Features, int SkippedRows, IReadOnlyList<BaselineRun> Baselines);

/// <summary>
/// Non-neural baselines on the files and with the metrics of `distil finetune` / `eval` (docs/baselines.md): the data
/// is read by the same readers (TaskData, TaggedSentences, SquadReader) and scored by the same evaluators
/// (TaskHeads.Metrics, QuestionAnswering.Metrics), so the figures sit beside a model's.
/// </summary>
public static class BaselinePipeline
{
    public static BaselineResult Run(BaselineConfig c, Action<string>? log = null)
    {
        c.Validate();
        log ??= _ => { };
        var d = c.Data;
        if (QaTaskData.IsSquad(d.Train)) return Qa(d, log);
        return d.Kind switch
        {
            TaskKind.Token => Token(d, log),
            _ => Rows(c, d.Kind, log),
        };
    }

    /// <summary>Sequence (single texts or pairs), regression and multi-label: a constant predictor and a tf-idf linear model.</summary>
    static BaselineResult Rows(BaselineConfig c, TaskKind kind, Action<string> log)
    {
        var d = c.Data;
        var train = TaskData.Read(d, d.Train!, DataSplit.Train);
        var dev = d.Dev != null ? TaskData.Read(d, d.Dev, DataSplit.Dev) : null;
        var test = d.Test != null ? TaskData.Read(d, d.Test, DataSplit.Test) : null;
        if (train.Count == 0) throw DistilException.BadInput($"{d.Train}: no training rows");
        var labels = kind switch
        {
            TaskKind.Regression => LabelSet.FromNames([TaskDataKinds.ScoreLabel]),
            TaskKind.MultiLabel => TaskDataKinds.MultiLabels(new[] { train, dev, test }.OfType<DatasetFile>()),
            _ => LabelSet.FromExamples(train.Examples),
        };
        var domains = DomainSet.FromExamples(train.Examples);
        EncodedExample Row(Example e)
        {
            int domain = domains.IdOf(e.Domain, e.Source);
            return kind switch
            {
                TaskKind.Regression => new EncodedExample([], [], -1, domain, Targets: [TaskDataKinds.Score(e)]),
                TaskKind.MultiLabel => new EncodedExample([], [], -1, domain, Targets: TaskDataKinds.MultiHot(e, labels)),
                _ => new EncodedExample([], [], labels.IdOf(e.Label, e.Source), domain),
            };
        }
        var splits = new List<(string Name, DatasetFile File, EncodedExample[] Rows)>();
        var trainRows = train.Examples.Select(Row).ToArray();
        if (dev != null) splits.Add(("dev", dev, dev.Examples.Select(Row).ToArray()));
        if (test != null) splits.Add(("test", test, test.Examples.Select(Row).ToArray()));
        string headline = TaskHeads.HeadlineMetric(kind);
        Dictionary<string, double> Score(float[][] outputs, EncodedExample[] rows)
        {
            var m = TaskHeads.Metrics(kind, outputs, rows, labels, domains, d.Threshold);
            m.Remove("loss"); // a constant or linear model's loss is not comparable with a fine-tuned model's
            return m;
        }

        // The constant predictor: class frequencies, the mean score, or each label's frequency.
        var clock = Stopwatch.StartNew();
        float[] constant = kind switch
        {
            TaskKind.Regression => [(float)trainRows.Average(r => (double)r.Targets![0])],
            TaskKind.MultiLabel => Enumerable.Range(0, labels.Count).Select(k => (float)trainRows.Average(r => (double)r.Targets![k])).ToArray(),
            _ => Enumerable.Range(0, labels.Count).Select(k => (float)trainRows.Count(r => r.Label == k) / trainRows.Length).ToArray(),
        };
        var (constName, constMethod) = kind switch
        {
            TaskKind.Regression => ("mean", "the mean training score for every row"),
            TaskKind.MultiLabel => ("label-frequency", $"each label's training frequency as its probability for every row (a label is predicted when that is at least {d.Threshold.ToString(CultureInfo.InvariantCulture)})"),
            _ => ("majority", "the most frequent training label for every row (class frequencies as probabilities)"),
        };
        string? constSetting = kind == TaskKind.Regression ? $"mean {constant[0].ToString("G6", CultureInfo.InvariantCulture)}"
            : kind == TaskKind.Sequence ? $"'{labels.Names[Array.IndexOf(constant, constant.Max())]}' ({100 * constant.Max():F1}% of train)" : null;
        var runs = new List<BaselineRun>
        {
            new(constName, constMethod, constSetting, [],
                splits.Select(s => new BaselineSplit(s.Name, Score(s.Rows.Select(_ => (float[])constant.Clone()).ToArray(), s.Rows))).ToList(), clock.Elapsed.TotalSeconds),
        };
        log($"{constName}: done");

        // tf-idf + a linear model, C chosen on dev.
        clock.Restart();
        var features = TextFeatures.Fit(train.Examples);
        var x = features.Transform(train.Examples);
        var xs = splits.Select(s => features.Transform(s.File.Examples)).ToArray();
        var loss = kind switch { TaskKind.Regression => LinearLoss.Squared, TaskKind.MultiLabel => LinearLoss.Sigmoid, _ => LinearLoss.Softmax };
        int outputs = loss == LinearLoss.Squared ? 1 : labels.Count;
        var targets = trainRows.Select(r => kind == TaskKind.Sequence ? [(double)r.Label] : r.Targets!.Select(v => (double)v).ToArray()).ToArray();
        int devIndex = splits.FindIndex(s => s.Name == "dev");
        var grid = new List<GridPoint>();
        LinearModel? best = null;
        double bestC = 1, bestDev = double.NegativeInfinity;
        foreach (double cValue in devIndex >= 0 ? c.Regularisation : [1.0])
        {
            var model = LinearModel.Fit(x, targets, loss, outputs, cValue, c.Iterations);
            if (devIndex < 0) { best = model; break; }
            double score = Score(model.Predict(xs[devIndex]), splits[devIndex].Rows)[headline];
            grid.Add(new GridPoint(cValue, score));
            log($"tf-idf C={cValue.ToString(CultureInfo.InvariantCulture)}: dev {headline} {score:F4}");
            if (score > bestDev) (best, bestC, bestDev) = (model, cValue, score);
        }
        string cText = bestC.ToString(CultureInfo.InvariantCulture);
        string setting = (loss == LinearLoss.Squared ? $"alpha {(1 / bestC).ToString(CultureInfo.InvariantCulture)}" : $"C {cText}")
            + (devIndex < 0 ? " (no dev split: the default)" : $" (best dev {headline})");
        var (linName, linMethod) = loss switch
        {
            LinearLoss.Squared => ("tfidf-ridge", "ridge regression on tf-idf word unigrams + bigrams"),
            LinearLoss.Sigmoid => ("tfidf-logreg", "one-vs-rest logistic regression on tf-idf word unigrams + bigrams"),
            _ => ("tfidf-logreg", "logistic regression on tf-idf word unigrams + bigrams"),
        };
        if (features.Pairs) linMethod += " of each side (a:/b:) + 3 word-overlap features";
        runs.Add(new BaselineRun(linName, linMethod, setting, grid,
            splits.Select((s, i) => new BaselineSplit(s.Name, Score(best!.Predict(xs[i]), s.Rows))).ToList(), clock.Elapsed.TotalSeconds));
        int skipped = new[] { train, dev, test }.OfType<DatasetFile>().Sum(f => f.SkippedRows);
        return new BaselineResult(kind.Name(), headline, d.Train!, train.Count, features.Width, skipped, runs);
    }

    /// <summary>Token tagging: each word's most frequent training tag.</summary>
    static BaselineResult Token(DataSettings d, Action<string> log)
    {
        var scheme = TaggedSentences.DetectScheme(d.Train!);
        var train = TaggedSentences.Read(d.Train!, scheme, null, d.SkipBadRows);
        var dev = d.Dev != null ? TaggedSentences.Read(d.Dev, scheme, null, d.SkipBadRows) : null;
        var test = d.Test != null ? TaggedSentences.Read(d.Test, scheme, null, d.SkipBadRows) : null;
        if (train.Sentences.Count == 0) throw DistilException.BadInput($"{d.Train}: no training sentences");
        var labels = TaskDataKinds.TagLabels(new[] { train, dev, test }.OfType<TaggedFile>());
        var clock = Stopwatch.StartNew();
        var tagger = TagBaseline.Fit(train.Sentences, labels);
        var splits = new List<BaselineSplit>();
        foreach (var (name, file) in new[] { ("dev", dev), ("test", test) })
        {
            if (file == null) continue;
            splits.Add(new BaselineSplit(name, TokenMetrics(tagger, file.Sentences, labels)));
            log($"most-frequent-tag: {name} done");
        }
        var run = new BaselineRun("most-frequent-tag", "each word's most frequent tag in the training file (the word as written); unknown words O",
            $"{tagger.KnownWords} known words", [], splits, clock.Elapsed.TotalSeconds);
        int skipped = new[] { train, dev, test }.OfType<TaggedFile>().Sum(f => f.Skipped);
        return new BaselineResult(TaskKind.Token.Name(), TaskHeads.HeadlineMetric(TaskKind.Token), d.Train!, train.Sentences.Count, tagger.KnownWords, skipped, [run]);
    }

    /// <summary>
    /// The project's token metrics (TaskHeads.Metrics: seqeval-style entity P/R/F1, word accuracy) of the tagger on
    /// <paramref name="sentences"/>: each word is one position whose output is the word's training tag distribution.
    /// </summary>
    public static Dictionary<string, double> TokenMetrics(TagBaseline tagger, IReadOnlyList<TaggedSentence> sentences, LabelSet labels)
    {
        var rows = new EncodedExample[sentences.Count];
        var outputs = new float[sentences.Count][];
        for (int i = 0; i < sentences.Count; i++)
        {
            var s = sentences[i];
            var ids = s.Tags.Select(t => labels.IdOf(t, s.Source)).ToArray();
            rows[i] = new EncodedExample([], [], -1, DomainSet.None,
                new TokenTargets(ids.Select(l => (long)l).ToArray(), Enumerable.Range(0, ids.Length).ToArray(), ids));
            outputs[i] = tagger.Distributions(s.Words).SelectMany(p => p).ToArray();
        }
        var m = TaskHeads.Metrics(TaskKind.Token, outputs, rows, labels, DomainSet.Empty);
        m.Remove("loss"); // unknown words are certain O: their log-loss would be the clamp, not a property of the baseline
        return m;
    }

    /// <summary>Extractive QA (SQuAD JSON): the word-overlap span baseline, scored as `distil eval` scores a QA model.</summary>
    static BaselineResult Qa(DataSettings d, Action<string> log)
    {
        var train = SquadReader.Read(d.Train!, d.SkipBadRows);
        var clock = Stopwatch.StartNew();
        var splits = new List<BaselineSplit>();
        int skipped = train.Skipped;
        foreach (var (name, path) in new[] { ("dev", d.Dev), ("test", d.Test) })
        {
            if (path == null) continue;
            var file = SquadReader.Read(path, d.SkipBadRows);
            skipped += file.Skipped;
            var answers = file.Questions.Select(q => SpanBaseline.Answer(q.Question, q.Context)).ToList();
            splits.Add(new BaselineSplit(name, QuestionAnswering.Metrics(file.Questions, answers, file.HasImpossible)));
            log($"word-overlap span: {name} done");
        }
        var run = new BaselineRun("sliding-window", "word-overlap span baseline after Rajpurkar et al. (2016): the non-question word of the sentence with the most IC-weighted question words, ties by proximity (nothing learnt from train)",
            null, [], splits, clock.Elapsed.TotalSeconds);
        return new BaselineResult("qa", "f1", d.Train!, train.Questions.Count, 0, skipped, [run]);
    }

    /// <summary>A metric as `distil eval` prints it: correlations, MCC and MSE as numbers, QA scores as given (already percent), the rest as percent.</summary>
    public static string Format(string task, string key, double v) =>
        task == "qa" ? v.ToString("F2", CultureInfo.InvariantCulture)
        : key is "mcc" or "mse" || key.StartsWith("pearson", StringComparison.Ordinal) || key.StartsWith("spearman", StringComparison.Ordinal)
            ? v.ToString("F4", CultureInfo.InvariantCulture) : (100 * v).ToString("F2", CultureInfo.InvariantCulture);

    /// <summary>The metric columns of a result: the first split's keys without the counts.</summary>
    public static IReadOnlyList<string> Columns(BaselineResult r)
    {
        var keys = new List<string>();
        foreach (var run in r.Baselines)
            foreach (var s in run.Splits)
                foreach (var k in s.Metrics.Keys)
                    if (k is not ("examples" or "questions") && !keys.Contains(k)) keys.Add(k);
        // The headline first.
        keys.Sort((a, b) => (a == r.Headline ? 0 : 1).CompareTo(b == r.Headline ? 0 : 1));
        return keys;
    }

    /// <summary>report.md: the table of every baseline and split, then each linear model's grid.</summary>
    public static string Report(BaselineResult r, BaselineConfig c)
    {
        var cols = Columns(r);
        var sb = new StringBuilder();
        sb.AppendLine($"# Baselines: {r.Task} task, trained on {r.Train}");
        sb.AppendLine();
        sb.AppendLine($"{r.TrainRows} training rows; {(r.Task == "qa" ? "EM/F1 in percent (official SQuAD normalisation)" : $"percentages except correlations, MCC and MSE; headline {r.Headline}")}." +
            (r.SkippedRows > 0 ? $" {r.SkippedRows} bad rows skipped." : ""));
        sb.AppendLine();
        sb.AppendLine("| baseline | split | examples | " + string.Join(" | ", cols) + " |");
        sb.AppendLine("|---|---|---|" + string.Concat(cols.Select(_ => "---|")));
        foreach (var run in r.Baselines)
            foreach (var s in run.Splits)
            {
                double n = s.Metrics.GetValueOrDefault("examples", s.Metrics.GetValueOrDefault("questions"));
                sb.AppendLine($"| {run.Name} | {s.Split} | {n:F0} | " + string.Join(" | ", cols.Select(k => s.Metrics.TryGetValue(k, out var v) ? Format(r.Task, k, v) : "")) + " |");
            }
        sb.AppendLine();
        foreach (var run in r.Baselines)
        {
            sb.AppendLine($"- **{run.Name}**: {run.Method}{(run.Setting != null ? $"; {run.Setting}" : "")}; {run.Seconds:F1} s.");
            if (run.Grid.Count > 0)
                sb.AppendLine($"  Dev {r.Headline} by C: " + string.Join(", ", run.Grid.Select(g => $"{g.C.ToString(CultureInfo.InvariantCulture)}: {Format(r.Task, r.Headline, g.Dev)}")) + $" ({c.Iterations} L-BFGS iterations each).");
        }
        return sb.ToString();
    }
}
