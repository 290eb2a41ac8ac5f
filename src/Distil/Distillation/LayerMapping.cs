namespace Distil.Distillation;

/// <summary>Student transformer layer <see cref="Student"/> learns from teacher layer <see cref="Teacher"/> (both 1-based).</summary>
public readonly record struct LayerPair(int Teacher, int Student);

/// <summary>
/// Which teacher layer each student layer learns from (TextBrewer users ask this most; a rule beats a table).
/// uniform: m &lt;- m·Lt/Ls (TinyBERT g(m) = 3m for 4 &lt;- 12); last: the top <c>count</c> layers of each;
/// skip: m &lt;- m·k, every k-th teacher layer from the bottom (DistilBERT); explicit: the given pairs.
/// </summary>
public static class LayerMapping
{
    public static readonly IReadOnlyList<string> Names = new[] { "uniform", "last", "skip", "explicit" };

    public static IReadOnlyList<LayerPair> Uniform(int teacherLayers, int studentLayers)
    {
        Check(teacherLayers, studentLayers);
        // Integer division: the top student layer always maps to the top teacher layer.
        return Enumerable.Range(1, studentLayers).Select(m => new LayerPair(m * teacherLayers / studentLayers, m)).ToArray();
    }

    public static IReadOnlyList<LayerPair> Last(int teacherLayers, int studentLayers, int count = 1)
    {
        Check(teacherLayers, studentLayers);
        if (count < 1 || count > studentLayers)
            throw DistilException.Usage($"layer map 'last': count {count} must be 1 .. {studentLayers} (student layers)");
        return Enumerable.Range(0, count).Reverse().Select(k => new LayerPair(teacherLayers - k, studentLayers - k)).ToArray();
    }

    public static IReadOnlyList<LayerPair> Skip(int teacherLayers, int studentLayers, int every)
    {
        Check(teacherLayers, studentLayers);
        if (every < 1 || every * studentLayers > teacherLayers)
            throw DistilException.Usage($"layer map 'skip': every {every} layers x {studentLayers} student layers exceeds the teacher's {teacherLayers}; use every <= {teacherLayers / studentLayers}");
        return Enumerable.Range(1, studentLayers).Select(m => new LayerPair(m * every, m)).ToArray();
    }

    public static IReadOnlyList<LayerPair> Explicit(int teacherLayers, int studentLayers, IEnumerable<LayerPair> pairs)
    {
        Check(teacherLayers, studentLayers);
        var list = pairs.ToArray();
        foreach (var p in list)
            if (p.Teacher < 1 || p.Teacher > teacherLayers || p.Student < 1 || p.Student > studentLayers)
                throw DistilException.Usage($"layer map pair teacher {p.Teacher} -> student {p.Student}: layers are 1 .. {teacherLayers} (teacher) and 1 .. {studentLayers} (student)");
        return list;
    }

    /// <summary>By name: uniform, last (count = <paramref name="k"/>, default 1), skip (every = <paramref name="k"/>,
    /// default Lt/Ls), explicit (<paramref name="pairs"/>).</summary>
    public static IReadOnlyList<LayerPair> Get(string name, int teacherLayers, int studentLayers, int? k = null, IEnumerable<LayerPair>? pairs = null) =>
        name switch
        {
            "uniform" => Uniform(teacherLayers, studentLayers),
            "last" => Last(teacherLayers, studentLayers, k ?? 1),
            "skip" => Skip(teacherLayers, studentLayers, k ?? Math.Max(1, teacherLayers / studentLayers)),
            "explicit" => Explicit(teacherLayers, studentLayers, pairs ?? throw DistilException.Usage("layer map 'explicit' needs the list of pairs")),
            _ => throw DistilException.Usage($"unknown layer map '{name}'; valid: {string.Join(", ", Names)}"),
        };

    static void Check(int teacherLayers, int studentLayers)
    {
        if (teacherLayers < 1 || studentLayers < 1)
            throw DistilException.Usage($"layer counts must be positive (teacher {teacherLayers}, student {studentLayers})");
        if (studentLayers > teacherLayers)
            throw DistilException.Usage($"student has {studentLayers} layers, more than the teacher's {teacherLayers}: no layer map applies");
    }
}
