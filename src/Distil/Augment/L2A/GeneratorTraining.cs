using Distil.Data;
using Distil.Models;
using Distil.Pipelines;
using Distil.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Distil.Augment.L2A;

/// <summary>Settings of the learned generators (config keys generator_*; docs/l2a.md §Learned generators).</summary>
public sealed record GeneratorSettings(int MlmSteps, int RlSteps, int Batch, double MlmLearningRate, double RlLearningRate, double Temperature,
    double MlmWeight, double AdversarialWeight, double StudentWeight, int Groups, double MaskFraction, double BorrowFraction, int Seed);

/// <summary>What a finished generator stage records in its done.json.</summary>
public sealed record GeneratorStageRecord(string Objective, int Steps);

/// <summary>A generator training step's batch: only its index (the objective draws its rows from Random(Mix(seed, index))).</summary>
public sealed class GeneratorBatch(int index) : IDisposable
{
    public int Index { get; } = index;
    public void Dispose() { }
}

/// <summary>Every step is one batch of one epoch, so a resumed run sees the same step indices.</summary>
public sealed class GeneratorSteps(int steps) : IBatchSource<GeneratorBatch>
{
    public int BatchCount(int epoch) => steps;
    public GeneratorBatch GetBatch(int epoch, int index) => new(index);
}

/// <summary>
/// Which words the two generators refill. The target generator (corrupt-and-reconstruct) masks ceil(mask_fraction ×
/// refillable words) drawn uniformly; the source generator (cross-domain manipulation) masks the refillable words that
/// are more typical of the sources than of the target (<see cref="CrossDomainBorrowing.SourceTypicality"/>), most
/// typical first, up to ceil(borrow_fraction × refillable). Both return word indices in increasing order.
/// </summary>
public static class GeneratorWords
{
    public static int[] Chain(GeneratorSentence s, double fraction, Random rng)
    {
        if (s.Slots.Length == 0) return Array.Empty<int>();
        int m = Math.Max(1, (int)Math.Ceiling(fraction * s.Slots.Length));
        var order = s.Slots.ToArray();
        for (int j = 0; j < m; j++) // partial Fisher-Yates: the first m entries are a uniform m-subset
        {
            int r = j + rng.Next(order.Length - j);
            (order[j], order[r]) = (order[r], order[j]);
        }
        return order.Take(m).OrderBy(w => w).ToArray();
    }

    public static int[] Cross(GeneratorSentence s, CrossDomainBorrowing typicality, double fraction)
    {
        if (s.Slots.Length == 0) return Array.Empty<int>();
        int m = Math.Max(1, (int)Math.Ceiling(fraction * s.Slots.Length));
        return s.Slots.Select(w => (w, t: typicality.SourceTypicality(s.Spans[w].Of(s.Text)))).Where(x => x.t > 0)
            .OrderByDescending(x => x.t).ThenBy(x => x.w).Take(m).Select(x => x.w).OrderBy(w => w).ToArray();
    }
}

/// <summary>
/// The learned generators' output: (a) chains on the target (<c>copies</c> chains of <c>steps</c> refills per row,
/// distinct new texts only) and (b) source rows rewritten at their source-typical words, one copy each. Row i (copy n)
/// draws from Random(Mix(Mix(seed, i), n)); all rows of a step are refilled as one batch, so this is deterministic.
/// </summary>
public static class LearnedGenerators
{
    public static List<L2aCandidate> Chain(MlmGenerator g, IReadOnlyList<Example> target, int copies, int steps, double fraction, int seed)
    {
        var items = Enumerable.Range(0, target.Count).SelectMany(i => Enumerable.Range(0, copies).Select(n => (Row: i, Rng: new Random(WordReplacementAugmenter.Mix(WordReplacementAugmenter.Mix(seed, i), n))))).ToArray();
        var texts = items.Select(x => target[x.Row].Text).ToList();
        for (int k = 0; k < steps; k++)
        {
            var batch = items.Select((x, j) =>
            {
                var s = g.Prepare(texts[j]);
                return (s, GeneratorWords.Chain(s, fraction, x.Rng), x.Rng);
            }).ToArray();
            texts = g.Refill(batch);
        }
        var result = new List<L2aCandidate>();
        foreach (var row in items.Select((x, j) => (x.Row, Text: texts[j])).GroupBy(x => x.Row))
        {
            var e = target[row.Key];
            var seen = new HashSet<string>(StringComparer.Ordinal) { e.Text };
            foreach (var x in row)
                if (seen.Add(x.Text)) result.Add(new L2aCandidate("chain", row.Key, e.Domain, e.Label, e.Text, x.Text, e.TextPair));
        }
        return result;
    }

    public static List<L2aCandidate> Cross(MlmGenerator g, CrossDomainBorrowing typicality, IReadOnlyList<Example> sources, IReadOnlyList<int> rows, double fraction, int seed)
    {
        var batch = rows.Select(i =>
        {
            var s = g.Prepare(sources[i].Text);
            return (s, GeneratorWords.Cross(s, typicality, fraction), new Random(WordReplacementAugmenter.Mix(seed, i)));
        }).ToArray();
        var texts = g.Refill(batch);
        return rows.Select((i, k) => new L2aCandidate("cross", i, sources[i].Domain, sources[i].Label, sources[i].Text, texts[k], sources[i].TextPair)).ToList();
    }
}

/// <summary>Stage 1 (transfer): masked-LM loss of the head on source and target text; each batch is half target rows,
/// half source rows (so the handful of target rows is not drowned by the sources), 15% of the pieces masked.</summary>
public sealed class GeneratorMlmObjective(MlmGenerator g, GeneratorSentence[] target, GeneratorSentence[] sources, int batchSize, int seed) : IObjective<GeneratorBatch>
{
    public const double MaskProbability = 0.15;

    public LossResult Compute(GeneratorBatch batch)
    {
        var rng = new Random(WordReplacementAugmenter.Mix(seed, batch.Index));
        var loss = g.MlmLoss(Draw(target, sources, batchSize, rng).Select(s => g.MaskPieces(s, MaskProbability, rng)).ToArray());
        return new LossResult(loss, new Dictionary<string, double> { ["mlm"] = loss.item<float>() });
    }

    public int BatchSize(GeneratorBatch batch) => batchSize;

    /// <summary>ceil(n / 2) target rows then floor(n / 2) source rows, drawn with replacement.</summary>
    public static GeneratorSentence[] Draw(GeneratorSentence[] target, GeneratorSentence[] sources, int n, Random rng) =>
        Enumerable.Range(0, (n + 1) / 2).Select(_ => target[rng.Next(target.Length)])
            .Concat(Enumerable.Range(0, n / 2).Select(_ => sources[rng.Next(sources.Length)])).ToArray();
}

/// <summary>
/// Stage 2 (adversarial transfer + the selector's reward): REINFORCE on the head. Each step refills a batch (half target
/// rows through the chain's word choice, half source rows through the cross generator's) by sampling, and scores every
/// generated sentence x_i twice: (a) D(x_i), the domain discriminator's P(target | teacher sentence vector), and (b) the
/// student's dev gain: the batch is cut into <c>groups</c> groups, and each group's reward R_g is the drop of a scout
/// student's held-out gold cross-entropy after ONE KD step on that group (the scout is reset to its start weights before
/// each group, so R_g depends on the group only). Advantages are centred within the batch (the batch mean is the
/// baseline, so no state has to be carried across steps and resume is exact):
///   A_i = w_adv (D(x_i) - mean D) + w_student (R_{g(i)} - mean R),
///   loss = -(1/N) Σ_i A_i log π(x_i) + w_mlm · MLM loss on a real batch (the regulariser that keeps refills fluent),
/// where log π(x_i) sums log softmax(top-M logits / T) of the drawn words.
/// </summary>
public sealed class GeneratorReinforceObjective : IObjective<GeneratorBatch>
{
    readonly MlmGenerator g;
    readonly GeneratorSentence[] target, sources;
    readonly CrossDomainBorrowing typicality;
    readonly Func<IReadOnlyList<string>, (float[][] Logits, float[] TargetLikeness)> score;
    readonly Func<IReadOnlyList<string>, IReadOnlyList<float[]>, double> studentGain;
    readonly GeneratorSettings s;

    /// <param name="score">Teacher logits and the discriminator's P(target) of generated texts.</param>
    /// <param name="studentGain">Reward-scaled held-out gain of one scout KD step on texts with those teacher logits.</param>
    public GeneratorReinforceObjective(MlmGenerator g, GeneratorSentence[] target, GeneratorSentence[] sources, CrossDomainBorrowing typicality,
        Func<IReadOnlyList<string>, (float[][] Logits, float[] TargetLikeness)> score, Func<IReadOnlyList<string>, IReadOnlyList<float[]>, double> studentGain,
        GeneratorSettings settings)
    {
        this.g = g;
        this.target = target;
        this.sources = sources;
        this.typicality = typicality;
        this.score = score;
        this.studentGain = studentGain;
        s = settings;
    }

    public int BatchSize(GeneratorBatch batch) => s.Batch;

    public LossResult Compute(GeneratorBatch batch)
    {
        using var scope = NewDisposeScope();
        var rng = new Random(WordReplacementAugmenter.Mix(s.Seed ^ 0x2A5F, batch.Index));
        var rows = GeneratorMlmObjective.Draw(target, sources, s.Batch, rng);
        int half = (s.Batch + 1) / 2;
        var items = rows.Select((x, i) => (S: x, Words: i < half ? GeneratorWords.Chain(x, s.MaskFraction, rng) : GeneratorWords.Cross(x, typicality, s.BorrowFraction)))
            .Where(x => x.Words.Length > 0).ToArray();
        var terms = new Dictionary<string, double>();
        Tensor loss = g.MlmLoss(GeneratorMlmObjective.Draw(target, sources, s.Batch, rng).Select(x => g.MaskPieces(x, GeneratorMlmObjective.MaskProbability, rng)).ToArray());
        terms["mlm"] = loss.item<float>();
        loss = loss * s.MlmWeight;
        if (items.Length >= 2)
        {
            var logits = g.WordLogits(g.HiddenAtMasks(items.Select(x => g.MaskWords(x.S, x.Words)).ToArray()),
                items.SelectMany(x => MlmGenerator.Originals(x.S, x.Words)).ToArray()); // (N_masks, V)
            var (support, drawn) = g.Sample(logits, Enumerable.Repeat(rng, (int)logits.shape[0]).ToArray());
            var owner = items.SelectMany((x, i) => x.Words.Select(_ => (long)i)).ToArray();
            var perSentence = zeros(items.Length, device: logits.device).index_add(0, tensor(owner).to(logits.device), g.LogProb(logits, support, drawn), 1.0); // (S,)
            var ids = support.gather(1, tensor(drawn).unsqueeze(1).to(support.device)).squeeze(1).cpu().data<long>().ToArray();
            int at = 0;
            var texts = items.Select(x => MlmGenerator.Rewrite(x.S, x.Words, x.Words.Select(_ => g.Token(ids[at++])).ToArray())).ToArray();
            var (teacherLogits, d) = score(texts);
            var group = Enumerable.Range(0, texts.Length).Select(i => i % Math.Min(s.Groups, texts.Length)).ToArray();
            var gain = Enumerable.Range(0, group.Max() + 1).Select(k =>
            {
                var members = Enumerable.Range(0, texts.Length).Where(i => group[i] == k).ToArray();
                return studentGain(members.Select(i => texts[i]).ToArray(), members.Select(i => teacherLogits[i]).ToArray());
            }).ToArray();
            var advantage = Advantages(d.Select(v => (double)v).ToArray(), gain, group, s.AdversarialWeight, s.StudentWeight);
            var policy = PolicyLoss(perSentence, advantage);
            terms["policy"] = policy.item<float>();
            terms["target_likeness"] = d.Average();
            terms["student_gain"] = gain.Average();
            loss = loss + policy;
        }
        return new LossResult(loss.MoveToOuterDisposeScope(), terms);
    }

    /// <summary>A_i = w_adv (d_i - mean d) + w_student (gain[group_i] - mean gain): each reward centred on its batch mean (the baseline).</summary>
    public static double[] Advantages(double[] d, double[] groupGain, int[] group, double adversarialWeight, double studentWeight)
    {
        double md = d.Average(), mg = groupGain.Average();
        return d.Select((v, i) => adversarialWeight * (v - md) + studentWeight * (groupGain[group[i]] - mg)).ToArray();
    }

    /// <summary>REINFORCE: -(1/N) Σ A_i log π(x_i); its gradient raises the log-probability of samples with A_i > 0.</summary>
    public static Tensor PolicyLoss(Tensor logProb, double[] advantage)
    {
        using var scope = NewDisposeScope();
        var a = tensor(advantage.Select(v => (float)v).ToArray()).to(logProb.device); // (N,)
        return (-(a * logProb).mean()).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// Trains the learned generator's head through the one stage runner: run/generator/stage-1 (masked-LM transfer) and
/// run/generator/stage-2 (REINFORCE), each a Trainer training with checkpoints; a finished stage's head weights are
/// loaded back on --resume. <paramref name="reinforce"/> builds stage 2's objective only when stage 2 runs (it needs
/// the discriminator and scout, fitted against the stage-1 generator).
/// </summary>
public static class GeneratorTraining
{
    public static void Run(StageRunner runner, MlmGenerator g, GeneratorSettings s, GeneratorSentence[] target, GeneratorSentence[] sources,
        Func<(IObjective<GeneratorBatch> Objective, IReadOnlyList<IDisposable> Owned)> reinforce, int maxBadSteps, IReadOnlyList<TrainerCallback>? callbacks = null)
    {
        if (target.Length == 0 || sources.Length == 0) throw DistilException.Usage("the learned generator needs target and source rows");
        int count = s.RlSteps > 0 ? 2 : 1;
        var objectives = new[] { "mlm", "reinforce" };
        runner.TrainStages(Path.Combine(runner.Run.Dir, "generator"), g.Head, count, k =>
        {
            var options = new TrainingOptions
            {
                Epochs = 1, MaxSteps = k == 1 ? s.MlmSteps : s.RlSteps, BatchSize = s.Batch, LearningRate = k == 1 ? s.MlmLearningRate : s.RlLearningRate,
                WarmupRatio = 0.1, Seed = s.Seed, SaveEverySteps = 50, KeepCheckpoints = 1, MaxBadSteps = maxBadSteps, WeightDecay = 0.01,
            };
            runner.Say(k == 1 ? $"generator: masked-LM head on {target.Length} target + {sources.Length} source rows, {s.MlmSteps} steps"
                : $"generator: REINFORCE from the discriminator and the scout student, {s.RlSteps} steps");
            (IObjective<GeneratorBatch> objective, IReadOnlyList<IDisposable> owned) = k == 1
                ? (new GeneratorMlmObjective(g, target, sources, s.Batch, s.Seed), Array.Empty<IDisposable>())
                : reinforce();
            return new TrainingStage<GeneratorBatch>(new Dictionary<string, nn.Module> { ["generator"] = g.Head }, objective,
                new GeneratorSteps(k == 1 ? s.MlmSteps : s.RlSteps), options)
            { MetricsStage = k, Owned = owned, Callbacks = callbacks ?? Array.Empty<TrainerCallback>() };
        }, k => new GeneratorStageRecord(objectives[k - 1], k == 1 ? s.MlmSteps : s.RlSteps), name: "generator");
    }
}
