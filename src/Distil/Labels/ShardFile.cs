using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text.Json;
using Distil.Checkpoints;

namespace Distil.Labels;

/// <summary>What one labelled shard holds: its rows, their keys, the teacher's logits (N, C) and the kept hidden states.</summary>
public sealed record ShardContents(
    IReadOnlyList<LabelRow> Rows,
    UInt128[] Keys,
    float[] Logits,                              // (N, C) row-major fp32
    int NumLabels,
    long[] TokenOffsets,                         // N + 1: row i owns token rows offsets[i] .. offsets[i+1]-1; empty without hidden layers
    IReadOnlyDictionary<int, Half[]> Hidden,     // layer -> (total tokens, H) fp16
    int HiddenSize,
    IReadOnlyDictionary<string, string> Metadata)
{
    public int Count => Keys.Length;
    public ReadOnlySpan<float> LogitsOf(int row) => Logits.AsSpan(row * NumLabels, NumLabels);
}

/// <summary>
/// A shard as bytes: safetensors (so any safetensors reader opens it) with I64 "keys" (N, 2) (the row keys' low and
/// high halves), F32 "logits" (N, C), and per kept layer L an F16 "hidden.L" (total tokens, H) with I64
/// "token_offsets" (N + 1), unpadded like the teacher cache. The rows' texts are JSON in the metadata ("rows"),
/// so a student with its own tokenizer can train on the store alone. Writing needs no TorchSharp and no file: the
/// bytes are what a cluster worker sends back.
/// </summary>
public static class ShardFile
{
    public const string Format = "distil-label-shard-1";

    public static byte[] Write(ShardContents c)
    {
        var meta = new Dictionary<string, string>(c.Metadata)
        {
            ["format"] = Format,
            ["rows"] = JsonSerializer.Serialize(c.Rows.Select(r => new[] { r.Text, r.Pair, r.Source })),
        };
        var keys = new long[c.Count * 2];
        for (int i = 0; i < c.Count; i++) { keys[2 * i] = (long)(ulong)c.Keys[i]; keys[2 * i + 1] = (long)(ulong)(c.Keys[i] >> 64); }
        var items = new List<(string Key, string DType, long[] Shape, byte[] Bytes)>
        {
            ("keys", "I64", [c.Count, 2], MemoryMarshal.AsBytes(keys.AsSpan()).ToArray()),
            ("logits", "F32", [c.Count, c.NumLabels], MemoryMarshal.AsBytes(c.Logits.AsSpan()).ToArray()),
        };
        if (c.Hidden.Count > 0)
        {
            items.Add(("token_offsets", "I64", [c.TokenOffsets.Length], MemoryMarshal.AsBytes(c.TokenOffsets.AsSpan()).ToArray()));
            foreach (var (l, h) in c.Hidden.OrderBy(p => p.Key))
                items.Add(($"hidden.{l}", "F16", [c.TokenOffsets[^1], c.HiddenSize], MemoryMarshal.AsBytes(h.AsSpan()).ToArray()));
        }
        items.Sort((a, b) => string.CompareOrdinal(a.Key, b.Key));

        var header = new Dictionary<string, object> { ["__metadata__"] = meta };
        long offset = 0;
        foreach (var (key, dtype, shape, bytes) in items)
        {
            header[key] = new { dtype, shape, data_offsets = new[] { offset, offset + bytes.Length } };
            offset += bytes.Length;
        }
        var json = JsonSerializer.SerializeToUtf8Bytes(header);
        int pad = (8 - json.Length % 8) % 8; // data aligned to 8 bytes, as the Rust writer does
        var o = new MemoryStream();
        Span<byte> len = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)(json.Length + pad));
        o.Write(len);
        o.Write(json);
        for (int i = 0; i < pad; i++) o.WriteByte((byte)' ');
        foreach (var item in items) o.Write(item.Bytes);
        return o.ToArray();
    }

    /// <summary>Reads and checks a shard file (header validated by <see cref="SafeTensors"/>; shapes must agree).</summary>
    public static ShardContents Read(string path)
    {
        var entries = SafeTensors.ReadEntries(path, out var meta).ToDictionary(e => e.Key);
        if (!meta.TryGetValue("format", out var f) || f != Format)
            throw DistilException.BadInput($"{path}: not a label store shard (format '{f}', expected {Format}); remove it or label into a new store");
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        Span<byte> lenBytes = stackalloc byte[8];
        fs.ReadExactly(lenBytes);
        long dataStart = 8 + (long)BinaryPrimitives.ReadUInt64LittleEndian(lenBytes);
        T[] Get<T>(string key, string dtype) where T : struct
        {
            if (!entries.TryGetValue(key, out var e) || e.DType != dtype) throw DistilException.BadInput($"{path}: no {dtype} tensor '{key}'; the shard is damaged, remove it and label with --resume");
            var bytes = new byte[e.End - e.Begin];
            fs.Position = dataStart + e.Begin;
            fs.ReadExactly(bytes);
            return MemoryMarshal.Cast<byte, T>(bytes).ToArray();
        }
        var rawKeys = Get<long>("keys", "I64");
        int n = rawKeys.Length / 2;
        var keys = new UInt128[n];
        for (int i = 0; i < n; i++) keys[i] = new UInt128((ulong)rawKeys[2 * i + 1], (ulong)rawKeys[2 * i]);
        var logits = Get<float>("logits", "F32");
        int labels = (int)entries["logits"].Shape[1];
        var rows = (JsonSerializer.Deserialize<string?[][]>(meta.GetValueOrDefault("rows", "[]")) ?? [])
            .Select(r => new LabelRow(r[0]!, r[1], r.Length > 2 ? r[2] ?? "" : "")).ToList();
        if (rows.Count != n || logits.Length != n * labels) throw DistilException.BadInput($"{path}: {n} keys, {rows.Count} rows and {logits.Length} logits disagree; the shard is damaged, remove it and label with --resume");
        var hidden = new Dictionary<int, Half[]>();
        long[] offsets = [];
        int hiddenSize = 0;
        foreach (var e in entries.Values.Where(e => e.Key.StartsWith("hidden.", StringComparison.Ordinal)))
        {
            hidden[int.Parse(e.Key["hidden.".Length..], System.Globalization.CultureInfo.InvariantCulture)] = Get<Half>(e.Key, "F16");
            hiddenSize = (int)e.Shape[1];
        }
        if (hidden.Count > 0) offsets = Get<long>("token_offsets", "I64");
        return new ShardContents(rows, keys, logits, labels, offsets, hidden, hiddenSize, meta);
    }
}
