using Distil.Models;
using Distil.Training;

namespace Distil.Search;

/// <summary>
/// Peak memory of `distil search` before it starts, in the terms of <see cref="MemoryEstimate"/>: the supernet's
/// weights, gradients and Adam moments (alpha's are negligible), the teacher loaded for the probes and the retraining
/// labels, and the activations autograd keeps. Per cell and token the search keeps, for each of the 9 mixed edges, the
/// op outputs that run (1 sampled op, or all 10 with estimator "all") with their BatchNorm and ReLU outputs and the
/// weighted sum (4 tensors of width H each), plus the 3 node sums; the architecture step repeats the forward on a fresh
/// sample while the weight step's graph is still referenced, hence x2. The bound takes every cell (depth KMax) and
/// max_seq_len. Checked against one measured run of the bench configuration (bench/results/memory-estimate.md §distil
/// search: 2343 MB estimated, 2028 MB peak RSS, 1.16x), not fitted the way the BERT estimate was.
/// </summary>
public static class SearchMemory
{
    public static MemoryEstimate Estimate(long supernetParameters, BertConfig teacher, SearchOptions o, int batch, int seq)
    {
        long tokens = (long)batch * seq;
        int opsRun = o.Estimator == "all" ? SearchSpace.Ops.Count : 1;
        long perCell = 4L * o.HiddenSize * tokens * (SearchSpace.EdgesPerCell * opsRun * 4 + 3);
        long activations = 2 * (o.KMax * perCell + 4L * 4 * tokens * o.HiddenSize); // + embeddings and the projection to H
        long p = supernetParameters;
        long teacherBytes = 4 * 2 * MemoryEstimate.Parameters(teacher) + 4L * tokens * (teacher.NumHiddenLayers + 1) * teacher.HiddenSize;
        string shape = $"batch {batch} x {seq} tokens x {o.KMax} cells (hidden {o.HiddenSize}, {opsRun} op(s) per edge)";
        return new MemoryEstimate(4 * p, 4 * p, 8 * p, activations, teacherBytes, 0, 5 * 4 * p, MemoryEstimate.ProcessBytes, shape);
    }
}
