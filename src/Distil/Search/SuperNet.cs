// AdaBERT's supernet (docs/adabert.md §Search space, §Heads): K_max cells that share one set of architecture parameters alpha (9 edges x
// 10 ops), alpha_depth over depths 1..K_max, and one attentive head per depth 0..K_max (head m pools the embedding
// layer and cells 1..m). Field names are the keys of the search checkpoints.
using Distil.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Distil.Search;

/// <summary>One architecture for a forward pass: the (straight-through) one-hot op weights, the chosen op per edge,
/// the depth one-hot over 1..K_max and the chosen depth.</summary>
public sealed record SampledArch(Tensor OpWeights, long[] Ops, Tensor DepthWeights, int Depth) : IDisposable
{
    public void Dispose() { OpWeights.Dispose(); DepthWeights.Dispose(); }
}

public sealed class SuperNet : nn.Module
{
    public readonly SearchEmbeddings embeddings;
    public readonly ModuleList<SearchCell> cells;
    public readonly ParameterList layer_weights;
    public readonly ModuleList<Linear> classifiers;
    public readonly Parameter alpha;
    public readonly Parameter alpha_depth;
    readonly Dropout dropout;

    public int KMax { get; }
    public int Hidden { get; }
    public int NumLabels { get; }
    /// <summary>The heads' pooling over tokens (<see cref="CnnInputs.Pool"/>).</summary>
    public string Pooling { get; }
    /// <summary>The heads' input: pooled or pair (<see cref="CnnInputs.HeadInput"/>).</summary>
    public string Head { get; }

    public SuperNet(TeacherTables tables, int kMax, int hidden, int numLabels, double dropoutP, string pooling = CnnInputs.MeanPooling,
        string head = CnnInputs.PooledHead) : base(nameof(SuperNet))
    {
        if (kMax < 1) throw DistilException.Usage($"k_max must be at least 1 (got {kMax})");
        if (hidden < 1) throw DistilException.Usage($"hidden_size must be positive (got {hidden})");
        KMax = kMax; Hidden = hidden; NumLabels = numLabels; Pooling = pooling; Head = head;
        embeddings = new SearchEmbeddings(tables, hidden, dropoutP);
        cells = new ModuleList<SearchCell>(Enumerable.Range(0, kMax).Select(_ => new SearchCell(hidden)).ToArray());
        layer_weights = new ParameterList(Enumerable.Range(0, kMax + 1).Select(m => nn.Parameter(zeros(m + 1))).ToArray());
        classifiers = new ModuleList<Linear>(Enumerable.Range(0, kMax + 1).Select(_ => nn.Linear(CnnInputs.FeatureSize(hidden, head), numLabels)).ToArray());
        // Near-uniform start (PyTorch code: 1e-3 * randn).
        alpha = nn.Parameter(randn(SearchSpace.EdgesPerCell, SearchSpace.Ops.Count) * 1e-3);
        alpha_depth = nn.Parameter(randn(kMax) * 1e-3);
        dropout = nn.Dropout(dropoutP);
        RegisterComponents();
    }

    public IEnumerable<Parameter> ArchParameters => [alpha, alpha_depth];

    /// <summary>Everything trained by the weight optimiser (not alpha; the teacher tables are not parameters at all).</summary>
    public IEnumerable<(string Name, Parameter Parameter)> WeightParameters =>
        named_parameters().Where(p => p.name is not (nameof(alpha) or nameof(alpha_depth)));

    /// <summary>A hard Gumbel sample of ops (one topology for every cell, as alpha is shared) and of the depth.</summary>
    public SampledArch Sample(double tau)
    {
        var (ops, opIndex) = GumbelSoftmax.Sample(alpha, tau);
        var (depth, depthIndex) = GumbelSoftmax.Sample(alpha_depth, tau);
        return new SampledArch(ops, opIndex, depth, (int)depthIndex[0] + 1);
    }

    /// <summary>The noiseless architecture (argmax per edge and of the depth), used for evaluation.</summary>
    public SampledArch ArgmaxArch()
    {
        var (ops, opIndex) = GumbelSoftmax.Argmax(alpha);
        var (depth, depthIndex) = GumbelSoftmax.Argmax(alpha_depth);
        return new SampledArch(ops, opIndex, depth, (int)depthIndex[0] + 1);
    }

    /// <summary>Logits of the heads of levels 0..arch.Depth, each (B, C); cells beyond the depth are not run.</summary>
    public IReadOnlyList<Tensor> forward(BertInputs inputs, SampledArch arch, bool runEveryOp = false)
    {
        if (arch.Depth < 1 || arch.Depth > KMax) throw new ArgumentOutOfRangeException(nameof(arch), $"depth {arch.Depth} outside 1..{KMax}");
        using var scope = NewDisposeScope();
        var types = inputs.TokenTypeIds ?? zeros_like(inputs.InputIds);
        var embedded = embeddings.forward(inputs.InputIds, types);                          // (B, T, H)
        var (s0, s1, mask) = CnnInputs.Split(embedded, types, inputs.AttentionMask);        // (B, H, T) x2, (B, 1, T)
        var heads = CnnInputs.HeadMasks(types, inputs.AttentionMask, Head);                 // (B, S, T)
        var pooled = new List<Tensor> { CnnInputs.Pool((s0 + s1) * 0.5, heads, Pooling) };  // (B, S, H) each
        for (int k = 0; k < arch.Depth; k++)
        {
            var c = cells[k].forward(s0, s1, mask, arch.OpWeights, runEveryOp ? null : arch.Ops);
            pooled.Add(CnnInputs.Pool(c, heads, Pooling));
            (s0, s1) = (s1, c);
        }
        var logits = new List<Tensor>();
        for (int m = 0; m <= arch.Depth; m++)
        {
            var features = CnnInputs.HeadInput(CnnInputs.Combine(pooled.Take(m + 1).ToList(), layer_weights[m]), Head); // (B, H) or (B, 4H)
            logits.Add(classifiers[m].forward(dropout.forward(features)).MoveToOuterDisposeScope());
        }
        return logits;
    }
}
