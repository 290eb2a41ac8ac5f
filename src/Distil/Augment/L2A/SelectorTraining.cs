using Distil.Data;
using Distil.Distillation;
using Distil.Labels;
using Distil.Models;
using Distil.Training;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Distil.Augment.L2A;

/// <summary>One selector step, for the reward plot and metrics: reward, baseline after the step, kept / offered, mean π(keep).</summary>
public sealed record SelectorStep(int Step, double Reward, double Baseline, int Kept, int Offered, double MeanKeep, double HeldOutLoss);

/// <summary>The candidate pool the selector chooses from: encoded texts, teacher logits, and the features that do not depend on the student.</summary>
public sealed record CandidatePool(EncodedExample[] Examples, float[][] TeacherLogits, float[][] StaticFeatures)
{
    /// <summary>Names of the selector's input features, in order: the static ones, then the student's loss.</summary>
    public static readonly string[] FeatureNames = { "teacher_confidence", "teacher_entropy", "discriminator", "target_similarity", "cross_domain", "student_loss" };
}

/// <summary>
/// Trains the reinforced selector against a scout student. Not the shared Trainer: this is a bi-level loop in which
/// every step (1) the policy keeps or drops each candidate of a random batch, (2) the student takes ONE KD step on
/// the kept candidates (soft cross-entropy to the teacher, x T²), (3) the reward is the drop of the student's gold
/// cross-entropy on held-out target data caused by that step, and (4) the policy takes a REINFORCE step. The reward
/// depends on the student's state right after each update, which the Trainer's single-objective loop cannot express.
/// </summary>
public static class SelectorTraining
{
    /// <param name="MaxBadSteps">training.max_bad_steps: non-finite steps (scout or policy) skipped before the fault.</param>
    public sealed record Settings(int Steps, int BatchSize, double StudentLearningRate, double Temperature, double RewardScale, int Seed, int EvalBatchSize,
        int MaxBadSteps = 0);

    public static List<SelectorStep> Run(ReinforcedSelector selector, BertForSequenceClassification student, CandidatePool pool,
        EncodedExample[] heldOut, Settings s, long padId, Device device, Action<string>? log = null)
    {
        if (pool.Examples.Length == 0) throw DistilException.Usage("the candidate pool is empty: the generators made nothing (raise the generator counts or data_portion)");
        if (heldOut.Length == 0) throw DistilException.Usage("no held-out target examples for the selector's reward: the dev file has no row of the target domain");
        var (mean, std) = Standardizer(pool, StudentLosses(student, pool, Enumerable.Range(0, pool.Examples.Length).ToArray(), padId, device, s.EvalBatchSize));
        using var optimizer = optim.AdamW(student.parameters(), lr: s.StudentLearningRate);
        var rng = new Random(s.Seed);
        var history = new List<SelectorStep>();
        var budget = new NonFiniteBudget(s.MaxBadSteps);
        double before = HeldOutLoss(student, heldOut, padId, device, s.EvalBatchSize);
        for (int step = 1; step <= s.Steps; step++)
        {
            using var scope = NewDisposeScope();
            var batch = Enumerable.Range(0, Math.Min(s.BatchSize, pool.Examples.Length)).Select(_ => rng.Next(pool.Examples.Length)).Distinct().ToArray();
            var features = Features(pool, batch, StudentLosses(student, pool, batch, padId, device, s.EvalBatchSize), mean, std);
            var keep = selector.Act(features);
            var kept = batch.Where((_, k) => keep[k]).ToArray();
            double after = before;
            if (kept.Length > 0)
            {
                KdStep(student, optimizer, pool, kept, s.Temperature, padId, device, budget);
                after = HeldOutLoss(student, heldOut, padId, device, s.EvalBatchSize);
            }
            double reward = (before - after) * s.RewardScale;
            selector.Update(features, keep, reward, budget);
            var probs = selector.KeepProbabilities(features);
            history.Add(new SelectorStep(step, reward, selector.Baseline ?? 0, kept.Length, batch.Length, probs.Average(), after));
            if (step % 10 == 0 || step == s.Steps)
                log?.Invoke($"selector step {step}/{s.Steps}: reward {reward:F3}, baseline {selector.Baseline:F3}, kept {kept.Length}/{batch.Length}, held-out loss {after:F4}");
            before = after;
        }
        if (budget.Skipped > 0) log?.Invoke($"selector: {budget.Skipped} non-finite steps skipped (--skip-nonfinite {s.MaxBadSteps})");
        return history;
    }

    /// <summary>π(keep) for every candidate of the pool, with the student's current losses.</summary>
    public static float[] KeepProbabilities(ReinforcedSelector selector, BertForSequenceClassification student, CandidatePool pool, long padId, Device device, int evalBatch)
    {
        var all = Enumerable.Range(0, pool.Examples.Length).ToArray();
        var losses = StudentLosses(student, pool, all, padId, device, evalBatch);
        var (mean, std) = Standardizer(pool, losses);
        using var scope = NewDisposeScope();
        return selector.KeepProbabilities(Features(pool, all, losses, mean, std));
    }

    static (float[] Mean, float[] Std) Standardizer(CandidatePool pool, float[] studentLosses)
    {
        int f = CandidatePool.FeatureNames.Length;
        var mean = new float[f];
        var std = new float[f];
        for (int j = 0; j < f; j++)
        {
            var col = Enumerable.Range(0, pool.Examples.Length).Select(i => j < f - 1 ? pool.StaticFeatures[i][j] : studentLosses[i]).ToArray();
            mean[j] = col.Average();
            std[j] = MathF.Max(1e-6f, MathF.Sqrt(col.Select(v => (v - mean[j]) * (v - mean[j])).Average()));
        }
        return (mean, std);
    }

    static Tensor Features(CandidatePool pool, int[] rows, float[] studentLosses, float[] mean, float[] std)
    {
        int f = CandidatePool.FeatureNames.Length;
        var flat = new float[rows.Length * f];
        for (int k = 0; k < rows.Length; k++)
            for (int j = 0; j < f; j++)
            {
                float v = j < f - 1 ? pool.StaticFeatures[rows[k]][j] : studentLosses[k];
                flat[k * f + j] = (v - mean[j]) / std[j];
            }
        return tensor(flat).view(rows.Length, f); // (N, F)
    }

    /// <summary>Soft cross-entropy of the student against the teacher (T = 1) for each of <paramref name="rows"/>.</summary>
    static float[] StudentLosses(BertForSequenceClassification student, CandidatePool pool, int[] rows, long padId, Device device, int batchSize)
    {
        var sub = rows.Select(i => pool.Examples[i]).ToArray();
        var logits = Classifier.PredictLogits(student, sub, batchSize, padId, device);
        return rows.Select((i, k) =>
        {
            var p = TeacherLabels.Softmax(pool.TeacherLogits[i]);
            var q = TeacherLabels.Softmax(logits[k]);
            return -p.Select((pc, c) => pc * MathF.Log(MathF.Max(q[c], 1e-12f))).Sum();
        }).ToArray();
    }

    internal static void KdStep(BertForSequenceClassification student, optim.Optimizer optimizer, CandidatePool pool, int[] rows, double temperature, long padId, Device device,
        NonFiniteBudget budget)
    {
        student.train();
        using var scope = NewDisposeScope();
        using var batch = Collator.CollateAt(pool.Examples, rows, padId);
        var teacher = tensor(rows.SelectMany(i => pool.TeacherLogits[i]).ToArray()).view(rows.Length, -1).to(device); // (B, C)
        optimizer.zero_grad();
        var loss = KdLosses.SoftCrossEntropy(student.forward(Classifier.Inputs(batch, device)).Logits, teacher, temperature) * (temperature * temperature);
        if (!budget.Skip(loss.item<float>(), "KD loss", "L2A selector training (inner student step)",
                "lower training.learning_rate or raise temperature; the teacher logits may hold NaN/Inf"))
        {
            loss.backward();
            optimizer.step();
        }
        student.eval();
    }

    internal static double HeldOutLoss(BertForSequenceClassification student, EncodedExample[] heldOut, long padId, Device device, int batchSize)
    {
        var probs = Classifier.PredictProbabilities(student, heldOut, batchSize, padId, device);
        return -heldOut.Select((e, i) => Math.Log(Math.Max(probs[i][e.Label], 1e-12))).Average();
    }

    /// <summary>Teacher confidence (max prob), entropy, discriminator score, cosine to the target centroid, cross-domain flag.</summary>
    public static float[][] StaticFeatures(float[][] teacherLogits, float[] discriminator, Tensor pooled, Tensor targetPooled, IReadOnlyList<L2aCandidate> candidates)
    {
        using var scope = NewDisposeScope();
        var centroid = targetPooled.mean(new long[] { 0 }, keepdim: true);                                      // (1, H)
        var cos = F.cosine_similarity(pooled, centroid.expand_as(pooled), dim: 1).data<float>().ToArray();    // (N,)
        return teacherLogits.Select((z, i) =>
        {
            var p = TeacherLabels.Softmax(z);
            float entropy = -p.Sum(v => v > 0 ? v * MathF.Log(v) : 0);
            return new[] { p.Max(), entropy, discriminator[i], cos[i], candidates[i].Generator == "cross" ? 1f : 0f };
        }).ToArray();
    }
}
