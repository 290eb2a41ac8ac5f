using System.Security.Cryptography;
using Distil.Checkpoints;

namespace Distil.Labels;

/// <summary>
/// A teacher's logits for the rows a command trains on, through one label store: rows the store holds are read
/// back, the others are labelled once (in shards, as `distil label` does) and added to it. Every command that needs
/// teacher labels (distill, its --augment and --transfer, search, l2a, metakd, augment) asks this, so a sentence
/// labelled by one command is never labelled again by another using the same store. The store is --label-store, or
/// by default .distil-cache/labels-KEY next to the training data (KEY = the teacher's <see cref="LabelSpec.Key"/>).
/// When the store cannot be written (a full or read-only disk) the labels are still returned, and a log line says so.
/// </summary>
public sealed class TeacherLabels
{
    readonly ILabelTeacher teacher;
    readonly Action<string>? log;
    readonly Dictionary<UInt128, float[]> held = [];
    readonly int batchSize;
    LabelStore? store; // null once the disk refused it: labels are then kept in memory only

    /// <summary>The store's folder (where another command, e.g. an l2a arm, finds the same labels).</summary>
    public string Dir { get; }
    /// <summary>Rows this object ran the teacher on (the rest came from the store).</summary>
    public long Labelled { get; private set; }

    TeacherLabels(string dir, LabelStore? store, ILabelTeacher teacher, int batchSize, Action<string>? log)
    {
        Dir = dir; this.store = store; this.teacher = teacher; this.batchSize = batchSize; this.log = log;
        if (store != null)
            foreach (var (row, logits) in store.Rows()) held.TryAdd(row.Key, logits);
    }

    /// <summary>The default store of <paramref name="teacher"/> for data at <paramref name="dataPath"/>.</summary>
    public static string DefaultDir(string dataPath, LabelSpec spec) => Path.Combine(DataCache.CacheDir(dataPath), $"labels-{spec.Key}");

    /// <summary>
    /// The store at <paramref name="storeDir"/> (or the default next to <paramref name="dataPath"/>), created when
    /// absent; a store made by another teacher, engine, tokenizer or max_seq_len is refused naming both keys.
    /// </summary>
    public static TeacherLabels Open(string? storeDir, string dataPath, ILabelTeacher teacher, int batchSize, Action<string>? log = null)
    {
        if (batchSize < 1) throw DistilException.Usage($"batch size {batchSize} must be at least 1");
        string dir = storeDir ?? DefaultDir(dataPath, teacher.Spec);
        LabelStore? store = null;
        if (LabelStore.IsStore(dir))
        {
            store = LabelStore.Open(dir);
            if (store.Spec.Difference(teacher.Spec) is { } why)
                throw DistilException.BadInput($"{dir}: this label store was made by another teacher: {why}; give a store of this teacher (--label-store), or leave --label-store out (a store holds one teacher's labels)");
        }
        else
        {
            try { store = LabelStore.OpenOrCreate(dir, teacher.Spec); }
            catch (DistilException e) when (e.ExitCode is ExitCodes.DiskFull or ExitCodes.OutputNotWritable)
            {
                log?.Invoke($"teacher labels not stored ({e.Message}); this run goes on with them in memory");
            }
        }
        var labels = new TeacherLabels(dir, store, teacher, batchSize, log);
        log?.Invoke($"teacher labels: store {dir} ({labels.held.Count} rows held)");
        return labels;
    }

    /// <summary>The teacher's logits for each row, in row order; rows not yet in the store are labelled now and added.</summary>
    public float[][] Logits(IReadOnlyList<(string Text, string? Pair)> rows)
    {
        var missing = new List<LabelRow>();
        var met = new HashSet<UInt128>();
        foreach (var (text, pair) in rows)
        {
            var row = new LabelRow(text, pair, "");
            var key = row.Key;
            if (!held.ContainsKey(key) && met.Add(key)) missing.Add(row);
        }
        if (missing.Count > 0) Label(missing);
        return rows.Select(r => held[LabelRow.KeyOf(r.Text, r.Pair)]).ToArray();
    }

    /// <summary>Single sentences' logits.</summary>
    public float[][] Logits(IReadOnlyList<string> sentences) => Logits(sentences.Select(s => (s, (string?)null)).ToArray());

    void Label(List<LabelRow> rows)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        // A job of these rows: its id hashes their keys, so the same rows labelled again (another process) are the same shards.
        var keys = new byte[rows.Count * 16];
        for (int i = 0; i < rows.Count; i++) BitConverter.TryWriteBytes(keys.AsSpan(i * 16, 16), rows[i].Key);
        string job = "m" + Convert.ToHexString(SHA256.HashData(keys))[..12].ToLowerInvariant();
        int index = 0;
        foreach (var chunk in rows.Chunk(LabelJob.DefaultRowsPerShard))
        {
            var shard = new LabelShard(job, index++, chunk);
            var contents = ShardLabeller.Compute(teacher, shard, batchSize);
            if (store != null)
            {
                try { store.Accept(shard, ShardFile.Write(contents)); }
                catch (DistilException e) when (e.ExitCode is ExitCodes.DiskFull or ExitCodes.OutputNotWritable)
                {
                    store = null;
                    log?.Invoke($"teacher labels not stored ({e.Message}); this run goes on with them in memory");
                }
            }
            for (int i = 0; i < contents.Count; i++) held.TryAdd(contents.Keys[i], contents.LogitsOf(i).ToArray());
            Labelled += contents.Count;
        }
        log?.Invoke($"teacher labels: {rows.Count} new rows labelled in {clock.Elapsed.TotalSeconds:F1} s{(store != null ? $" into {Dir}" : "")}");
    }

    /// <summary>The index of the largest logit (the first on a tie).</summary>
    public static int ArgMax(float[] logits) => Array.IndexOf(logits, logits.Max());

    /// <summary>Softmax of one row of logits.</summary>
    public static float[] Softmax(float[] z)
    {
        float max = z.Max();
        var e = z.Select(v => MathF.Exp(v - max)).ToArray();
        float s = e.Sum();
        return e.Select(v => v / s).ToArray();
    }
}
