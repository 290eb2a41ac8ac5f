using System.Diagnostics;
using Distil.Models;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Distil.Bench;

/// <summary>A model shape to time (random weights: only the timing matters).</summary>
public sealed record Shape(string Name, int Layers, int Hidden, int Heads, int Ffn, int Vocab = 30522, int MaxPositions = 512)
{
    public static readonly Shape MiniLm = new("minilm-L6-H384", 6, 384, 12, 1536);
    public static readonly Shape BertBase = new("bert-base-L12-H768", 12, 768, 12, 3072);
    public static readonly Shape[] All = { MiniLm, BertBase };

    public BertConfig Config() => new()
    {
        VocabSize = Vocab, HiddenSize = Hidden, NumHiddenLayers = Layers, NumAttentionHeads = Heads,
        IntermediateSize = Ffn, MaxPositionEmbeddings = MaxPositions,
    };
}

/// <summary>One measurement of one shape: what was run, and how many steps.</summary>
public sealed record Measurement(string Shape, string Kind, int Batch, int Seq, int Warmup, int Steps)
{
    public string Key => $"{Shape}|{Kind}|{Batch}|{Seq}";
}

/// <summary>Times our BertForSequenceClassification: train step, batch-1 latency, batch-32 throughput.</summary>
public static class ModelBench
{
    public static IEnumerable<(Measurement M, Timing T)> Run(Shape shape, IReadOnlyList<Measurement> plan)
    {
        manual_seed(0);
        using var model = new BertForSequenceClassification(shape.Config());
        foreach (var m in plan)
        {
            Timing t = m.Kind switch
            {
                "train_step" => TrainStep(model, shape, m),
                "infer_latency" or "infer_throughput" => Inference(model, shape, m),
                _ => throw new ArgumentException(m.Kind),
            };
            yield return (m, t);
        }
    }

    static (Tensor Ids, Tensor Mask, Tensor Types) Inputs(Shape shape, int batch, int seq)
    {
        var ids = randint(0, shape.Vocab, new long[] { batch, seq }, dtype: int64);
        var mask = ones(batch, seq, dtype: int64);
        var types = zeros(batch, seq, dtype: int64);
        return (ids, mask, types);
    }

    /// <summary>fwd + cross-entropy + bwd + AdamW step (lr 1e-4, weight decay 0.01), train mode, one dispose scope per step.</summary>
    static Timing TrainStep(BertForSequenceClassification model, Shape shape, Measurement m)
    {
        model.train();
        using var optimizer = optim.AdamW(model.parameters(), lr: 1e-4, weight_decay: 0.01);
        var (ids, mask, types) = Inputs(shape, m.Batch, m.Seq);
        using var labels = randint(0, 2, new long[] { m.Batch }, dtype: int64);
        var inputs = new BertInputs(ids, mask, types);
        var samples = new List<double>();
        try
        {
            for (int i = 0; i < m.Warmup + m.Steps; i++)
            {
                var sw = Stopwatch.StartNew();
                using (var scope = NewDisposeScope())
                {
                    var output = model.forward(inputs);
                    var loss = F.cross_entropy(output.Logits, labels);
                    optimizer.zero_grad();
                    loss.backward();
                    optimizer.step();
                }
                sw.Stop();
                if (i >= m.Warmup) samples.Add(sw.Elapsed.TotalMilliseconds);
            }
        }
        finally { ids.Dispose(); mask.Dispose(); types.Dispose(); }
        optimizer.zero_grad();
        return Timing.Of(samples);
    }

    /// <summary>Eval mode + no_grad forward (logits only).</summary>
    static Timing Inference(BertForSequenceClassification model, Shape shape, Measurement m)
    {
        model.eval();
        var (ids, mask, types) = Inputs(shape, m.Batch, m.Seq);
        var inputs = new BertInputs(ids, mask, types);
        var samples = new List<double>();
        try
        {
            using var noGrad = no_grad();
            for (int i = 0; i < m.Warmup + m.Steps; i++)
            {
                var sw = Stopwatch.StartNew();
                using (var scope = NewDisposeScope())
                {
                    var output = model.forward(inputs);
                    _ = output.Logits;
                }
                sw.Stop();
                if (i >= m.Warmup) samples.Add(sw.Elapsed.TotalMilliseconds);
            }
        }
        finally { ids.Dispose(); mask.Dispose(); types.Dispose(); }
        return Timing.Of(samples);
    }
}
