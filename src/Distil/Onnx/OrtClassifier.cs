using Microsoft.ML.OnnxRuntime;

namespace Distil.Onnx;

/// <summary>
/// An exported classifier (model.onnx with input_ids / attention_mask / token_type_ids -> logits) in ONNX Runtime,
/// fed with padded int64 batches. ONNX Runtime only: nothing here touches TorchSharp, so the predictor and the
/// ORT side of the bench run without libtorch.
/// </summary>
public sealed class OrtClassifier : IDisposable
{
    readonly InferenceSession session;
    readonly RunOptions runOptions = new();
    public string Path { get; }
    public int Threads { get; }
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <param name="threads">ONNX Runtime intra-op threads (1 = no thread pool at all).</param>
    /// <param name="allowSpinning">false when another engine (TorchSharp's OpenMP pool) shares the cores: ORT's idle
    /// workers then sleep instead of spinning (docs/stack-notes.md §Threads: contention made TorchSharp 10-50x slower).</param>
    public OrtClassifier(string onnxPath, int threads = 1, bool allowSpinning = true)
    {
        if (!File.Exists(onnxPath)) throw DistilException.NotFound($"{onnxPath}: ONNX model not found; make one with `distil export --model DIR --out DIR`");
        if (threads < 1) throw DistilException.Usage($"threads must be at least 1 (got {threads})");
        Path = onnxPath;
        Threads = threads;
        using var options = new SessionOptions
        {
            IntraOpNumThreads = threads,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        if (!allowSpinning) options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        // To see which kernels ORT fused the graph into: DISTIL_ORT_OPTIMIZED_MODEL=runs/opt.onnx distil predict ...
        if (Environment.GetEnvironmentVariable("DISTIL_ORT_OPTIMIZED_MODEL") is { Length: > 0 } optimized) options.OptimizedModelFilePath = optimized;
        try { session = new InferenceSession(onnxPath, options); }
        catch (OnnxRuntimeException e)
        {
            throw DistilException.BadInput($"{onnxPath}: ONNX Runtime cannot load this model ({e.Message.Split('\n')[0]}); re-export it with `distil export`");
        }
        foreach (string name in new[] { BertOnnxExporter.InputIds, BertOnnxExporter.AttentionMask, BertOnnxExporter.TokenTypeIds })
            if (!session.InputMetadata.ContainsKey(name))
                throw DistilException.BadInput($"{onnxPath}: the model has no input '{name}' (it has {string.Join(", ", session.InputMetadata.Keys)}); it was not made by `distil export`");
        if (!session.OutputMetadata.ContainsKey(BertOnnxExporter.Logits))
            throw DistilException.BadInput($"{onnxPath}: the model has no output 'logits'; it was not made by `distil export`");
        Metadata = session.ModelMetadata.CustomMetadataMap;
    }

    static readonly string[] InputNames = [BertOnnxExporter.InputIds, BertOnnxExporter.AttentionMask, BertOnnxExporter.TokenTypeIds];
    static readonly string[] OutputNames = [BertOnnxExporter.Logits];

    /// <summary>Logits (B, C) of one padded batch; the arrays are (B, T) row-major.</summary>
    public float[][] Run(long[] ids, long[] mask, long[] types, int batch, int seqLen)
    {
        if (ids.Length != batch * seqLen || mask.Length != ids.Length || types.Length != ids.Length)
            throw new ArgumentException($"inputs must hold {batch}x{seqLen} values (ids {ids.Length}, mask {mask.Length}, types {types.Length})");
        long[] shape = [batch, seqLen];
        using var idsV = OrtValue.CreateTensorValueFromMemory(ids, shape);
        using var maskV = OrtValue.CreateTensorValueFromMemory(mask, shape);
        using var typesV = OrtValue.CreateTensorValueFromMemory(types, shape);
        using var outputs = session.Run(runOptions, InputNames, [idsV, maskV, typesV], OutputNames);
        var flat = outputs[0].GetTensorDataAsSpan<float>();
        int classes = flat.Length / batch;
        var result = new float[batch][];
        for (int b = 0; b < batch; b++) result[b] = flat.Slice(b * classes, classes).ToArray();
        return result;
    }

    /// <summary>Logits of unpadded rows (ids and token types per row) in their order; batches are formed by length.</summary>
    public float[][] RunRows(IReadOnlyList<(long[] Ids, long[] Types)> rows, int batchSize, long padId)
    {
        var result = new float[rows.Count][];
        var order = Enumerable.Range(0, rows.Count).OrderBy(i => rows[i].Ids.Length).ToArray();
        foreach (var chunk in order.Chunk(batchSize))
        {
            var (ids, mask, types, len) = Pad(chunk.Select(i => rows[i]).ToArray(), padId);
            var logits = Run(ids, mask, types, chunk.Length, len);
            for (int k = 0; k < chunk.Length; k++) result[chunk[k]] = logits[k];
        }
        return result;
    }

    /// <summary>Rows padded to the longest (pad id, mask 0, type 0 after each row), as Collator does for TorchSharp.</summary>
    public static (long[] Ids, long[] Mask, long[] Types, int SeqLen) Pad(IReadOnlyList<(long[] Ids, long[] Types)> rows, long padId)
    {
        int b = rows.Count, t = rows.Max(r => r.Ids.Length);
        var ids = new long[b * t];
        var mask = new long[b * t];
        var types = new long[b * t];
        Array.Fill(ids, padId);
        for (int i = 0; i < b; i++)
        {
            Array.Copy(rows[i].Ids, 0, ids, i * t, rows[i].Ids.Length);
            Array.Copy(rows[i].Types, 0, types, i * t, rows[i].Types.Length);
            Array.Fill(mask, 1L, i * t, rows[i].Ids.Length);
        }
        return (ids, mask, types, t);
    }

    public static int ArgMax(float[] v)
    {
        int best = 0;
        for (int i = 1; i < v.Length; i++) if (v[i] > v[best]) best = i;
        return best;
    }

    public void Dispose()
    {
        runOptions.Dispose();
        session.Dispose();
    }
}
