using System.Security.Cryptography;
using System.Text;

namespace Distil.Labels;

/// <summary>One corpus row to label: a sentence or a sentence pair, and where it came from (file:line).</summary>
public sealed record LabelRow(string Text, string? Pair, string Source)
{
    /// <summary>
    /// The row's content address inside a store: the first 16 bytes of SHA-256 over the UTF-8 text, a separator and
    /// the pair (a pair-less row and a row with an empty pair differ). The teacher and tokenizer half of the address
    /// is the store's manifest (<see cref="LabelSpec.Key"/>), so one store holds one teacher's labels.
    /// </summary>
    public UInt128 Key => KeyOf(Text, Pair);

    public static UInt128 KeyOf(string text, string? pair)
    {
        Span<byte> hash = stackalloc byte[32];
        var bytes = Encoding.UTF8.GetBytes(pair == null ? text + "\u0000" : text + "\u0001" + pair);
        SHA256.HashData(bytes, hash);
        return new UInt128(BitConverter.ToUInt64(hash[..8]), BitConverter.ToUInt64(hash[8..16]));
    }
}
