using Distil.Data;
using Distil.Models;
using Distil.Training.Metrics;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Distil.Training;

/// <summary>
/// The supervised loss, the outputs and the metrics of each <see cref="TaskKind"/>, with Hugging Face's semantics
/// (docs/tasks.md): cross-entropy (sequence), cross-entropy over the positions whose label is not -100 (token), MSE of
/// the single output (regression), BCE with logits per label (multi-label).
/// </summary>
public static class TaskHeads
{
    /// <summary>The fine-tuning loss of <paramref name="logits"/> against a batch's labels (see <see cref="Collator"/> for their shapes).</summary>
    public static Tensor Loss(TaskKind task, Tensor logits, Tensor labels)
    {
        using var scope = NewDisposeScope();
        var loss = task switch
        {
            TaskKind.Token => F.cross_entropy(logits.reshape(-1, logits.shape[^1]), labels.reshape(-1), ignore_index: TokenLabelAlignment.Ignore), // (B*T, C), (B*T)
            TaskKind.Regression => F.mse_loss(logits.reshape(-1), labels.reshape(-1).to(logits.dtype)), // (B,), as HF's squeeze()
            TaskKind.MultiLabel => F.binary_cross_entropy_with_logits(logits, labels.to(logits.dtype)), // mean over (B, C)
            _ => F.cross_entropy(logits, labels),
        };
        return loss.MoveToOuterDisposeScope();
    }

    /// <summary>What a user reads from the logits: class probabilities (softmax over the last dimension), the score itself (regression) or per-label probabilities (sigmoid).</summary>
    public static Tensor Outputs(TaskKind task, Tensor logits) => task switch
    {
        TaskKind.Regression => logits.alias(),
        TaskKind.MultiLabel => F.sigmoid(logits),
        _ => F.softmax(logits, -1),
    };

    /// <summary>
    /// The metrics of one split from <see cref="Outputs"/> per example (token tasks: positions × labels, flattened).
    /// Token: entity precision/recall/F1 (seqeval's default) and word accuracy; regression: Pearson, Spearman, MSE;
    /// multi-label: micro/macro F1 and subset accuracy at <paramref name="threshold"/>; each with its loss, the example
    /// count and, where the data has domains, the headline metric per domain.
    /// </summary>
    public static Dictionary<string, double> Metrics(TaskKind task, float[][] outputs, IReadOnlyList<EncodedExample> examples, LabelSet labels,
        DomainSet domains, double threshold = MultiLabelMetrics.DefaultThreshold)
    {
        if (task == TaskKind.Sequence) return Classifier.Metrics(outputs, examples, labels.Count, domains);
        var m = task switch
        {
            TaskKind.Token => TokenMetrics(outputs, examples, labels),
            TaskKind.Regression => ScoreMetrics(outputs, examples),
            _ => MultiLabelScores(outputs, examples, threshold),
        };
        if (domains.Count > 0 && task != TaskKind.Token)
            for (int d = 0; d < domains.Count; d++)
            {
                var idx = Enumerable.Range(0, examples.Count).Where(i => examples[i].Domain == d).ToArray();
                if (idx.Length == 0) continue;
                var part = task == TaskKind.Regression ? ScoreMetrics(idx.Select(i => outputs[i]).ToArray(), idx.Select(i => examples[i]).ToArray())
                    : MultiLabelScores(idx.Select(i => outputs[i]).ToArray(), idx.Select(i => examples[i]).ToArray(), threshold);
                string key = HeadlineMetric(task);
                m[$"{key}_{domains.Names[d]}"] = part[key];
            }
        m["examples"] = examples.Count;
        return m;
    }

    /// <summary>The metric best/ is chosen by when the run's select_best_by is left at its default (accuracy).</summary>
    public static string HeadlineMetric(TaskKind task) => task switch
    {
        TaskKind.Token => "f1",
        TaskKind.Regression => "pearson",
        TaskKind.MultiLabel => "micro_f1",
        _ => "accuracy",
    };

    static Dictionary<string, double> TokenMetrics(float[][] probs, IReadOnlyList<EncodedExample> examples, LabelSet labels)
    {
        int c = labels.Count, outside = TokenEntities.Outside(labels);
        var gold = new List<IReadOnlyList<string>>();
        var predicted = new List<IReadOnlyList<string>>();
        double nll = 0;
        long positions = 0;
        for (int i = 0; i < examples.Count; i++)
        {
            var t = examples[i].Tokens ?? throw DistilException.BadInput("a token-task metric needs token-labelled rows");
            gold.Add(t.WordLabels.Select(l => labels.Names[l]).ToArray());
            predicted.Add(TokenEntities.WordPredictions(probs[i], t, c, outside).Select(l => labels.Names[l]).ToArray());
            for (int p = 0; p < t.Labels.Length; p++)
                if (t.Labels[p] != TokenLabelAlignment.Ignore) { nll -= Math.Log(Math.Max(probs[i][p * c + t.Labels[p]], 1e-12)); positions++; }
        }
        var r = EntityMetrics.Compute(gold, predicted);
        return new Dictionary<string, double>
        {
            ["f1"] = r.Micro.F1, ["precision"] = r.Micro.Precision, ["recall"] = r.Micro.Recall,
            ["token_accuracy"] = r.TokenAccuracy, ["loss"] = positions == 0 ? 0 : nll / positions,
        };
    }

    static Dictionary<string, double> ScoreMetrics(float[][] scores, IReadOnlyList<EncodedExample> examples)
    {
        var m = RegressionMetrics.Compute(scores.Select(s => (double)s[0]).ToArray(), examples.Select(e => (double)Targets(e)[0]).ToArray());
        m["loss"] = m["mse"];
        return m;
    }

    static Dictionary<string, double> MultiLabelScores(float[][] probs, IReadOnlyList<EncodedExample> examples, double threshold)
    {
        var r = MultiLabelMetrics.Compute(probs.Select(p => (IReadOnlyList<double>)p.Select(x => (double)x).ToArray()).ToArray(),
            examples.Select(e => (IReadOnlyList<bool>)Targets(e).Select(x => x > 0.5f).ToArray()).ToArray(), threshold);
        double bce = 0;
        long n = 0;
        for (int i = 0; i < examples.Count; i++)
            for (int k = 0; k < probs[i].Length; k++, n++)
            {
                double p = Math.Clamp(probs[i][k], 1e-12, 1 - 1e-12);
                bce -= Targets(examples[i])[k] > 0.5f ? Math.Log(p) : Math.Log(1 - p);
            }
        return new Dictionary<string, double>
        {
            ["micro_f1"] = r.MicroF1, ["macro_f1"] = r.MacroF1, ["subset_accuracy"] = r.SubsetAccuracy, ["loss"] = n == 0 ? 0 : bce / n,
        };
    }

    static float[] Targets(EncodedExample e) => e.Targets ?? throw DistilException.BadInput("a regression or multi-label metric needs rows with targets");
}

/// <summary>Evaluates any task's model on a dev set for the Trainer (<see cref="TaskHeads.Metrics"/>).</summary>
public sealed class TaskEvaluator(EncoderClassifier model, IReadOnlyList<EncodedExample> dev, LabelSet labels, DomainSet domains,
    double threshold, int batchSize, long padId, Device device) : IEvaluator
{
    public IReadOnlyDictionary<string, double> Evaluate() =>
        TaskHeads.Metrics(model.Task, Classifier.Predict(model, i => model.forward(i).Logits, dev, batchSize, padId, device, task: model.Task), dev, labels, domains, threshold);
}
