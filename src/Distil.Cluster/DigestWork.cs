using System.Security.Cryptography;
using System.Text;

namespace Distil.Cluster;

/// <summary>
/// A stand-in job of known result for testing and measuring the cluster: each line of text becomes 32 bytes, SHA-256
/// applied <see cref="Rounds"/> times (the rounds set the cost of an item, as a teacher's forward pass would). A payload
/// is one item's lines as UTF-8 joined by '\n'; its result is their digests in order.
/// </summary>
public sealed class DigestWork(int rounds) : IWorkHandler
{
    public const string Name = "digest";

    public string Kind => Name + "/" + Rounds;

    public int Rounds { get; } = rounds >= 1 ? rounds : throw DistilException.Usage($"--rounds must be at least 1, got {rounds}");

    public byte[] Run(byte[] payload, CancellationToken cancel)
    {
        var lines = payload.Length == 0 ? [] : Encoding.UTF8.GetString(payload).Split('\n');
        var result = new byte[32 * lines.Length];
        Span<byte> h = stackalloc byte[32];
        for (int i = 0; i < lines.Length; i++)
        {
            cancel.ThrowIfCancellationRequested();
            SHA256.HashData(Encoding.UTF8.GetBytes(lines[i]), h);
            for (int r = 1; r < Rounds; r++) SHA256.HashData(h, h);
            h.CopyTo(result.AsSpan(32 * i));
        }
        return result;
    }

    /// <summary>Items of <paramref name="linesPerItem"/> lines each, named by their first line number (1-based).</summary>
    public static List<(string Id, byte[] Payload)> Items(IReadOnlyList<string> lines, int linesPerItem)
    {
        if (linesPerItem < 1) throw DistilException.Usage($"--lines-per-item must be at least 1, got {linesPerItem}");
        var items = new List<(string, byte[])>();
        for (int start = 0; start < lines.Count; start += linesPerItem)
        {
            var chunk = lines.Skip(start).Take(linesPerItem);
            items.Add(($"{start + 1:D9}", Encoding.UTF8.GetBytes(string.Join('\n', chunk))));
        }
        return items;
    }
}
