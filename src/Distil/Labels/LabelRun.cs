using System.Diagnostics;
using System.Text.Json;
using Distil.Checkpoints;

namespace Distil.Labels;

/// <summary>Where a job stands: shards and rows done so far (labelled now, or found finished in the store).</summary>
public sealed record LabelProgress(int ShardsDone, int ShardsSkipped, long RowsLabelled, long RowsSeen, TimeSpan Elapsed);

/// <summary>What a finished job did (also written to STORE/jobs/JOB.json, which marks the job finished).</summary>
public sealed record LabelResult(string JobId, int Shards, int ShardsSkipped, long RowsLabelled, long RowsRead, long BadRows, long Duplicates, double Seconds)
{
    public double RowsPerSecond => Seconds > 0 ? RowsLabelled / Seconds : 0;
}

/// <summary>
/// The single-machine driver: plan the job's shards, label each one not yet in the store, hand it to the store.
/// A cluster runs the same three pieces (<see cref="LabelJob.Plan"/>, <see cref="ShardLabeller.Label"/>,
/// <see cref="LabelStore.Accept(LabelShard, byte[])"/>) with the labelling on other machines.
/// </summary>
public static class LabelRun
{
    public const string JobsDir = "jobs";

    public static string JobFile(LabelStore store, string jobId) => Path.Combine(store.Dir, JobsDir, jobId + ".json");

    /// <summary>
    /// Refuses to continue an interrupted job without <paramref name="resume"/> (shards of the job but no job file),
    /// so a rerun is never mistaken for a new one; with it, finished shards are skipped by name.
    /// </summary>
    public static void CheckResume(LabelStore store, LabelJob job, bool resume)
    {
        string id = job.Id;
        bool started = store.ShardFiles().Any(f => Path.GetFileName(f).StartsWith(id + "-", StringComparison.Ordinal));
        if (started && !resume && !File.Exists(JobFile(store, id)))
            throw DistilException.Usage($"{store.Dir}: holds an interrupted labelling of {job.Corpus} (job {id}); pass --resume to continue it");
    }

    public static LabelResult Run(LabelJob job, LabelStore store, ILabelTeacher teacher, bool resume, int batchSize = ShardLabeller.DefaultBatchSize,
        Action<LabelProgress>? progress = null)
    {
        if (teacher.Spec.Difference(store.Spec) is { } why)
            throw DistilException.BadInput($"{store.Dir}: this label store was made by another teacher: {why}; label into another --out");
        return Run(job, store, resume, 1, shards => [.. shards.Select(s => ShardLabeller.Label(teacher, s, batchSize))], progress);
    }

    /// <summary>
    /// The one driver, wherever the labelling runs: the job's shards are planned in order and cut into windows of
    /// up to <paramref name="window"/> shards not yet in the store; <paramref name="label"/> turns a window into its
    /// shard files' bytes (here: <see cref="ShardLabeller"/>; on a cluster: other machines), and each is handed to the
    /// store, which takes it atomically and exactly once. Only one window's rows are in memory at a time.
    /// </summary>
    public static LabelResult Run(LabelJob job, LabelStore store, bool resume, int window, Func<IReadOnlyList<LabelShard>, IReadOnlyList<byte[]>> label,
        Action<LabelProgress>? progress = null)
    {
        if (job.Spec.Difference(store.Spec) is { } why)
            throw DistilException.BadInput($"{store.Dir}: this label store was made by another teacher: {why}; label into another --out");
        if (window < 1) throw DistilException.Usage($"window {window} must be at least 1");
        CheckResume(store, job, resume);
        var clock = Stopwatch.StartNew();
        var counts = new CorpusCounts();
        int done = 0, skipped = 0;
        long labelled = 0, seen = 0;
        var todo = new List<LabelShard>(window);
        void Flush()
        {
            if (todo.Count == 0) return;
            var bytes = label(todo);
            if (bytes.Count != todo.Count) throw new InvalidOperationException($"{todo.Count} shards labelled into {bytes.Count} results");
            for (int i = 0; i < todo.Count; i++)
            {
                store.Accept(todo[i], bytes[i]);
                labelled += todo[i].Rows.Count;
                done++;
                progress?.Invoke(new LabelProgress(done, skipped, labelled, counts.Rows + counts.Bad, clock.Elapsed));
            }
            todo.Clear();
        }
        foreach (var shard in job.Plan(store, counts))
        {
            seen += shard.Rows.Count;
            if (store.Has(shard))
            {
                skipped++;
                done++;
                progress?.Invoke(new LabelProgress(done, skipped, labelled, counts.Rows + counts.Bad, clock.Elapsed));
                continue;
            }
            todo.Add(shard);
            if (todo.Count == window) Flush();
        }
        Flush();
        var result = new LabelResult(job.Id, done, skipped, labelled, counts.Rows, counts.Bad, counts.Duplicates, clock.Elapsed.TotalSeconds);
        string jobFile = JobFile(store, job.Id);
        Directory.CreateDirectory(Path.GetDirectoryName(jobFile)!);
        AtomicFile.Write(jobFile, s => JsonSerializer.Serialize(s, new
        {
            job = job.Id,
            corpus = Path.GetFullPath(job.Corpus),
            rows_per_shard = job.RowsPerShard,
            shards = done,
            rows_read = counts.Rows,
            bad_rows = counts.Bad,
            bad_reasons = counts.BadReasons,
            duplicates = counts.Duplicates,
        }, new JsonSerializerOptions { WriteIndented = true }));
        return result;
    }
}
