using System.Text.RegularExpressions;
using Distil.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Distil.Distillation;

/// <summary>
/// ALBERT-style students (factorised embedding E &lt; H, cross-layer parameter sharing), named
/// "albert-L{layers}-H{hidden}-E{embedding}[-A{heads}][-I{ffn}][-G{groups}]", e.g. albert-L6-H384-E128: 6 layers that
/// all run ONE layer's weights (G = 1, ALBERT's default), hidden 384, embedding tables 128 wide. Heads and FFN default
/// as for BERT shapes (<see cref="StudentShapes"/>); vocabulary, positions, labels, pooling, activation and dropout
/// come from the teacher.
/// </summary>
public static partial class AlbertStudents
{
    public const string Prefix = "albert-";

    [GeneratedRegex(@"^albert-L(\d+)-H(\d+)(?:-E(\d+))?(-A\d+)?(-I\d+)?(?:-G(\d+))?$", RegexOptions.IgnoreCase)]
    private static partial Regex ShapePattern();

    public static IReadOnlyList<string> Examples => new[] { "albert-L6-H384-E128", "albert-L12-H768-E128", "albert-L6-H384-E128-G2" };

    public static bool IsAlbert(string name) => name.Trim().StartsWith(Prefix, StringComparison.OrdinalIgnoreCase);

    public static AlbertConfig FromName(string name, BertConfig teacher)
    {
        var m = ShapePattern().Match(name.Trim());
        if (!m.Success)
            throw DistilException.Usage($"student shape '{name}' is not of the form albert-L<layers>-H<hidden>[-E<embedding>][-A<heads>][-I<ffn>][-G<groups>] (e.g. {string.Join(", ", Examples)})");
        // The hidden side (heads and FFN defaults, checks) is a BERT shape.
        var bert = StudentShapes.FromName($"L{m.Groups[1].Value}-H{m.Groups[2].Value}{m.Groups[4].Value}{m.Groups[5].Value}", teacher);
        int embedding = m.Groups[3].Success ? int.Parse(m.Groups[3].Value) : 128;
        int groups = m.Groups[6].Success ? int.Parse(m.Groups[6].Value) : 1;
        if (embedding < 1 || groups < 1 || bert.NumHiddenLayers % groups != 0)
            throw DistilException.Usage($"student shape '{name}': embedding size must be positive and the group count {groups} must divide the layer count {bert.NumHiddenLayers}");
        var config = new AlbertConfig
        {
            VocabSize = teacher.VocabSize, EmbeddingSize = embedding, HiddenSize = bert.HiddenSize, NumHiddenLayers = bert.NumHiddenLayers,
            NumHiddenGroups = groups, NumAttentionHeads = bert.NumAttentionHeads, IntermediateSize = bert.IntermediateSize,
            HiddenAct = teacher.HiddenAct, HiddenDropoutProb = teacher.HiddenDropoutProb, AttentionProbsDropoutProb = teacher.AttentionProbsDropoutProb,
            MaxPositionEmbeddings = teacher.MaxPositionEmbeddings, TypeVocabSize = teacher.TypeVocabSize, InitializerRange = teacher.InitializerRange,
            LayerNormEps = teacher.LayerNormEps, ClassifierDropoutProb = teacher.ClassifierDropout ?? teacher.HiddenDropoutProb,
            PadTokenId = teacher.PadTokenId, Id2Label = teacher.Id2Label, Label2Id = teacher.Label2Id, ClassifierPooling = teacher.ClassifierPooling,
        };
        config.Validate($"student shape '{name}'");
        return config;
    }

    /// <summary>
    /// A new ALBERT student: random (HF initialisation), or with <paramref name="init"/> "teacher" (same hidden width,
    /// heads and FFN as the teacher): group g copies teacher layer <see cref="StudentInit.TeacherLayersFor"/>(G, L_t)[g]
    /// (G = 1: the bottom layer, as DistilBERT's first copied layer), the pooler and classifier are copied, and the
    /// embedding tables are the teacher's projected onto the top-E right singular vectors of its word table
    /// (<see cref="ProjectEmbeddings"/>).
    /// </summary>
    public static AlbertForSequenceClassification Create(AlbertConfig config, BertForSequenceClassification? teacher, string init, int seed)
    {
        manual_seed(seed);
        var student = new AlbertForSequenceClassification(config);
        if (init == "random") return student;
        if (init != "teacher") throw DistilException.Usage($"student init '{init}' is not one of: random, teacher");
        ArgumentNullException.ThrowIfNull(teacher); // --init teacher copies its layers
        var t = teacher.Config;
        if (t.HiddenSize != config.HiddenSize || t.IntermediateSize != config.IntermediateSize || t.NumAttentionHeads != config.NumAttentionHeads)
            throw DistilException.Usage($"--init teacher for an ALBERT student needs the teacher's width (hidden {t.HiddenSize}, heads {t.NumAttentionHeads}, FFN {t.IntermediateSize}); " +
                                        $"the student has hidden {config.HiddenSize}, heads {config.NumAttentionHeads}, FFN {config.IntermediateSize}. Use --init random");
        if (config.EmbeddingSize > config.HiddenSize)
            throw DistilException.Usage($"--init teacher projects the teacher's embeddings onto E directions: embedding size {config.EmbeddingSize} must be <= hidden {config.HiddenSize}");
        var source = teacher.state_dict();
        var target = student.state_dict();
        var layers = StudentInit.TeacherLayersFor(config.NumHiddenGroups, t.NumHiddenLayers);
        using var _ = no_grad();
        for (int g = 0; g < config.NumHiddenGroups; g++)
            foreach (var (albertKey, bertKey) in LayerKeys)
                target[$"albert.encoder.albert_layer_groups.{g}.albert_layers.0.{albertKey}"].copy_(source[$"bert.encoder.layer.{layers[g]}.{bertKey}"]);
        foreach (var p in new[] { "weight", "bias" })
        {
            target["albert.pooler." + p].copy_(source["bert.pooler.dense." + p]);
            target["classifier." + p].copy_(source["classifier." + p]);
        }
        ProjectEmbeddings(teacher.bert.embeddings, student.albert, config.EmbeddingSize);
        return student;
    }

    /// <summary>HF ALBERT layer key -> HF BERT layer key of the same tensor (shapes equal at equal widths).</summary>
    public static readonly IReadOnlyList<(string Albert, string Bert)> LayerKeys = new[] { "weight", "bias" }.SelectMany(p => new[]
    {
        ($"attention.query.{p}", $"attention.self.query.{p}"), ($"attention.key.{p}", $"attention.self.key.{p}"),
        ($"attention.value.{p}", $"attention.self.value.{p}"), ($"attention.dense.{p}", $"attention.output.dense.{p}"),
        ($"attention.LayerNorm.{p}", $"attention.output.LayerNorm.{p}"), ($"ffn.{p}", $"intermediate.dense.{p}"),
        ($"ffn_output.{p}", $"output.dense.{p}"), ($"full_layer_layer_norm.{p}", $"output.LayerNorm.{p}"),
    }).ToArray();

    /// <summary>
    /// The factorised embedding closest to the teacher's: with B (E x H) the top-E right singular vectors of the
    /// teacher's word table W (V x H), the student's tables are W Bᵀ, P Bᵀ, T Bᵀ (rank-E truncation, the best in the
    /// least-squares sense), its E-wide LayerNorm is the identity affine, and the E -> H map is
    /// diag(γ) Bᵀ √(H/E) with bias β (γ, β: the teacher's embedding LayerNorm). Why √(H/E): LayerNorm scales a vector
    /// to norm √width, so the E-wide normed vector is √(E/H) times the projection of the H-wide one. Exact up to the
    /// truncation and the mean that each LayerNorm removes over its own width.
    /// </summary>
    public static void ProjectEmbeddings(BertEmbeddings teacher, AlbertModel student, int e)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var words = teacher.word_embeddings.weight!.detach().to(float32); // (V, H)
        var (_, _, vh) = linalg.svd(words, fullMatrices: false);          // vh: (H, H), rows = right singular vectors
        var basisT = vh.narrow(0, 0, e).t();                               // (H, E)
        var s = student.embeddings;
        s.word_embeddings.weight!.copy_(words.matmul(basisT));
        s.position_embeddings.weight!.copy_(teacher.position_embeddings.weight!.matmul(basisT));
        s.token_type_embeddings.weight!.copy_(teacher.token_type_embeddings.weight!.matmul(basisT));
        s.LayerNorm.weight!.fill_(1);
        s.LayerNorm.bias!.zero_();
        long h = words.shape[1];
        var map = student.encoder.embedding_hidden_mapping_in;
        map.weight!.copy_(teacher.LayerNorm.weight!.unsqueeze(1).mul(basisT).mul(Math.Sqrt((double)h / e))); // (H, 1) * (H, E) -> (H, E)
        map.bias!.copy_(teacher.LayerNorm.bias!);
    }
}
