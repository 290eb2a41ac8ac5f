using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Distil.Distillation;

/// <summary>
/// Learned student-width -> teacher-width maps (TinyBERT's W_h), one Linear per match that declares
/// projection "linear", registered as <c>proj_{feature}_{student}_to_{teacher}</c> so the Trainer optimises and
/// checkpoints them with the run (they are not part of the student). Matches with the same name share one Linear.
/// </summary>
public sealed class Projections : nn.Module
{
    readonly Dictionary<string, Linear> byName = new(StringComparer.Ordinal);

    /// <summary>Build from matches already checked by <see cref="MatchRegistry.Validate"/>.</summary>
    public Projections(IEnumerable<IntermediateMatch> matches, int studentWidth, int teacherWidth) : base(nameof(Projections))
    {
        foreach (var m in matches.Where(m => m.Projection == "linear"))
        {
            var name = NameOf(m);
            if (byName.ContainsKey(name)) continue;
            var linear = nn.Linear(studentWidth, teacherWidth);
            byName[name] = linear;
            register_module(name, linear);
        }
    }

    public static string NameOf(IntermediateMatch m) => $"proj_{m.Feature}_{m.StudentLayer}_to_{m.TeacherLayer}";

    public IReadOnlyCollection<string> Names => byName.Keys;

    /// <summary>The student tensor mapped to the teacher width, or unchanged when the match declares no projection.</summary>
    public Tensor Apply(IntermediateMatch m, Tensor student)
    {
        if (m.Projection is null) return student;
        if (!byName.TryGetValue(NameOf(m), out var linear))
            throw DistilException.Usage($"no projection {NameOf(m)}: build Projections from the same matches");
        return linear.forward(student);
    }
}
