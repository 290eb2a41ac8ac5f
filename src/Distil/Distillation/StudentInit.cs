using Distil.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Distil.Distillation;

/// <summary>
/// Builds a student: random (HF initialisation), or from the teacher's weights when the widths match
/// (DistilBERT: the embeddings, every k-th transformer layer, pooler and classifier are copied).
/// </summary>
public static class StudentInit
{
    /// <summary>The teacher layers (0-based) a student of <paramref name="studentLayers"/> layers copies: spread evenly from the bottom.</summary>
    public static int[] TeacherLayersFor(int studentLayers, int teacherLayers)
    {
        if (studentLayers > teacherLayers)
            throw DistilException.Usage($"a student of {studentLayers} layers cannot be initialised from a teacher of {teacherLayers} layers; use --init random");
        return Enumerable.Range(0, studentLayers).Select(i => (int)Math.Round((double)i * teacherLayers / studentLayers)).ToArray();
    }

    public static BertForSequenceClassification Create(BertConfig studentConfig, BertForSequenceClassification teacher, string init, int seed)
    {
        manual_seed(seed);
        var student = new BertForSequenceClassification(studentConfig);
        if (init == "random") return student;
        if (init != "teacher")
            throw DistilException.Usage($"student init '{init}' is not one of: random, teacher");
        var t = teacher.Config;
        if (t.HiddenSize != studentConfig.HiddenSize || t.IntermediateSize != studentConfig.IntermediateSize || t.NumAttentionHeads != studentConfig.NumAttentionHeads)
            throw DistilException.Usage($"--init teacher needs the teacher's width (hidden {t.HiddenSize}, heads {t.NumAttentionHeads}, FFN {t.IntermediateSize}); " +
                                        $"the student has hidden {studentConfig.HiddenSize}, heads {studentConfig.NumAttentionHeads}, FFN {studentConfig.IntermediateSize}. Use --init random");
        var layers = TeacherLayersFor(studentConfig.NumHiddenLayers, t.NumHiddenLayers);
        var source = teacher.state_dict();
        using var _ = no_grad();
        foreach (var (name, p) in student.state_dict())
        {
            string from = MapName(name, layers);
            p.copy_(source[from]);
        }
        return student;
    }

    /// <summary>bert.encoder.layer.{i}.x -> bert.encoder.layer.{layers[i]}.x; every other name as is.</summary>
    static string MapName(string name, int[] layers)
    {
        const string prefix = "bert.encoder.layer.";
        if (!name.StartsWith(prefix)) return name;
        int dot = name.IndexOf('.', prefix.Length);
        int i = int.Parse(name[prefix.Length..dot]);
        return prefix + layers[i] + name[dot..];
    }
}
