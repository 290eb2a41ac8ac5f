using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Serialization;
using Distil.Deploy;
using Distil.Labels;

namespace Distil.Cluster;

/// <summary>
/// One shard to label on a worker: which teacher (folder as the submitter names it, engine, max_seq_len, kept
/// layers, and the store key the worker's copy must have), the batch size, and the shard's rows themselves, so the
/// worker needs no shared file system for the corpus; the shard file's bytes travel back as the result.
/// </summary>
public sealed record LabelShardPayload
{
    [JsonPropertyName("teacher")] public required string Teacher { get; init; }
    [JsonPropertyName("engine")] public required string Engine { get; init; }
    [JsonPropertyName("max_seq_len")] public required int MaxSeqLen { get; init; }
    [JsonPropertyName("hidden_layers")] public required int[] HiddenLayers { get; init; }
    [JsonPropertyName("spec_key")] public required string SpecKey { get; init; }
    [JsonPropertyName("batch_size")] public required int BatchSize { get; init; }
    [JsonPropertyName("job")] public required string JobId { get; init; }
    [JsonPropertyName("index")] public required int Index { get; init; }
    /// <summary>Text, pair, source (file:line) per row.</summary>
    [JsonPropertyName("rows")] public required string?[][] Rows { get; init; }

    public byte[] ToBytes() => JsonSerializer.SerializeToUtf8Bytes(this);

    public static LabelShardPayload FromBytes(byte[] b) =>
        JsonSerializer.Deserialize<LabelShardPayload>(b) ?? throw DistilException.BadInput("an empty label shard payload");

    public LabelShard Shard() => new(JobId, Index, [.. Rows.Select(r => new LabelRow(r[0]!, r[1], r[2] ?? ""))]);
}

/// <summary>
/// The worker side of `distil label --cluster`: labels a shard with <see cref="ShardLabeller"/>, the same code and
/// batches as a single-machine run, so the bytes are the same on the same kind of CPU. Teachers are opened once per
/// worker thread and kept; a teacher whose store key differs from the submitter's (another file at that path, another
/// engine) is refused, never used.
/// </summary>
public sealed class LabelWork(int threadsPerTeacher = 1) : IWorkHandler, IDisposable
{
    public const string Name = "label";

    readonly ConcurrentDictionary<string, ConcurrentBag<ILabelTeacher>> idle = new(StringComparer.Ordinal);
    readonly ConcurrentBag<ILabelTeacher> all = [];

    public string Kind => Name;

    public byte[] Run(byte[] payload, CancellationToken cancel)
    {
        var p = LabelShardPayload.FromBytes(payload);
        string key = $"{p.Teacher}|{p.Engine}|{p.MaxSeqLen}|{string.Join(',', p.HiddenLayers)}";
        var bag = idle.GetOrAdd(key, _ => []);
        if (!bag.TryTake(out var teacher))
        {
            if (!Directory.Exists(p.Teacher))
                throw DistilException.NotFound($"teacher {p.Teacher} is not on this worker ({Environment.MachineName}): copy the teacher folder to the same path on every worker (docs/cluster.md)");
            teacher = LabelTeachers.Open(p.Teacher, p.Engine, p.MaxSeqLen, p.HiddenLayers, threadsPerTeacher);
            all.Add(teacher);
        }
        try
        {
            if (teacher.Spec.Key != p.SpecKey)
                throw DistilException.BadInput($"teacher {p.Teacher} on this worker ({Environment.MachineName}) has store key {teacher.Spec.Key}, the submitter's has {p.SpecKey}: " +
                    "the folder differs between machines; copy the submitter's teacher to every worker");
            cancel.ThrowIfCancellationRequested();
            return ShardLabeller.Label(teacher, p.Shard(), p.BatchSize);
        }
        finally { bag.Add(teacher); }
    }

    public void Dispose()
    {
        foreach (var t in all) t.Dispose();
    }
}

/// <summary>
/// The submitting side of `distil label --cluster`: the single-machine driver (<see cref="LabelRun"/>) with each
/// window of shards labelled by the cluster's workers. Results come back through the cluster (item grains in Redis),
/// and only this process writes the store, so no worker needs the store's file system.
/// </summary>
public static class ClusterLabelRun
{
    /// <summary>Shards per cluster job: the rows of one window are in memory (here and in Redis) at a time.</summary>
    public const int Window = 64;

    public static LabelResult Run(IGrainFactory grains, LabelJob job, LabelStore store, string teacherDir, string engine, IReadOnlyList<int> hiddenLayers,
        bool resume, int batchSize, double leaseSeconds, Action<string>? log, Action<LabelProgress>? progress, CancellationToken cancel, int window = Window)
    {
        if (batchSize < 1) throw DistilException.Usage($"--batch-size {batchSize} must be at least 1");
        string teacher = Path.GetFullPath(teacherDir);
        return LabelRun.Run(job, store, resume, window, shards =>
        {
            var items = shards.Select(s => (s.Id, new LabelShardPayload
            {
                Teacher = teacher, Engine = engine, MaxSeqLen = job.Spec.MaxSeqLen, HiddenLayers = [.. hiddenLayers], SpecKey = job.Spec.Key,
                BatchSize = batchSize, JobId = s.JobId, Index = s.Index, Rows = [.. s.Rows.Select(r => new[] { r.Text, r.Pair, r.Source })],
            }.ToBytes())).ToList();
            string id = JobSubmitter.DefaultJobId(LabelWork.Name, JobSubmitter.Fingerprint(LabelWork.Name, items));
            log?.Invoke($"job {id}: {items.Count} shards ({shards[0].Id} .. {shards[^1].Id})");
            var (results, final) = JobSubmitter.RunAsync(grains, id, LabelWork.Name, items, leaseSeconds, null, cancel).GetAwaiter().GetResult();
            log?.Invoke(JobSubmitter.Summary(id, final));
            return results;
        }, progress);
    }
}
