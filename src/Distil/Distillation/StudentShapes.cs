using System.Text.RegularExpressions;
using Distil.Models;

namespace Distil.Distillation;

/// <summary>
/// Student shapes by name, "L{layers}-H{hidden}" (e.g. L4-H312 = TinyBERT-4: 4 layers, hidden 312, 12 heads, FFN 1200;
/// L6-H768 = DistilBERT-6), or any config fields given explicitly. Vocabulary, positions, token types and labels
/// always come from the teacher, so that the student reads the same inputs and predicts the same labels.
/// </summary>
public static partial class StudentShapes
{
    /// <summary>Published shapes whose FFN size is not 4 x hidden.</summary>
    static readonly Dictionary<string, (int Heads, int Ffn)> Known = new()
    {
        ["L4-H312"] = (12, 1200), // TinyBERT-4
    };

    [GeneratedRegex(@"^L(\d+)-H(\d+)(?:-A(\d+))?(?:-I(\d+))?$", RegexOptions.IgnoreCase)]
    private static partial Regex ShapePattern();

    public static IReadOnlyList<string> Examples => new[] { "L4-H312", "L6-H768", "L3-H384", "L2-H384", "L4-H256-A4-I1024" };

    public static BertConfig FromName(string name, BertConfig teacher)
    {
        var m = ShapePattern().Match(name.Trim());
        if (!m.Success)
            throw DistilException.Usage($"student shape '{name}' is not of the form L<layers>-H<hidden>[-A<heads>][-I<ffn>] (e.g. {string.Join(", ", Examples)})");
        int layers = int.Parse(m.Groups[1].Value), hidden = int.Parse(m.Groups[2].Value);
        Known.TryGetValue($"L{layers}-H{hidden}", out var known);
        int heads = m.Groups[3].Success ? int.Parse(m.Groups[3].Value) : known.Heads > 0 ? known.Heads : DefaultHeads(hidden);
        int ffn = m.Groups[4].Success ? int.Parse(m.Groups[4].Value) : known.Ffn > 0 ? known.Ffn : 4 * hidden;
        if (layers < 1 || hidden < 1 || hidden % heads != 0)
            throw DistilException.Usage($"student shape '{name}': hidden {hidden} must be a positive multiple of the head count {heads}; give -A<heads>");
        return FromTeacher(teacher, layers, hidden, heads, ffn);
    }

    public static BertConfig FromTeacher(BertConfig teacher, int layers, int hidden, int heads, int intermediate) => teacher with
    {
        NumHiddenLayers = layers,
        HiddenSize = hidden,
        NumAttentionHeads = heads,
        IntermediateSize = intermediate,
        Architectures = null,
        // The student is a BERT whatever the teacher's family (RoBERTa, ELECTRA, DistilBERT give their sizes as a BertConfig).
        ModelType = "bert",
        EmbeddingSize = null,
        TypeVocabSize = Math.Max(2, teacher.TypeVocabSize),
    };

    /// <summary>12 heads where they divide the width (BERT, TinyBERT, MiniLM), else heads of 64 dims, else 1.</summary>
    static int DefaultHeads(int hidden) => hidden % 12 == 0 ? 12 : hidden % 64 == 0 ? hidden / 64 : 1;

    /// <summary>
    /// Parameters outside the embeddings that inference uses (what "x times smaller" compares): a classifier with
    /// mean pooling never runs its pooler, so the pooler is not counted. ALBERT's E -> H map
    /// (embedding_hidden_mapping_in) is part of its factorised embedding (V x E + E x H in the paper), so not counted
    /// either; a shared layer counts once, however many layers run it.
    /// </summary>
    public static long NonEmbeddingParameters(Models.EncoderClassifier model) =>
        model.named_parameters()
            .Where(p => !p.name.Contains("embeddings.") && !p.name.Contains("embedding_hidden_mapping_in.")
                        && !(model.Shape.ClassifierPooling == "mean" && (p.name.StartsWith("bert.pooler.") || p.name.StartsWith("albert.pooler."))))
            .Sum(p => p.parameter.numel());
}
