using System.Security.Cryptography;

namespace Distil.Labels;

/// <summary>
/// One unit of labelling work: the <paramref name="Index"/>-th group of rows of a job, carried with its texts so a
/// worker needs no shared file system. <see cref="Id"/> names it within its job; <see cref="ContentKey"/> (a hash of
/// its rows' keys) tells whether two shards of that id hold the same rows. A store accepts a shard once per
/// (id, content key).
/// </summary>
public sealed record LabelShard(string JobId, int Index, IReadOnlyList<LabelRow> Rows)
{
    public string Id => $"{JobId}-{Index:D6}";

    public string ContentKey
    {
        get
        {
            var bytes = new byte[Rows.Count * 16];
            for (int i = 0; i < Rows.Count; i++) BitConverter.TryWriteBytes(bytes.AsSpan(i * 16, 16), Rows[i].Key);
            return Convert.ToHexString(SHA256.HashData(bytes))[..16].ToLowerInvariant();
        }
    }
}
