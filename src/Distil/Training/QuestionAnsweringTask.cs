using Distil.Data;
using Distil.Models;
using Distil.Training.Metrics;
using TorchSharp;
using static TorchSharp.torch;

namespace Distil.Training;

/// <summary>A batch of QA windows, padded to its longest: ids, mask, type ids (B, T) and the gold start/end (B).</summary>
public sealed class QaBatch(Tensor inputIds, Tensor attentionMask, Tensor tokenTypeIds, Tensor startPositions, Tensor endPositions, int[] indices) : IDisposable
{
    public Tensor InputIds { get; } = inputIds;
    public Tensor AttentionMask { get; } = attentionMask;
    public Tensor TokenTypeIds { get; } = tokenTypeIds;
    public Tensor StartPositions { get; } = startPositions;
    public Tensor EndPositions { get; } = endPositions;
    /// <summary>The features' positions in their list.</summary>
    public int[] Indices { get; } = indices;
    public int Size => Indices.Length;

    public BertInputs Inputs(Device device) => new(InputIds.to(device), AttentionMask.to(device), TokenTypeIds.to(device));

    public static QaBatch Collate(IReadOnlyList<QaFeature> features, int[] indices, long padId)
    {
        int t = indices.Max(i => features[i].Length);
        var ids = new long[indices.Length, t];
        var mask = new long[indices.Length, t];
        var types = new long[indices.Length, t];
        var starts = new long[indices.Length];
        var ends = new long[indices.Length];
        for (int b = 0; b < indices.Length; b++)
        {
            var f = features[indices[b]];
            for (int j = 0; j < t; j++)
            {
                bool real = j < f.Length;
                ids[b, j] = real ? f.InputIds[j] : padId;
                mask[b, j] = real ? 1 : 0;
                types[b, j] = real ? f.TokenTypeIds[j] : 0;
            }
            starts[b] = f.StartPosition;
            ends[b] = f.EndPosition;
        }
        return new QaBatch(tensor(ids), tensor(mask), tensor(types), tensor(starts), tensor(ends), indices);
    }

    public void Dispose()
    {
        InputIds.Dispose(); AttentionMask.Dispose(); TokenTypeIds.Dispose(); StartPositions.Dispose(); EndPositions.Dispose();
    }
}

/// <summary>QA windows in the seeded order of each epoch (resumable at any batch).</summary>
public sealed class QaBatchSource(IReadOnlyList<QaFeature> features, int batchSize, int seed, long padId) : IBatchSource<QaBatch>
{
    readonly BatchPlan plan = new(features.Count, batchSize, seed);
    int cachedEpoch = -1;
    IReadOnlyList<int[]> cached = Array.Empty<int[]>();

    public int BatchCount(int epoch) => plan.BatchesPerEpoch;

    public QaBatch GetBatch(int epoch, int index)
    {
        if (epoch != cachedEpoch) { cached = plan.Batches(epoch); cachedEpoch = epoch; }
        return QaBatch.Collate(features, cached[index], padId);
    }
}

/// <summary>Fine-tuning's QA objective: transformers' span loss (<see cref="EncoderQuestionAnswering.Loss"/>).</summary>
public sealed class QaObjective(EncoderQuestionAnswering model, Device device) : IObjective<QaBatch>
{
    public LossResult Compute(QaBatch b)
    {
        var o = model.forward(b.Inputs(device));
        return new LossResult(EncoderQuestionAnswering.Loss(o.StartLogits, o.EndLogits, b.StartPositions.to(device), b.EndPositions.to(device)));
    }

    public int BatchSize(QaBatch b) => b.Size;
}

/// <summary>Predictions of a QA model on a split, its answers and their SQuAD scores. docs/tasks.md §Extractive QA.</summary>
public static class QuestionAnswering
{
    /// <summary>Start/end logits of every window (its own length, padding cut off), batched by length; and the mean span loss.</summary>
    public static (QaWindowLogits[] Windows, double Loss) Predict(Func<BertInputs, (Tensor Start, Tensor End)> forward, IReadOnlyList<QaFeature> features,
        int batchSize, long padId, Device device)
    {
        var result = new QaWindowLogits[features.Count];
        double lossSum = 0;
        var order = Enumerable.Range(0, features.Count).OrderBy(i => features[i].Length).ToArray();
        using (no_grad())
            foreach (var chunk in order.Chunk(batchSize))
            {
                using var scope = NewDisposeScope();
                using var batch = QaBatch.Collate(features, chunk, padId);
                var (start, end) = forward(batch.Inputs(device));
                lossSum += EncoderQuestionAnswering.Loss(start, end, batch.StartPositions.to(device), batch.EndPositions.to(device)).item<float>() * chunk.Length;
                int t = (int)start.shape[1];
                float[] s = start.cpu().data<float>().ToArray(), e = end.cpu().data<float>().ToArray();
                for (int k = 0; k < chunk.Length; k++)
                {
                    var f = features[chunk[k]];
                    result[chunk[k]] = new QaWindowLogits(f, s.AsSpan(k * t, f.Length).ToArray(), e.AsSpan(k * t, f.Length).ToArray());
                }
            }
        return (result, features.Count == 0 ? 0 : lossSum / features.Count);
    }

    public static (QaWindowLogits[] Windows, double Loss) Predict(EncoderQuestionAnswering model, IReadOnlyList<QaFeature> features, int batchSize, long padId, Device device)
    {
        bool wasTraining = model.training;
        model.eval();
        try { return Predict(i => { var o = model.forward(i); return (o.StartLogits, o.EndLogits); }, features, batchSize, padId, device); }
        finally { if (wasTraining) model.train(); }
    }

    /// <summary>One answer per question of the split, from all its windows.</summary>
    public static QaAnswer[] Answers(IReadOnlyList<SquadQuestion> questions, IReadOnlyList<QaWindowLogits> windows, QaDecoding decoding)
    {
        var byQuestion = windows.GroupBy(w => w.Feature.Example).ToDictionary(g => g.Key, g => g.ToList());
        return questions.Select((q, i) => QaPostProcessing.Answer(q.Context, byQuestion[i], decoding)).ToArray();
    }

    /// <summary>
    /// The official scripts' numbers, in percent: exact and f1 (SQuAD 1.1, or 2.0 when <paramref name="v2"/>), and for
    /// 2.0 HasAns_/NoAns_ exact and f1 where the split has such questions; plus the question count.
    /// </summary>
    public static Dictionary<string, double> Metrics(IReadOnlyList<SquadQuestion> questions, IReadOnlyList<QaAnswer> answers, bool v2)
    {
        var examples = questions.Select((q, i) => new SquadExample(q.Answers.Select(a => a.Text).ToList(), answers[i].Text)).ToList();
        var m = new Dictionary<string, double> { ["questions"] = questions.Count };
        if (!v2)
        {
            var s = SquadMetrics.EvaluateV1(examples);
            (m["exact"], m["f1"]) = (s.Exact, s.F1);
            return m;
        }
        var r = SquadMetrics.EvaluateV2(examples);
        (m["exact"], m["f1"]) = (r.All.Exact, r.All.F1);
        if (r.HasAns is { } has) (m["HasAns_exact"], m["HasAns_f1"]) = (has.Exact, has.F1);
        if (r.NoAns is { } no) (m["NoAns_exact"], m["NoAns_f1"]) = (no.Exact, no.F1);
        return m;
    }

    /// <summary>Everything at once: windows' logits, answers, metrics and the mean span loss ("loss").</summary>
    public static (QaAnswer[] Answers, Dictionary<string, double> Metrics) Evaluate(Func<BertInputs, (Tensor Start, Tensor End)> forward, QaSplit split,
        QaDecoding decoding, int batchSize, long padId, Device device)
    {
        var (windows, loss) = Predict(forward, split.Features, batchSize, padId, device);
        var answers = Answers(split.Questions, windows, decoding);
        var m = Metrics(split.Questions, answers, decoding.AllowNoAnswer);
        m["loss"] = loss;
        return (answers, m);
    }
}

/// <summary>Evaluates a QA model on a dev split for the Trainer: exact, f1 (percent), loss.</summary>
public sealed class QaEvaluator(EncoderQuestionAnswering model, QaSplit dev, QaDecoding decoding, int batchSize, long padId, Device device) : IEvaluator
{
    public IReadOnlyDictionary<string, double> Evaluate() =>
        QuestionAnswering.Evaluate(i => { var o = model.forward(i); return (o.StartLogits, o.EndLogits); }, dev, decoding, batchSize, padId, device).Metrics;
}

/// <summary>Answers for free-standing (question, context) pairs, e.g. `distil predict` on a QA folder.</summary>
public static class QaAnswering
{
    public static QaAnswer[] Answer(EncoderQuestionAnswering model, Distil.Text.TextTokenizer tokenizer, IReadOnlyList<(string Question, string Context)> inputs,
        QaWindowing windowing, QaDecoding decoding, Device device, int batchSize = 32)
    {
        var questions = inputs.Select((x, i) => new SquadQuestion($"input {i + 1}", x.Question, x.Context, [], false, [], "")).ToList();
        var features = questions.SelectMany((q, i) => QaFeatures.Build(tokenizer, q, i, windowing)).ToList();
        var (windows, _) = QuestionAnswering.Predict(model, features, batchSize, tokenizer.Pad, device);
        return QuestionAnswering.Answers(questions, windows, decoding);
    }
}
