using Distil.Checkpoints;
using Distil.Data;
using Distil.Models;
using Distil.Training;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Distil.Search;

/// <summary>
/// Per-example targets of the search: the logits of one linear probe per teacher layer (embeddings + each layer),
/// (N, L+1, C), the teacher's own logits (N, C), and each probe's accuracy (train, and dev when given).
/// </summary>
public sealed record ProbeTargets(Tensor ProbeLogits, Tensor TeacherLogits, double[] TrainAccuracy, double[]? DevAccuracy)
{
    public int TeacherLayers => (int)ProbeLogits.shape[1] - 1;
}

/// <summary>Probe training settings (EasyTransfer probes_teacher_config: Adam lr 5e-3, 4 epochs, batch 32).</summary>
public sealed record ProbeSettings(int Epochs = 4, double LearningRate = 5e-3, int BatchSize = 32, int Seed = 42);

/// <summary>
/// Teacher probes (docs/adabert.md §Probes): the teacher is frozen; each layer's mean-pooled hidden states (layer 0 = the
/// embedding output) feed a linear probe trained with cross-entropy on the gold labels. Mean pooling (not [CLS])
/// because that is how the fine-tuned teacher itself pools. Computed once per (teacher, data, settings) and cached
/// next to the data like the teacher logits.
/// </summary>
public static class TeacherProbes
{
    public static ProbeTargets GetOrCompute(string teacherDir, EncoderClassifier teacher, TaskData data, ProbeSettings s,
        int batchSize, long padId, Device device, Action<string>? log = null)
    {
        string key = DataCache.Key(teacherDir, data.TrainSet) + $"-e{s.Epochs}-lr{s.LearningRate}-b{s.BatchSize}-s{s.Seed}"
            + (data.DevSet != null ? $"-dev{DataCache.Key(teacherDir, data.DevSet)[..8]}" : "");
        string path = Path.Combine(DataCache.CacheDir(data.Train.Path), $"teacher-probes-{key}.safetensors");
        if (File.Exists(path))
        {
            try
            {
                var t = SafeTensors.Read(path);
                if (t["probe_logits"].shape[0] == data.TrainSet.Length)
                {
                    log?.Invoke($"teacher probes from cache {path}");
                    return new ProbeTargets(t["probe_logits"], t["teacher_logits"], t["train_accuracy"].data<float>().Select(x => (double)x).ToArray(),
                        t.TryGetValue("dev_accuracy", out var d) ? d.data<float>().Select(x => (double)x).ToArray() : null);
                }
            }
            catch (Exception e) when (e is DistilException or KeyNotFoundException) { } // a damaged cache is recomputed
        }
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var (trainFeatures, teacherLogits) = Features(teacher, data.TrainSet, batchSize, padId, device);
        log?.Invoke($"teacher features of {data.TrainSet.Length} examples in {clock.Elapsed.TotalSeconds:F1} s");
        var labels = tensor(data.TrainSet.Select(e => e.Label).ToArray());
        var (w, b) = Train(trainFeatures, labels, data.Labels.Count, s);
        var probeLogits = Apply(trainFeatures, w, b);
        var trainAcc = Accuracy(probeLogits, labels);
        double[]? devAcc = null;
        if (data.DevSet != null)
        {
            var (devFeatures, _) = Features(teacher, data.DevSet, batchSize, padId, device);
            devAcc = Accuracy(Apply(devFeatures, w, b), tensor(data.DevSet.Select(e => e.Label).ToArray()));
        }
        log?.Invoke($"teacher probes trained: train accuracy per layer {string.Join(" ", trainAcc.Select(a => a.ToString("F3")))}" +
            (devAcc != null ? $"; dev {string.Join(" ", devAcc.Select(a => a.ToString("F3")))}" : ""));
        var result = new ProbeTargets(probeLogits, teacherLogits, trainAcc, devAcc);
        var tensors = new List<KeyValuePair<string, Tensor>>
        {
            new("probe_logits", probeLogits), new("teacher_logits", teacherLogits),
            new("train_accuracy", tensor(trainAcc.Select(x => (float)x).ToArray())),
        };
        if (devAcc != null) tensors.Add(new("dev_accuracy", tensor(devAcc.Select(x => (float)x).ToArray())));
        WriteFault.TryWriteCache(path, "teacher probes", () => SafeTensors.Write(path, tensors, new Dictionary<string, string> { ["format"] = "pt", ["teacher"] = Path.GetFullPath(teacherDir) }), log);
        return result;
    }

    /// <summary>Mean-pooled hidden states of every layer, (N, L+1, H), and the teacher's logits (N, C), in example order.</summary>
    public static (Tensor Features, Tensor Logits) Features(EncoderClassifier teacher, IReadOnlyList<EncodedExample> examples, int batchSize, long padId, Device device)
    {
        bool wasTraining = teacher.training;
        teacher.eval();
        int layers = teacher.Shape.NumHiddenLayers + 1, hidden = teacher.Shape.HiddenSize;
        var features = zeros(examples.Count, layers, hidden);
        var logits = zeros(examples.Count, teacher.Shape.NumLabels);
        var order = Enumerable.Range(0, examples.Count).OrderBy(i => examples[i].InputIds.Length).ToArray();
        using (no_grad())
            foreach (var chunk in order.Chunk(batchSize))
            {
                using var scope = NewDisposeScope();
                using var batch = Collator.CollateAt(examples, chunk, padId);
                var output = teacher.forward(Training.Classifier.Inputs(batch, device), new OutputRequest(HiddenStates: true));
                var mask = batch.AttentionMask.to(device);
                var pooled = stack(output.Encoder.HiddenStates!.Select(h => BertForSequenceClassification.MeanPool(h, mask)).ToArray(), 1).cpu(); // (b, L+1, H)
                var index = tensor(chunk.Select(i => (long)i).ToArray());
                features.index_copy_(0, index, pooled);
                logits.index_copy_(0, index, output.Logits.cpu());
            }
        if (wasTraining) teacher.train();
        return (features, logits);
    }

    /// <summary>All L+1 probes at once: weights (L+1, H, C) and biases (L+1, C), loss Σ_j CE(y, probe_j), Adam.</summary>
    public static (Tensor W, Tensor B) Train(Tensor features, Tensor labels, int classes, ProbeSettings s)
    {
        long n = features.shape[0], layers = features.shape[1], hidden = features.shape[2];
        using var _ = NewDisposeScope();
        var w = nn.Parameter(zeros(layers, hidden, classes));
        var b = nn.Parameter(zeros(layers, classes));
        using var adam = optim.Adam([w, b], lr: s.LearningRate);
        var plan = new BatchPlan((int)n, s.BatchSize, s.Seed);
        for (int epoch = 0; epoch < s.Epochs; epoch++)
            foreach (var rows in plan.Batches(epoch))
            {
                using var scope = NewDisposeScope();
                var idx = tensor(rows.Select(i => (long)i).ToArray());
                var logits = Apply(features.index_select(0, idx), w, b);                          // (b, L+1, C)
                var y = labels.index_select(0, idx).repeat_interleave(layers);                   // (b * (L+1))
                var loss = F.cross_entropy(logits.reshape(-1, classes), y) * layers;             // Σ_j CE_j
                Training.NonFinite.Check(loss.item<float>(), "loss", $"teacher probe training (epoch {epoch + 1})",
                    "the teacher's hidden states hold NaN/Inf (check the teacher folder) or the probe learning rate is too high");
                adam.zero_grad();
                loss.backward();
                adam.step();
            }
        return (w.detach().MoveToOuterDisposeScope(), b.detach().MoveToOuterDisposeScope());
    }

    /// <summary>(N, L+1, H) x (L+1, H, C) + (L+1, C) -> (N, L+1, C).</summary>
    public static Tensor Apply(Tensor features, Tensor w, Tensor b)
    {
        using var scope = NewDisposeScope();
        return (einsum("nlh,lhc->nlc", features, w) + b).MoveToOuterDisposeScope();
    }

    static double[] Accuracy(Tensor logits, Tensor labels)
    {
        using var scope = NewDisposeScope();
        var correct = logits.argmax(-1).eq(labels.unsqueeze(1)).to(float32).mean(new long[] { 0 }); // (L+1)
        return correct.data<float>().Select(x => (double)x).ToArray();
    }
}
