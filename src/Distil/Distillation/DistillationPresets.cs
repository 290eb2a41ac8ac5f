using Distil.Models;

namespace Distil.Distillation;

/// <summary>A named recipe: stages run one after another, each a list of matches (TinyBERT and MiniLM have two).</summary>
public sealed record DistillationPlan(string Name, IReadOnlyList<IReadOnlyList<IntermediateMatch>> Stages);

/// <summary>
/// The seed's methods as data built from matches (so they print, serialise and validate like user matches).
/// Hinton scaling: the soft term's gradients shrink as 1/T², so KD totals are α·CE + (1-α)·T²·soft_ce and the T² sits
/// in the soft_ce match's weight (KdLosses.SoftCrossEntropy itself has no T²).
/// </summary>
/// <summary>What a preset is built from: both shapes, the logits temperature and the hard-label weight, and the
/// projection intermediate matches need (null when the widths agree).</summary>
public sealed record PresetArgs(BertConfig Teacher, BertConfig Student, double Temperature, double Alpha, string? Projection);

/// <summary>A registered recipe: its name, one line for --help, and its stages built from the shapes.</summary>
public sealed record PresetSpec(string Name, string Description, Func<PresetArgs, IReadOnlyList<IReadOnlyList<IntermediateMatch>>> Stages);

public static class DistillationPresets
{
    static readonly List<PresetSpec> Registered = new();

    /// <summary>Registered preset names, in registration order.</summary>
    public static IReadOnlyList<string> Names => Registered.Select(p => p.Name).ToArray();

    public static IReadOnlyList<PresetSpec> All => Registered;

    /// <summary>PKD's β for the normalised [CLS] distance (summed over features, see KdLosses.NormalizedClsMse; the paper searches 10 .. 1000).</summary>
    public const double PkdWeight = 100;

    static DistillationPresets()
    {
        static IReadOnlyList<IReadOnlyList<IntermediateMatch>> One(IEnumerable<IntermediateMatch> matches) => new[] { (IReadOnlyList<IntermediateMatch>)matches.ToList() };
        Register(new("kd", "Hinton KD: alpha CE + (1 - alpha) T² soft CE", a => One(Kd(a.Temperature, a.Alpha))));
        Register(new("distilbert", "KD + cosine of hidden states on a uniform layer map", a => One(Kd(a.Temperature, a.Alpha).Concat(
            LayerMapping.Uniform(a.Teacher.NumHiddenLayers, a.Student.NumHiddenLayers)
                .Select(p => new IntermediateMatch(p.Teacher, p.Student, MatchFeatures.Hidden, MatchLosses.Cosine, Projection: a.Projection))))));
        // Patient KD: intermediate layers only (the top layer is already taught through the logits).
        Register(new("pkd", "KD + normalised [CLS] distance of the intermediate layers", a => One(Kd(a.Temperature, a.Alpha).Concat(
            LayerMapping.Uniform(a.Teacher.NumHiddenLayers, a.Student.NumHiddenLayers).Where(p => p.Student < a.Student.NumHiddenLayers).Select(p =>
                new IntermediateMatch(p.Teacher, p.Student, MatchFeatures.ClsHidden, MatchLosses.Mse, PkdWeight, Projection: a.Projection))))));
        Register(new("tinybert", "stage 1 embedding, hidden and attention MSE; stage 2 soft CE on the logits",
            a => new[] { TinyBertIntermediate(a.Teacher, a.Student, a.Projection), TinyBertPrediction() }));
        Register(new("minilm", "stage 1 last-layer attention and value relations; stage 2 KD",
            a => new[] { MiniLmLastLayer(a.Teacher, a.Student), Kd(a.Temperature, a.Alpha).ToList() }));
    }

    /// <summary>Adds (or replaces) a preset; it is validated against the shapes each time it is built.</summary>
    public static void Register(PresetSpec preset)
    {
        Registered.RemoveAll(p => p.Name == preset.Name);
        Registered.Add(preset);
    }

    public static DistillationPlan Get(string name, BertConfig teacher, BertConfig student, double temperature = 2.0, double alpha = 0.5)
    {
        if (!(double.IsFinite(temperature) && temperature > 0)) throw DistilException.Usage($"temperature {temperature} must be > 0");
        if (!(alpha >= 0 && alpha <= 1)) throw DistilException.Usage($"alpha {alpha} must be in [0, 1]");
        var preset = Registered.FirstOrDefault(p => p.Name == name)
            ?? throw DistilException.Usage($"unknown preset '{name}'; valid presets: {string.Join(", ", Names)}");
        string? proj = teacher.HiddenSize == student.HiddenSize ? null : "linear";
        var plan = new DistillationPlan(name, preset.Stages(new PresetArgs(teacher, student, temperature, alpha, proj)));
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

}
