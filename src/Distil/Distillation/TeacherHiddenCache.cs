using System.Buffers.Binary;
using System.Text.Json;
using Distil.Checkpoints;
using Distil.Data;
using Distil.Models;
using Distil.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Distil.Distillation;

/// <summary>
/// The teacher's outputs that a stage's matches read (<see cref="TeacherNeeds"/>), computed once per (teacher, data,
/// needs) and kept next to the data (<see cref="DataCache"/>), so later epochs, later seeds and later
/// runs skip the teacher's forward. Memory: hidden states are stored in fp16 (half the bytes; an fp16 rounding of
/// ~5e-4 relative is far below the student's distance from the teacher), unpadded (a row per real token, with
/// per-example offsets), and only for the layers the matches use; [CLS]-only layers keep one row per example.
/// Logits stay fp32. When the estimate exceeds the limit the cache is not built and the teacher runs online.
/// File: .distil-cache/teacher-hidden-KEY-NEEDS.safetensors (F16 "tokens.L", "cls.L"; F32 "logits"; I64 "offsets").
/// </summary>
public sealed class TeacherHiddenCache : IDisposable
{
    public TeacherNeeds Needs { get; }
    public Tensor Logits { get; }                      // (N, C) fp32
    readonly long[] offsets;                           // N + 1: example i owns token rows offsets[i] .. offsets[i+1]-1
    readonly Dictionary<int, Tensor> tokens;           // layer -> (total + 1, H) fp16; the last row is zeros (padding)
    readonly Dictionary<int, Tensor> cls;              // layer -> (N, H) fp16

    TeacherHiddenCache(TeacherNeeds needs, Tensor logits, long[] offsets, Dictionary<int, Tensor> tokens, Dictionary<int, Tensor> cls)
    {
        Needs = needs; Logits = logits; this.offsets = offsets; this.tokens = tokens; this.cls = cls;
    }

    public int Count => offsets.Length - 1;
    public long TotalTokens => offsets[^1];

    /// <summary>
    /// From the cache file when it matches, else computed with <paramref name="teacher"/> and written; null (with a
    /// log line saying why) when the cache would take more than <paramref name="maxBytes"/>.
    /// </summary>
    public static TeacherHiddenCache? GetOrCompute(string teacherDir, EncoderClassifier teacher, IReadOnlyList<EncodedExample> examples,
        string dataPath, TeacherNeeds needs, int batchSize, long padId, Device device, long maxBytes, Action<string>? log = null)
    {
        long total = examples.Sum(e => (long)e.InputIds.Length);
        long bytes = needs.Bytes(examples.Count, total, teacher.Shape.HiddenSize, teacher.Shape.NumLabels);
        if (bytes > maxBytes)
        {
            log?.Invoke($"teacher hidden states not cached: {bytes / 1048576.0:F0} MiB for layers {needs.Signature} > the {maxBytes / 1048576.0:F0} MiB limit " +
                        "(raise teacher_cache_max_mb); the teacher runs at every step");
            return null;
        }
        string path = Path.Combine(DataCache.CacheDir(dataPath), $"teacher-hidden-{DataCache.Key(teacherDir, examples)}-{needs.Signature}.safetensors");
        if (File.Exists(path))
        {
            try
            {
                var loaded = Load(path, needs);
                if (loaded.Matches(examples, teacher.Shape)) { log?.Invoke($"teacher hidden states from cache {path}"); return loaded; }
                loaded.Dispose();
            }
            catch (DistilException) { } // a damaged file is recomputed, never trusted
        }
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var cache = Compute(teacher, examples, needs, batchSize, padId, device);
        if (WriteFault.TryWriteCache(path, "teacher hidden states", () => cache.Save(path), log))
            log?.Invoke($"teacher hidden states ({bytes / 1048576.0:F0} MiB, layers {needs.Signature}) computed in {clock.Elapsed.TotalSeconds:F0} s and cached in {path}");
        return cache;
    }

    /// <summary>Runs the teacher (eval mode, no grad) over the examples, shortest first, and keeps what the needs name.</summary>
    public static TeacherHiddenCache Compute(EncoderClassifier teacher, IReadOnlyList<EncodedExample> examples, TeacherNeeds needs,
        int batchSize, long padId, Device device)
    {
        int n = examples.Count, h = teacher.Shape.HiddenSize, c = teacher.Shape.NumLabels;
        var offsets = new long[n + 1];
        for (int i = 0; i < n; i++) offsets[i + 1] = offsets[i] + examples[i].InputIds.Length;
        var tokens = needs.TokenLayers.ToDictionary(l => l, _ => zeros(offsets[n] + 1, h, dtype: float16));
        var cls = needs.ClsLayers.ToDictionary(l => l, _ => zeros(n, h, dtype: float16));
        var logits = zeros(n, c);
        bool wasTraining = teacher.training;
        teacher.eval();
        var order = Enumerable.Range(0, n).OrderBy(i => examples[i].InputIds.Length).ToArray();
        using (no_grad())
            foreach (var chunk in order.Chunk(batchSize))
            {
                using var scope = NewDisposeScope();
                using var batch = Collator.CollateAt(examples, chunk, padId);
                var output = teacher.forward(Classifier.Inputs(batch, device), new OutputRequest(HiddenStates: true));
                var states = output.Encoder.HiddenStates!;
                var rows = tensor(chunk.Select(i => (long)i).ToArray());
                logits.index_copy_(0, rows, output.Logits.cpu());
                foreach (var (l, store) in cls) store.index_copy_(0, rows, states[l].select(1, 0).cpu().to(float16)); // (B, H)
                foreach (var (l, store) in tokens)
                {
                    var s = states[l].cpu().to(float16); // (B, T, H)
                    for (int k = 0; k < chunk.Length; k++)
                    {
                        int i = chunk[k];
                        long len = offsets[i + 1] - offsets[i];
                        store.narrow(0, offsets[i], len).copy_(s[k].narrow(0, 0, len));
                    }
                }
            }
        if (wasTraining) teacher.train();
        return new TeacherHiddenCache(needs, logits, offsets, tokens, cls);
    }

    /// <summary>
    /// The teacher's side of one batch as the matches read it: logits, the needed hidden states (B, T, H) in fp32 with
    /// padding rows zero ([CLS]-only layers as (B, 1, H)), and attention scores/probabilities recomputed from the cached
    /// input of each needed layer exactly as the teacher's forward computes them.
    /// </summary>
    public DistillSide Side(Batch b, EncoderClassifier teacher, Tensor attentionMask, Device device)
    {
        int batch = b.Size;
        long t = b.SeqLen;
        var index = new long[batch * t];
        for (int r = 0; r < batch; r++)
        {
            int i = b.Indices[r];
            if (i < 0 || i >= Count) throw DistilException.Usage($"example {i} is not in the teacher cache ({Count} examples); the cache belongs to other data");
            long len = offsets[i + 1] - offsets[i];
            // Token layers line up with the batch's positions only when both come from one tokenizer; [CLS]-only caches
            // (cross-vocabulary distillation) are read by row, whatever the batch's length.
            if (len > t && tokens.Count > 0) throw DistilException.Usage($"example {i}: cached with {len} tokens but the batch holds {t}; the cache belongs to other data");
            for (long k = 0; k < t; k++) index[r * t + k] = k < len ? offsets[i] + k : TotalTokens;
        }
        using var at = tensor(index);
        using var rows = tensor(b.Indices.Select(i => (long)i).ToArray());
        int layers = teacher.Shape.NumHiddenLayers;
        var hidden = new Tensor[layers + 1];
        foreach (var (l, store) in tokens) hidden[l] = store.index_select(0, at).view(batch, t, -1).to(float32).to(device); // (B*T, H) -> (B, T, H)
        foreach (var (l, store) in cls) hidden[l] = store.index_select(0, rows).unsqueeze(1).to(float32).to(device);      // (B, H) -> (B, 1, H)
        var probs = new Tensor[layers];
        var scores = new Tensor[layers];
        if (Needs.AttentionLayers.Count > 0)
        {
            using var additive = ScaledDotProductAttention.AdditiveMask(attentionMask); // (B, T) -> (B, 1, 1, T), as the forward builds it
            foreach (int l in Needs.AttentionLayers)
            {
                var a = teacher.AttentionLayers.SelfAttention(l - 1);
                var (context, p, s, _) = ScaledDotProductAttention.Run(a.query, a.key, a.value, hidden[l - 1], additive,
                    teacher.Shape.NumAttentionHeads, teacher.Shape.HeadDim, null, 0.0, returnAttention: true, returnValues: false);
                context.Dispose();
                probs[l - 1] = p!;
                scores[l - 1] = s!;
            }
        }
        var logits = Logits.index_select(0, rows).to(device);
        return new DistillSide(logits, new BertEncoderOutput(logits, null, hidden, probs, scores), teacher.AttentionLayers);
    }

    bool Matches(IReadOnlyList<EncodedExample> examples, BertConfig teacher)
    {
        if (Count != examples.Count || Logits.shape[1] != teacher.NumLabels) return false;
        for (int i = 0; i < examples.Count; i++)
            if (offsets[i + 1] - offsets[i] != examples[i].InputIds.Length) return false;
        return tokens.Values.Concat(cls.Values).All(s => s.shape[1] == teacher.HiddenSize);
    }

    void Save(string path)
    {
        var items = new List<(string Key, string DType, Tensor T)> { ("logits", "F32", Logits), ("offsets", "I64", tensor(offsets)) };
        items.AddRange(tokens.Select(p => ($"tokens.{p.Key}", "F16", p.Value)));
        items.AddRange(cls.Select(p => ($"cls.{p.Key}", "F16", p.Value)));
        var header = new Dictionary<string, object> { ["__metadata__"] = new Dictionary<string, string> { ["format"] = "pt", ["needs"] = Needs.Signature } };
        long offset = 0;
        foreach (var (key, dtype, t) in items)
        {
            long size = t.numel() * t.ElementSize;
            header[key] = new { dtype, shape = t.shape, data_offsets = new[] { offset, offset + size } };
            offset += size;
        }
        var json = JsonSerializer.SerializeToUtf8Bytes(header);
        int pad = (8 - json.Length % 8) % 8; // data aligned to 8 bytes, as the Rust writer does
        AtomicFile.Write(path, fs =>
        {
            Span<byte> len = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)(json.Length + pad));
            fs.Write(len);
            fs.Write(json);
            for (int i = 0; i < pad; i++) fs.WriteByte((byte)' ');
            foreach (var (_, _, t) in items)
                using (var c = t.cpu().contiguous()) fs.Write(c.bytes);
        });
        items[1].T.Dispose();
    }

    static TeacherHiddenCache Load(string path, TeacherNeeds needs)
    {
        // SafeTensors validates the header (offsets inside the file, no overlaps); fp16 data is read as is, so the
        // in-memory cache stays half the size (SafeTensors.Read would widen it to fp32).
        var entries = SafeTensors.ReadEntries(path, out _).ToDictionary(e => e.Key);
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        Span<byte> len = stackalloc byte[8];
        fs.ReadExactly(len);
        long dataStart = 8 + (long)BinaryPrimitives.ReadUInt64LittleEndian(len);
        Tensor Get(string key, string dtype, ScalarType type)
        {
            if (!entries.TryGetValue(key, out var e) || e.DType != dtype)
                throw DistilException.BadInput($"{path}: no {dtype} tensor '{key}'; the cache file is stale");
            var t = empty(e.Shape, dtype: type);
            var bytes = new byte[e.End - e.Begin];
            fs.Position = dataStart + e.Begin;
            fs.ReadExactly(bytes);
            t.bytes = bytes;
            return t;
        }
        using var off = Get("offsets", "I64", int64);
        var logits = Get("logits", "F32", float32);
        var tokens = needs.TokenLayers.ToDictionary(l => l, l => Get($"tokens.{l}", "F16", float16));
        var cls = needs.ClsLayers.ToDictionary(l => l, l => Get($"cls.{l}", "F16", float16));
        return new TeacherHiddenCache(needs, logits, off.data<long>().ToArray(), tokens, cls);
    }

    public void Dispose()
    {
        Logits.Dispose();
        foreach (var t in tokens.Values.Concat(cls.Values)) t.Dispose();
    }
}
