using System.Security.Cryptography;
using System.Text;

namespace Distil.Cluster;

/// <summary>
/// A stand-in job of known result for testing and measuring the cluster: each line of text becomes 32 bytes, SHA-256
/// applied R times (R sets the cost of an item, as a teacher's forward pass would). A payload is R, then one item's
/// lines, as UTF-8 joined by '\n'; its result is the lines' digests in order.
/// </summary>
public sealed class DigestWork : IWorkHandler
{
    public const string Name = "digest";

    public string Kind => Name;

    public byte[] Run(byte[] payload, CancellationToken cancel)
    {
        var all = Encoding.UTF8.GetString(payload).Split('\n');
        int rounds = int.Parse(all[0], System.Globalization.CultureInfo.InvariantCulture);
        var lines = all.AsSpan(1);
        var result = new byte[32 * lines.Length];
        Span<byte> h = stackalloc byte[32];
        for (int i = 0; i < lines.Length; i++)
        {
            cancel.ThrowIfCancellationRequested();
            SHA256.HashData(Encoding.UTF8.GetBytes(lines[i]), h);
            for (int r = 1; r < rounds; r++) SHA256.HashData(h, h);
            h.CopyTo(result.AsSpan(32 * i));
        }
        return result;
    }

    /// <summary>Items of <paramref name="linesPerItem"/> lines each, named by their first line number (1-based).</summary>
    public static List<(string Id, byte[] Payload)> Items(IReadOnlyList<string> lines, int linesPerItem, int rounds)
    {
        if (linesPerItem < 1) throw DistilException.Usage($"--lines-per-item must be at least 1, got {linesPerItem}");
        if (rounds < 1) throw DistilException.Usage($"--rounds must be at least 1, got {rounds}");
        var items = new List<(string, byte[])>();
        for (int start = 0; start < lines.Count; start += linesPerItem)
            items.Add(($"{start + 1:D9}", Encoding.UTF8.GetBytes(rounds + "\n" + string.Join('\n', lines.Skip(start).Take(linesPerItem)))));
        return items;
    }
}
