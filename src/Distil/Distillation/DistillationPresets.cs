using Distil.Models;

namespace Distil.Distillation;

/// <summary>A named recipe: stages run one after another, each a list of matches (TinyBERT and MiniLM have two).</summary>
public sealed record DistillationPlan(string Name, IReadOnlyList<IReadOnlyList<IntermediateMatch>> Stages);

/// <summary>
/// The seed's methods as data built from matches (so they print, serialise and validate like user matches).
/// Hinton scaling: the soft term's gradients shrink as 1/T², so KD totals are α·CE + (1-α)·T²·soft_ce and the T² sits
/// in the soft_ce match's weight (KdLosses.SoftCrossEntropy itself has no T²).
/// </summary>
public static class DistillationPresets
{
    public static readonly IReadOnlyList<string> Names = new[] { "kd", "distilbert", "pkd", "tinybert", "minilm" };

    /// <summary>PKD's β for the normalised [CLS] distance (summed over features, see KdLosses.NormalizedClsMse; the paper searches 10 .. 1000).</summary>
    public const double PkdWeight = 100;

    public static DistillationPlan Get(string name, BertConfig teacher, BertConfig student, double temperature = 2.0, double alpha = 0.5)
    {
        if (!(double.IsFinite(temperature) && temperature > 0)) throw DistilException.Usage($"temperature {temperature} must be > 0");
        if (!(alpha >= 0 && alpha <= 1)) throw DistilException.Usage($"alpha {alpha} must be in [0, 1]");
        int lt = teacher.NumHiddenLayers, ls = student.NumHiddenLayers;
        string? proj = teacher.HiddenSize == student.HiddenSize ? null : "linear";
        var plan = name switch
        {
            "kd" => One(name, Kd(temperature, alpha)),
            "distilbert" => One(name, Kd(temperature, alpha).Concat(
                LayerMapping.Uniform(lt, ls).Select(p => new IntermediateMatch(p.Teacher, p.Student, MatchFeatures.Hidden, MatchLosses.Cosine, Projection: proj)))),
            // Patient KD: intermediate layers only (the top layer is already taught through the logits).
            "pkd" => One(name, Kd(temperature, alpha).Concat(
                LayerMapping.Uniform(lt, ls).Where(p => p.Student < ls).Select(p =>
                    new IntermediateMatch(p.Teacher, p.Student, MatchFeatures.ClsHidden, MatchLosses.Mse, PkdWeight, Projection: proj)))),
            "tinybert" => new DistillationPlan(name, new[] { TinyBertIntermediate(teacher, student, proj), TinyBertPrediction() }),
            "minilm" => new DistillationPlan(name, new[] { MiniLmLastLayer(teacher, student), Kd(temperature, alpha).ToList() }),
            _ => throw DistilException.Usage($"unknown preset '{name}'; valid presets: {string.Join(", ", Names)}"),
        };
        foreach (var stage in plan.Stages) MatchRegistry.Validate(stage, teacher, student);
        return plan;
    }

    /// <summary>α·CE(labels) + (1-α)·T²·soft_ce(logits at T).</summary>
    public static IEnumerable<IntermediateMatch> Kd(double temperature, double alpha)
    {
        if (alpha > 0) yield return new IntermediateMatch(0, 0, MatchFeatures.Labels, MatchLosses.HardCe, alpha);
        if (alpha < 1)
            yield return new IntermediateMatch(0, 0, MatchFeatures.Logits, MatchLosses.SoftCe, (1 - alpha) * temperature * temperature, temperature);
    }

    // Stage 1: embedding + hidden MSE (projection when widths differ) + attention score MSE, uniform map.
    static IReadOnlyList<IntermediateMatch> TinyBertIntermediate(BertConfig teacher, BertConfig student, string? proj)
    {
        if (teacher.NumAttentionHeads != student.NumAttentionHeads)
            throw DistilException.Usage($"tinybert matches attention scores head by head: teacher has {teacher.NumAttentionHeads} heads, student {student.NumAttentionHeads}; give the student {teacher.NumAttentionHeads} heads or use minilm");
        var map = LayerMapping.Uniform(teacher.NumHiddenLayers, student.NumHiddenLayers);
        var list = new List<IntermediateMatch> { new(0, 0, MatchFeatures.Embedding, MatchLosses.Mse, Projection: proj) };
        list.AddRange(map.Select(p => new IntermediateMatch(p.Teacher, p.Student, MatchFeatures.Hidden, MatchLosses.Mse, Projection: proj)));
        list.AddRange(map.Select(p => new IntermediateMatch(p.Teacher, p.Student, MatchFeatures.Attention, MatchLosses.Mse)));
        return list;
    }

    // Stage 2: prediction-layer distillation, soft CE at T = 1 (TinyBERT's best).
    static IReadOnlyList<IntermediateMatch> TinyBertPrediction() =>
        new[] { new IntermediateMatch(0, 0, MatchFeatures.Logits, MatchLosses.SoftCe, 1, 1.0) };

    // Stage 1: last-layer attention KL (or its relation form when head counts differ) + value-relation KL.
    // Stage 2 (in Get): KD on the task, since stage 1 never trains the classifier.
    static IReadOnlyList<IntermediateMatch> MiniLmLastLayer(BertConfig teacher, BertConfig student)
    {
        int lt = teacher.NumHiddenLayers, ls = student.NumHiddenLayers;
        int r = RelationHeads(teacher, student);
        var attention = teacher.NumAttentionHeads == student.NumAttentionHeads
            ? new IntermediateMatch(lt, ls, MatchFeatures.Attention, MatchLosses.Kl)
            : new IntermediateMatch(lt, ls, MatchFeatures.AttentionRelation, MatchLosses.Kl, RelationHeads: r);
        return new[] { attention, new IntermediateMatch(lt, ls, MatchFeatures.ValueRelation, MatchLosses.Kl, RelationHeads: r) };
    }

    /// <summary>Relation heads dividing both widths: the shared head count when equal, else the student's or the
    /// teacher's when it divides the other width, else gcd of the head counts (always divides both widths).</summary>
    public static int RelationHeads(BertConfig teacher, BertConfig student)
    {
        int ht = teacher.NumAttentionHeads, hs = student.NumAttentionHeads;
        if (ht == hs) return ht;
        if (teacher.HiddenSize % hs == 0) return hs;
        if (student.HiddenSize % ht == 0) return ht;
        return Gcd(ht, hs);
    }

    static int Gcd(int a, int b) => b == 0 ? a : Gcd(b, a % b);

    static DistillationPlan One(string name, IEnumerable<IntermediateMatch> matches) => new(name, new[] { matches.ToList() });
}
