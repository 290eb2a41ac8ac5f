using Distil.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Distil.Distillation;

/// <summary>
/// Builds a student: random (HF initialisation), or from the teacher's weights when the widths match
/// (DistilBERT: the embeddings, every k-th transformer layer, pooler and classifier are copied). A narrower FFN than
/// the teacher's keeps, in each copied layer, the intermediate neurons with the largest |W_in row| · |W_out column|
/// (magnitude pruning of whole neurons), so a student can stay under a parameter budget and still start from the teacher.
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

    public static BertForSequenceClassification Create(BertConfig studentConfig, BertForSequenceClassification? teacher, string init, int seed) =>
        (BertForSequenceClassification)Create(TaskKind.Sequence, studentConfig, teacher, init, seed);

    /// <summary>A BERT student for <paramref name="task"/>: HF's token head for token tasks, else a sequence head with the task's
    /// problem_type. <paramref name="teacher"/> is a BERT classifier (sequence or token head) with the same key names.</summary>
    public static EncoderClassifier Create(TaskKind task, BertConfig studentConfig, EncoderClassifier? teacher, string init, int seed)
    {
        manual_seed(seed);
        EncoderClassifier student = task == TaskKind.Token ? new BertForTokenClassification(studentConfig) : new BertForSequenceClassification(studentConfig) { Task = task };
        if (init == "random") return student;
        if (init != "teacher")
            throw DistilException.Usage($"student init '{init}' is not one of: random, teacher");
        ArgumentNullException.ThrowIfNull(teacher); // --init teacher copies its layers
        var t = teacher.Shape;
        if (t.HiddenSize != studentConfig.HiddenSize || t.IntermediateSize < studentConfig.IntermediateSize || t.NumAttentionHeads != studentConfig.NumAttentionHeads)
            throw DistilException.Usage($"--init teacher needs the teacher's width (hidden {t.HiddenSize}, heads {t.NumAttentionHeads}, FFN {t.IntermediateSize} or less); " +
                                        $"the student has hidden {studentConfig.HiddenSize}, heads {studentConfig.NumAttentionHeads}, FFN {studentConfig.IntermediateSize}. Use --init random");
        var layers = TeacherLayersFor(studentConfig.NumHiddenLayers, t.NumHiddenLayers);
        var source = teacher.state_dict();
        using var _ = no_grad();
        var kept = new Dictionary<int, Tensor>(); // student layer -> teacher FFN neurons kept (when the FFN is narrower)
        foreach (var (name, p) in student.state_dict())
        {
            string from = MapName(name, layers);
            var value = source[from];
            if (studentConfig.IntermediateSize < t.IntermediateSize && Ffn(name) is var (layer, dim))
            {
                if (!kept.TryGetValue(layer, out var neurons))
                    kept[layer] = neurons = StrongestNeurons(source, $"bert.encoder.layer.{layers[layer]}.", studentConfig.IntermediateSize);
                value = value.index_select(dim, neurons);
            }
            p.copy_(value);
        }
        foreach (var k in kept.Values) k.Dispose();
        return student;
    }

    /// <summary>For an FFN tensor of a student layer: (layer, the dimension that indexes intermediate neurons).</summary>
    static (int Layer, int Dim)? Ffn(string name)
    {
        const string prefix = "bert.encoder.layer.";
        if (!name.StartsWith(prefix)) return null;
        int dot = name.IndexOf('.', prefix.Length);
        int layer = int.Parse(name[prefix.Length..dot]);
        return name[(dot + 1)..] switch
        {
            "intermediate.dense.weight" or "intermediate.dense.bias" => (layer, 0), // (I, H), (I)
            "output.dense.weight" => (layer, 1),                                     // (H, I)
            _ => null,
        };
    }

    /// <summary>Indices (ascending) of the <paramref name="count"/> neurons of a teacher layer with the largest |W_in[j,:]| · |W_out[:,j]|.</summary>
    static Tensor StrongestNeurons(IReadOnlyDictionary<string, Tensor> teacher, string layerPrefix, int count)
    {
        using var scope = NewDisposeScope();
        var score = teacher[layerPrefix + "intermediate.dense.weight"].norm(1, keepdim: false).mul(teacher[layerPrefix + "output.dense.weight"].norm(0, keepdim: false)); // (I,)
        return score.topk(count).indexes.sort().Values.MoveToOuterDisposeScope();
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
