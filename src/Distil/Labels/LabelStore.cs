using System.Text.Json;
using Distil.Checkpoints;

namespace Distil.Labels;

/// <summary>
/// A folder of teacher labels: manifest.json (the <see cref="LabelSpec"/> every shard was made under) and
/// shards/JOB-INDEX-CONTENT.safetensors (<see cref="ShardFile"/>). Rows are addressed by content (teacher +
/// tokenizer in the manifest, the text's hash in the shard), so a job skips every row the store already holds.
/// A shard is accepted atomically (temp file, checked, renamed) and exactly once: a second copy of the same
/// (id, content key), from a retry or a second worker, is dropped.
/// </summary>
public sealed class LabelStore
{
    public const string ManifestFile = "manifest.json", ShardsDir = "shards";
    static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    public string Dir { get; }
    public LabelSpec Spec { get; }
    string Shards => Path.Combine(Dir, ShardsDir);

    LabelStore(string dir, LabelSpec spec) { Dir = dir; Spec = spec; }

    /// <summary>The store at <paramref name="dir"/> for <paramref name="spec"/>, created when absent; refused when it belongs to another teacher.</summary>
    public static LabelStore OpenOrCreate(string dir, LabelSpec spec)
    {
        string manifest = Path.Combine(dir, ManifestFile);
        if (File.Exists(manifest))
        {
            var store = Open(dir);
            if (store.Spec.Difference(spec) is { } why)
                throw DistilException.BadInput($"{dir}: this label store was made by another teacher: {why}; label into another --out (a store holds one teacher's labels)");
            return store;
        }
        if (Directory.Exists(dir) && Directory.EnumerateFileSystemEntries(dir).Any())
            throw DistilException.BadInput($"{dir}: exists, is not empty and has no {ManifestFile}; it is not a label store, choose another --out");
        Directory.CreateDirectory(Path.Combine(dir, ShardsDir));
        RunFolderText(manifest, JsonSerializer.Serialize(spec, Json));
        return new LabelStore(dir, spec);
    }

    /// <summary>An existing store, to read.</summary>
    public static LabelStore Open(string dir)
    {
        string manifest = Path.Combine(dir, ManifestFile);
        if (!File.Exists(manifest)) throw DistilException.NotFound($"{dir}: not a label store (no {ManifestFile}); make one with `distil label --teacher DIR --data FILE --out {dir}`");
        LabelSpec? spec;
        try { spec = JsonSerializer.Deserialize<LabelSpec>(File.ReadAllText(manifest)); }
        catch (JsonException e) { throw DistilException.BadInput($"{manifest}: not a label store manifest ({e.Message}); the store is damaged"); }
        Directory.CreateDirectory(Path.Combine(dir, ShardsDir));
        return new LabelStore(dir, spec ?? throw DistilException.BadInput($"{manifest}: empty manifest; the store is damaged"));
    }

    public static bool IsStore(string path) => File.Exists(Path.Combine(path, ManifestFile));

    public string ShardPath(string shardId, string contentKey) => Path.Combine(Shards, $"{shardId}-{contentKey}.safetensors");

    public bool Has(LabelShard shard) => File.Exists(ShardPath(shard.Id, shard.ContentKey));

    /// <summary>
    /// Takes a finished shard's bytes; true when this call stored it, false when that (id, content key) was already
    /// there. The bytes are checked first (a shard file of this store's spec holding exactly the shard's rows), so a
    /// worker's damaged or foreign result is an error, never a stored shard.
    /// </summary>
    public bool Accept(LabelShard shard, byte[] bytes) => Accept(shard.Id, shard.ContentKey, bytes);

    public bool Accept(string shardId, string contentKey, byte[] bytes)
    {
        string target = ShardPath(shardId, contentKey);
        if (File.Exists(target)) return false;
        string tmp = target + ".tmp-" + Guid.NewGuid().ToString("N")[..8];
        bool stored = false;
        WriteFault.Guard(target, tmp, () =>
        {
            using (var o = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                o.Write(bytes);
                o.Flush(flushToDisk: true);
            }
            var c = ShardFile.Read(tmp);
            string got = c.Metadata.GetValueOrDefault("spec_key", "?"), gotShard = c.Metadata.GetValueOrDefault("shard", "?"), gotContent = c.Metadata.GetValueOrDefault("content_key", "?");
            if (got != Spec.Key || gotShard != shardId || gotContent != contentKey)
            {
                File.Delete(tmp);
                throw DistilException.BadInput($"{Dir}: shard {shardId} ({contentKey}) came back as shard {gotShard} ({gotContent}) under spec {got}, not this store's {Spec.Key}; it was not stored");
            }
            try { File.Move(tmp, target, overwrite: false); stored = true; }
            catch (IOException) when (File.Exists(target)) { File.Delete(tmp); } // another writer won the race: exactly once
        });
        return stored;
    }

    /// <summary>Shard files, in name order (job, then index).</summary>
    public IReadOnlyList<string> ShardFiles() =>
        Directory.EnumerateFiles(Shards, "*.safetensors").Order(StringComparer.Ordinal).ToList();

    /// <summary>Keys of the rows held, leaving out the shards of <paramref name="exceptJob"/> (a job resumes against the store as it was before it began).</summary>
    public HashSet<UInt128> Keys(string? exceptJob = null)
    {
        var keys = new HashSet<UInt128>();
        foreach (var f in ShardFiles())
        {
            if (exceptJob != null && Path.GetFileName(f).StartsWith(exceptJob + "-", StringComparison.Ordinal)) continue;
            keys.UnionWith(ShardFile.Read(f).Keys);
        }
        return keys;
    }

    /// <summary>Every shard's contents, in name order; a row held twice (two jobs) appears twice.</summary>
    public IEnumerable<ShardContents> ReadShards() => ShardFiles().Select(ShardFile.Read);

    /// <summary>Each distinct row once with its logits, in shard order.</summary>
    public IEnumerable<(LabelRow Row, float[] Logits)> Rows()
    {
        var seen = new HashSet<UInt128>();
        foreach (var s in ReadShards())
            for (int i = 0; i < s.Count; i++)
                if (seen.Add(s.Keys[i])) yield return (s.Rows[i], s.LogitsOf(i).ToArray());
    }

    static void RunFolderText(string path, string text) =>
        AtomicFile.Write(path, s => { using var w = new StreamWriter(s, leaveOpen: true); w.Write(text); });
}
