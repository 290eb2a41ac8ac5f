using System.Globalization;
using Distil.Models;

namespace Distil.Training;

/// <summary>
/// Peak memory of a training run, estimated before it starts so that a run that cannot fit is refused with the numbers
/// instead of being killed by the OOM killer midway (issue 8). fp32 throughout (TorchSharp on CPU):
/// <list type="bullet">
/// <item>weights, gradients and AdamW's two moments: 4 x 4 bytes per trained parameter;</item>
/// <item>activations autograd keeps for the backward pass, per encoder layer, with N = batch x seq tokens:
/// 2 x N (11 H + 2 I) floats (the layer input, Q, K, V, context, merged heads, two dense outputs, two residual sums,
/// two LayerNorm outputs, two dropout masks at a quarter each; FFN: the dense output and the GELU output; doubled for
/// the contiguous copies that batched matmul and attention keep of the head views and for the blocks the CPU allocator
/// keeps cached: with the plain count the measured peak of full-length batches was up to 1.4x the estimate) plus
/// 9 bytes per attention entry, batch x heads x seq^2 (the softmax output and its dropout output, fp32, and the
/// dropout mask, 1 byte); the embeddings keep 4 N H floats; the backward pass needs about one more layer as workspace;</item>
/// <item>a teacher that runs inside the step (distillation): its weights, the hidden states a forward returns
/// ((L + 1) N H floats), the attention maps when a match reads them (2 x L maps: scores and probabilities), and one
/// layer's transient working set (N (I + 4 H) floats and one map);</item>
/// <item>when a match reads attention maps, the student's side of them: its attention goes through the explicit path
/// (scores, masked scores, probabilities, dropout output kept for backward instead of the fused kernel's few buffers),
/// the match losses keep the student map, the difference and its square, and backward needs gradients of the same
/// size: <see cref="AttentionMatchMapsPerLayer"/> maps of batch x heads x seq^2 floats per student layer;</item>
/// <item>caches held in memory (the teacher hidden-state cache) as given;</item>
/// <item>model input/output, 5 x the weights (and 1 x a teacher's): the safetensors file read on load, checkpoint
/// serialization (weights and AdamW state go through managed buffers), best/ written and read back for the final
/// metrics. These buffers are garbage soon after, but the peak RSS includes them (bench/results/memory-estimate.md);</item>
/// <item>the process itself: .NET runtime, libtorch and the loaded tokenizer, <see cref="RuntimeBytes"/> (measured,
/// bench/results/memory-estimate.md).</item>
/// </list>
/// The estimate is checked against the measured peak RSS of real runs in bench/results/memory-estimate.md.
/// </summary>
public sealed record MemoryEstimate(long WeightsBytes, long GradientBytes, long OptimizerBytes, long ActivationBytes,
    long TeacherBytes, long CacheBytes, long IoBytes, long RuntimeBytes, string Shape)
{
    /// <summary>Resident memory of `distil` with libtorch loaded and nothing trained (measured: bench/results/memory-estimate.md).</summary>
    public const long ProcessBytes = 300L << 20;

    /// <summary>Student attention maps alive per layer when a match reads attention (see the class comment): the count
    /// above is about 11; the tinybert run of bench/results/memory-estimate.md measured 11.4 per layer beyond the rest of
    /// the estimate, rounded up to 14 for the same ~1.1x margin the other rows have.</summary>
    public const int AttentionMatchMapsPerLayer = 14;

    public long TotalBytes => WeightsBytes + GradientBytes + OptimizerBytes + ActivationBytes + TeacherBytes + CacheBytes + IoBytes + RuntimeBytes;

    /// <summary>The sequence length batches reach: the collator pads to the longest row of a batch, so no batch is longer
    /// than the longest training row (or max_seq_len, which truncates it).</summary>
    public static int LongestBatch(int maxSeqLen, IEnumerable<Data.EncodedExample> rows) =>
        Math.Min(maxSeqLen, rows.Select(r => r.InputIds.Length).DefaultIfEmpty(maxSeqLen).Max());

    /// <summary>Parameters of a BertForSequenceClassification of this shape (embeddings, layers, pooler, classifier).</summary>
    public static long Parameters(BertConfig c)
    {
        long h = c.HiddenSize, i = c.IntermediateSize;
        long embeddings = (c.VocabSize + c.MaxPositionEmbeddings + c.TypeVocabSize) * h + 2 * h;
        long layer = 4 * (h * h + h) + 2 * h + (h * i + i) + (i * h + h) + 2 * h;
        long pooler = h * h + h, classifier = h * c.NumLabels + c.NumLabels;
        return embeddings + c.NumHiddenLayers * layer + pooler + classifier;
    }

    /// <summary>Bytes autograd keeps for one encoder layer (see the class comment).</summary>
    public static long LayerActivationBytes(BertConfig c, int batch, int seq)
    {
        long tokens = (long)batch * seq;
        return 2 * 4 * tokens * (11L * c.HiddenSize + 2L * c.IntermediateSize) + 9L * batch * c.NumAttentionHeads * seq * seq;
    }

    /// <summary>Training <paramref name="model"/> with AdamW on batches of batch x seq tokens; optionally with a teacher running in
    /// every step (<paramref name="teacherAttentions"/>: a match reads its attention maps) and caches held in memory.</summary>
    public static MemoryEstimate ForTraining(BertConfig model, int batch, int seq, BertConfig? teacher = null, bool teacherAttentions = false,
        long cacheBytes = 0)
    {
        long p = Parameters(model), tokens = (long)batch * seq;
        long layer = LayerActivationBytes(model, batch, seq);
        long activations = (model.NumHiddenLayers + 1) * layer + 4 * 4 * tokens * model.HiddenSize;
        if (teacher != null && teacherAttentions)
            activations += 4L * AttentionMatchMapsPerLayer * model.NumHiddenLayers * batch * model.NumAttentionHeads * seq * seq;
        long teacherBytes = 0;
        if (teacher != null)
        {
            long maps = (long)batch * teacher.NumAttentionHeads * seq * seq;
            teacherBytes = 4 * (2 * Parameters(teacher) // its weights and the file they were read from
                + (teacher.NumHiddenLayers + 1) * tokens * teacher.HiddenSize
                + (teacherAttentions ? 2L * teacher.NumHiddenLayers * maps : 0)
                + tokens * (teacher.IntermediateSize + 4L * teacher.HiddenSize) + maps);
        }
        string shape = $"batch {batch} x {seq} tokens x {model.NumHiddenLayers} layers (hidden {model.HiddenSize}, {model.NumAttentionHeads} heads, FFN {model.IntermediateSize})";
        return new MemoryEstimate(4 * p, 4 * p, 8 * p, activations, teacherBytes, cacheBytes, 5 * 4 * p, ProcessBytes, shape);
    }

    public static string Mb(long bytes) => (bytes / 1048576.0).ToString(bytes < 10L << 20 ? "F1" : "F0", CultureInfo.InvariantCulture) + " MB";

    public string Describe() =>
        $"about {Mb(TotalBytes)}: weights {Mb(WeightsBytes)}, gradients {Mb(GradientBytes)}, AdamW state {Mb(OptimizerBytes)}, " +
        $"activations {Mb(ActivationBytes)} ({Shape})" +
        (TeacherBytes > 0 ? $", teacher {Mb(TeacherBytes)}" : "") + (CacheBytes > 0 ? $", caches {Mb(CacheBytes)}" : "") +
        $", model I/O {Mb(IoBytes)}, runtime {Mb(RuntimeBytes)}";
}

/// <summary>The memory a run may use, and the up-front refusal of a run whose <see cref="MemoryEstimate"/> exceeds it.</summary>
public static class MemoryLimit
{
    /// <summary>Overrides the detected limit (MB; 0 = do not check); training.memory_limit_mb overrides this in turn.</summary>
    public const string EnvironmentVariable = "DISTIL_MEMORY_LIMIT_MB";

    /// <summary>(bytes, where the number comes from), or null when the check is switched off (a limit of 0).</summary>
    public static (long Bytes, string Source)? Resolve(int? configuredMb)
    {
        if (configuredMb is int mb) return mb == 0 ? null : ((long)mb << 20, $"training.memory_limit_mb {mb}");
        string? env = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(env))
        {
            if (!long.TryParse(env, NumberStyles.Integer, CultureInfo.InvariantCulture, out long e) || e < 0)
                throw DistilException.Usage($"{EnvironmentVariable}='{env}' is not a number of megabytes (0 switches the memory check off)");
            return e == 0 ? null : (e << 20, $"{EnvironmentVariable} {e}");
        }
        return Available();
    }

    /// <summary>MemAvailable of /proc/meminfo, lowered to the cgroup's room (memory.max - memory.current) in a container;
    /// elsewhere what the GC reports as available.</summary>
    public static (long Bytes, string Source) Available()
    {
        long? meminfo = null;
        try
        {
            foreach (string line in File.ReadLines("/proc/meminfo"))
                if (line.StartsWith("MemAvailable:", StringComparison.Ordinal))
                    meminfo = long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException) { }
        if (meminfo is long avail)
        {
            if (CgroupRoom() is long room && room < avail) return (room, "the container's memory limit (cgroup memory.max - memory.current)");
            return (avail, "MemAvailable in /proc/meminfo");
        }
        return (GC.GetGCMemoryInfo().TotalAvailableMemoryBytes, "the memory the .NET GC reports as available");
    }

    static long? CgroupRoom()
    {
        try
        {
            string max = File.ReadAllText("/sys/fs/cgroup/memory.max").Trim(), current = File.ReadAllText("/sys/fs/cgroup/memory.current").Trim();
            if (max == "max") return null;
            return Math.Max(0, long.Parse(max, CultureInfo.InvariantCulture) - long.Parse(current, CultureInfo.InvariantCulture));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException) { return null; }
    }

    /// <summary>
    /// Estimates the run at <paramref name="batch"/> with <paramref name="at"/> (the estimate at a batch size) and throws a
    /// usage error naming the estimate, the limit, the largest batch size that fits and what else to change when it exceeds
    /// the limit. Returns the estimate and a one-line summary for the log otherwise.
    /// </summary>
    public static (MemoryEstimate Estimate, string Summary) Check(string what, int batch, Func<int, MemoryEstimate> at, int? configuredMb)
    {
        var estimate = at(batch);
        var limit = Resolve(configuredMb);
        if (limit is not var (bytes, source)) return (estimate, $"memory estimate {estimate.Describe()}; no limit checked");
        if (estimate.TotalBytes <= bytes)
            return (estimate, $"memory estimate {estimate.Describe()}; limit {MemoryEstimate.Mb(bytes)} ({source})");
        int fits = 0;
        for (int b = batch - 1; b >= 1 && fits == 0; b = b > 64 ? b * 3 / 4 : b - 1)
            if (at(b).TotalBytes <= bytes) fits = b;
        string advice = fits > 0
            ? $"use --batch-size {fits} or smaller (activations grow with the batch size, and quadratically with --max-seq-len), or a shorter --max-seq-len"
            : "even batch size 1 does not fit: use a shorter --max-seq-len, a smaller model, or a machine with more memory";
        throw DistilException.Usage(
            $"{what} would not fit in memory: it needs {estimate.Describe()}; only {MemoryEstimate.Mb(bytes)} is available ({source}). " +
            $"{advice}. To run anyway, raise the limit with --memory-limit-mb N (0 switches the check off) or {EnvironmentVariable}.");
    }
}
