using System.Security.Cryptography;
using System.Text;
using Distil.Data;

namespace Distil.Labels;

/// <summary>
/// A labelling job: a corpus, the spec its labels go under, how it is read and how many rows make a shard. Its
/// shards (<see cref="Plan"/>) are cut deterministically from the corpus: the rows in file order, less the rows the
/// store held before the job began and rows already met earlier in the corpus, in groups of
/// <see cref="RowsPerShard"/>. Replanning the same job over a partly filled store gives the same shards, which is
/// what makes `--resume` (and a cluster's retry) skip finished shards by name.
/// </summary>
public sealed record LabelJob(string Corpus, LabelSpec Spec, int RowsPerShard = LabelJob.DefaultRowsPerShard,
    ColumnMapping? Columns = null, DataFormat? Format = null, bool SkipBadRows = false)
{
    public const int DefaultRowsPerShard = 512;

    /// <summary>Spec, corpus (path, size, modification time), reading and shard size: a changed corpus is a new job (its rows still dedupe against the store).</summary>
    public string Id
    {
        get
        {
            var f = new FileInfo(Corpus);
            string identity = $"{Spec.Key}|{f.FullName}|{(f.Exists ? f.Length : -1)}|{(f.Exists ? f.LastWriteTimeUtc.Ticks : 0)}|{RowsPerShard}|{Columns}|{Format}";
            return "j" + Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(identity)))[..12].ToLowerInvariant();
        }
    }

    public void Validate()
    {
        if (RowsPerShard < 1) throw DistilException.Usage($"rows per shard {RowsPerShard} must be at least 1");
    }

    /// <summary>The shards, streamed: only one shard's rows (and the set of keys met) are in memory at a time.</summary>
    public IEnumerable<LabelShard> Plan(LabelStore store, CorpusCounts counts)
    {
        Validate();
        string id = Id;
        var held = store.Keys(exceptJob: id);
        var met = new HashSet<UInt128>();
        var rows = new List<LabelRow>(RowsPerShard);
        int index = 0;
        foreach (var row in CorpusReader.Read(Corpus, Columns, Format, SkipBadRows, counts))
        {
            var key = row.Key;
            if (held.Contains(key) || !met.Add(key)) { counts.Duplicates++; continue; }
            rows.Add(row);
            if (rows.Count == RowsPerShard) { yield return new LabelShard(id, index++, rows); rows = new List<LabelRow>(RowsPerShard); }
        }
        if (rows.Count > 0) yield return new LabelShard(id, index, rows);
    }
}
