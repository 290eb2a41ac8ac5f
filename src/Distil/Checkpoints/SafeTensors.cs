using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace Distil.Checkpoints;

/// <summary>
/// Bounds-checked reader/writer for the safetensors format: u64 LE header length N, N bytes of JSON
/// (<c>{"key": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}</c>), then the raw LE data.
/// Everything in the header is checked before any tensor is allocated, so a corrupt or hostile file
/// fails with a message naming the file and the key instead of crashing or allocating gigabytes.
/// </summary>
public static class SafeTensors
{
    /// <summary>Headers above this are refused: real ones are kilobytes, and a bad length would otherwise allocate it.</summary>
    public const long MaxHeaderBytes = 100L * 1024 * 1024;
    const string MetadataKey = "__metadata__";

    /// <summary>A validated header entry: where the tensor's bytes lie, relative to the data start.</summary>
    public sealed record Entry(string Key, string DType, long[] Shape, long Begin, long End);

    public static IReadOnlyDictionary<string, Tensor> Read(string path) => Read(path, out _);

    /// <summary>
    /// Reads every tensor: F32/F16/BF16/F64 as float32 tensors, I64/I32 as int64 tensors (HF files may hold
    /// <c>position_ids</c>). The caller owns (and disposes) the tensors.
    /// </summary>
    public static IReadOnlyDictionary<string, Tensor> Read(string path, out IReadOnlyDictionary<string, string> metadata)
    {
        using var fs = OpenRead(path);
        var (entries, meta, dataStart) = ReadHeader(fs, path);
        metadata = meta;
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            foreach (var e in entries)
                result.Add(e.Key, ReadTensor(fs, dataStart, e));
        }
        catch
        {
            foreach (var t in result.Values) t.Dispose();
            throw;
        }
        return result;
    }

    /// <summary>The validated header only (keys, dtypes, shapes), without reading tensor data.</summary>
    public static IReadOnlyList<Entry> ReadEntries(string path, out IReadOnlyDictionary<string, string> metadata)
    {
        using var fs = OpenRead(path);
        var (entries, meta, _) = ReadHeader(fs, path);
        metadata = meta;
        return entries;
    }

    static FileStream OpenRead(string path)
    {
        if (!File.Exists(path)) throw DistilException.NotFound($"{path}: safetensors file not found");
        return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
    }

    static int DTypeSize(string dtype) => dtype switch
    {
        "F32" or "I32" => 4,
        "F16" or "BF16" => 2,
        "F64" or "I64" => 8,
        _ => 0,
    };

    static (List<Entry> entries, Dictionary<string, string> meta, long dataStart) ReadHeader(FileStream fs, string path)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("safetensors needs a little-endian machine");
        long fileSize = fs.Length;
        if (fileSize < 8) throw DistilException.BadInput($"{path}: not a safetensors file: {fileSize} bytes is shorter than the 8-byte header length (truncated file?)");
        Span<byte> lenBytes = stackalloc byte[8];
        fs.ReadExactly(lenBytes);
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(lenBytes);
        if (n > (ulong)MaxHeaderBytes)
            throw DistilException.BadInput($"{path}: header length {n} is larger than the {MaxHeaderBytes}-byte limit; the file is corrupt or not safetensors");
        if ((long)n > fileSize - 8)
            throw DistilException.BadInput($"{path}: header length {n} is larger than the file ({fileSize} bytes); the file is truncated or not safetensors");
        var header = new byte[n];
        fs.ReadExactly(header);
        long dataStart = 8 + (long)n;
        long dataSize = fileSize - dataStart;

        JsonDocument doc;
        try { doc = JsonDocument.Parse(header); }
        catch (JsonException e) { throw DistilException.BadInput($"{path}: header is not valid JSON ({e.Message}); the file is corrupt or not safetensors"); }
        using (doc)
            try
            {
                if (doc.RootElement.ValueKind != JsonValueKind.Object)
                    throw DistilException.BadInput($"{path}: header JSON is not an object; the file is corrupt or not safetensors");
                var entries = new List<Entry>();
                var meta = new Dictionary<string, string>(StringComparer.Ordinal);
                foreach (var prop in doc.RootElement.EnumerateObject())
                {
                    if (prop.Name == MetadataKey)
                    {
                        if (prop.Value.ValueKind != JsonValueKind.Object)
                            throw DistilException.BadInput($"{path}: __metadata__ must be an object of strings");
                        foreach (var m in prop.Value.EnumerateObject())
                        {
                            if (m.Value.ValueKind != JsonValueKind.String)
                                throw DistilException.BadInput($"{path}: __metadata__ value '{m.Name}' is not a string");
                            meta[m.Name] = m.Value.GetString()!;
                        }
                        continue;
                    }
                    entries.Add(ParseEntry(path, prop, dataSize));
                }
                CheckNoOverlap(path, entries);
                return (entries, meta, dataStart);
            }
            catch (InvalidOperationException e) // System.Text.Json transcoding a key or string that is not UTF-8
            {
                throw DistilException.BadInput($"{path}: header holds text that is not valid UTF-8 ({e.Message}); the file is corrupt or not safetensors");
            }
    }

    static Entry ParseEntry(string path, JsonProperty prop, long dataSize)
    {
        string key = prop.Name;
        DistilException Bad(string what) => DistilException.BadInput($"{path}: tensor '{key}': {what}; the file is corrupt");
        if (key.Length == 0) throw DistilException.BadInput($"{path}: a tensor has an empty name; the file is corrupt");
        var v = prop.Value;
        if (v.ValueKind != JsonValueKind.Object) throw Bad("entry is not an object");
        if (!v.TryGetProperty("dtype", out var dt) || dt.ValueKind != JsonValueKind.String) throw Bad("no dtype");
        string dtype = dt.GetString()!;
        int size = DTypeSize(dtype);
        if (size == 0) throw Bad($"dtype '{dtype}' is unknown or not supported (F32, F16, BF16, F64, I64, I32)");
        if (!v.TryGetProperty("shape", out var sh) || sh.ValueKind != JsonValueKind.Array) throw Bad("no shape array");
        var shape = new List<long>();
        foreach (var d in sh.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt64(out long dim) || dim < 0) throw Bad($"shape {sh.GetRawText()} has a dimension that is not a non-negative integer");
            shape.Add(dim);
        }
        if (!v.TryGetProperty("data_offsets", out var off) || off.ValueKind != JsonValueKind.Array || off.GetArrayLength() != 2)
            throw Bad("data_offsets must be [begin, end]");
        if (!off[0].TryGetInt64(out long begin) || !off[1].TryGetInt64(out long end) || begin < 0 || end < 0)
            throw Bad($"data_offsets {off.GetRawText()} are not non-negative integers");
        if (begin > end) throw Bad($"data_offsets [{begin}, {end}] have begin after end");
        if (end > dataSize) throw Bad($"data_offsets [{begin}, {end}] go past the end of the data ({dataSize} bytes); the file is truncated");
        long bytes = size;
        try { foreach (var d in shape) bytes = checked(bytes * d); }
        catch (OverflowException) { throw Bad($"shape [{string.Join(", ", shape)}] is too large"); }
        if (bytes != end - begin)
            throw Bad($"shape [{string.Join(", ", shape)}] x {dtype} ({size} bytes) needs {bytes} bytes but data_offsets [{begin}, {end}] hold {end - begin}");
        return new Entry(key, dtype, shape.ToArray(), begin, end);
    }

    static void CheckNoOverlap(string path, List<Entry> entries)
    {
        var sorted = entries.Where(e => e.End > e.Begin).OrderBy(e => e.Begin).ToList();
        for (int i = 1; i < sorted.Count; i++)
            if (sorted[i].Begin < sorted[i - 1].End)
                throw DistilException.BadInput(
                    $"{path}: tensor '{sorted[i].Key}' data [{sorted[i].Begin}, {sorted[i].End}] overlaps tensor '{sorted[i - 1].Key}' [{sorted[i - 1].Begin}, {sorted[i - 1].End}]; the file is corrupt");
    }

    static Tensor ReadTensor(FileStream fs, long dataStart, Entry e)
    {
        long count = (e.End - e.Begin) / DTypeSize(e.DType);
        if (count > Array.MaxLength) throw DistilException.BadInput($"{fs.Name}: tensor '{e.Key}' has {count} elements, more than one tensor can be read into");
        var raw = new byte[e.End - e.Begin];
        fs.Position = dataStart + e.Begin;
        fs.ReadExactly(raw);
        switch (e.DType)
        {
            case "F32":
                return torch.tensor(MemoryMarshal.Cast<byte, float>(raw).ToArray(), e.Shape);
            case "F64":
                return torch.tensor(MemoryMarshal.Cast<byte, double>(raw).ToArray().Select(d => (float)d).ToArray(), e.Shape);
            case "F16":
                {
                    var h = MemoryMarshal.Cast<byte, Half>(raw);
                    var f = new float[h.Length];
                    for (int i = 0; i < f.Length; i++) f[i] = (float)h[i];
                    return torch.tensor(f, e.Shape);
                }
            case "BF16":
                {
                    // bfloat16 is the top half of a float32's bits.
                    var b = MemoryMarshal.Cast<byte, ushort>(raw);
                    var f = new float[b.Length];
                    for (int i = 0; i < f.Length; i++) f[i] = BitConverter.Int32BitsToSingle(b[i] << 16);
                    return torch.tensor(f, e.Shape);
                }
            case "I64":
                return torch.tensor(MemoryMarshal.Cast<byte, long>(raw).ToArray(), e.Shape);
            case "I32":
                {
                    var src = MemoryMarshal.Cast<byte, int>(raw);
                    var l = new long[src.Length];
                    for (int i = 0; i < l.Length; i++) l[i] = src[i];
                    return torch.tensor(l, e.Shape);
                }
            default:
                throw new InvalidOperationException($"dtype {e.DType} passed validation but has no reader");
        }
    }

    /// <summary>
    /// Writes float tensors as F32 and integer tensors as I64, keys sorted, header padded with spaces to a multiple
    /// of 8 (as the Rust library does, so data is aligned). Atomic: a temp file next to <paramref name="path"/>
    /// is flushed to disk and then renamed over it, so a crash never leaves a half-written checkpoint.
    /// </summary>
    public static void Write(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("safetensors needs a little-endian machine");
        var items = new SortedDictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (k, t) in tensors)
        {
            if (string.IsNullOrEmpty(k) || k == MetadataKey) throw DistilException.Usage($"{path}: tensor name '{k}' cannot be written to safetensors");
            if (!items.TryAdd(k, t)) throw DistilException.Usage($"{path}: tensor '{k}' is given twice");
        }

        // The header needs only dtypes and shapes; bytes are made one tensor at a time while writing, so a big model
        // is never held twice in memory.
        var blobs = items.Select(p => (key: p.Key, dtype: DiskDType(path, p.Key, p.Value), shape: p.Value.shape, tensor: p.Value)).ToList();

        var json = new MemoryStream();
        using (var w = new Utf8JsonWriter(json))
        {
            w.WriteStartObject();
            w.WriteStartObject(MetadataKey);
            foreach (var (mk, mv) in metadata ?? new Dictionary<string, string> { ["format"] = "pt" })
                w.WriteString(mk, mv);
            w.WriteEndObject();
            long offset = 0;
            foreach (var (key, dtype, shape, tensor) in blobs)
            {
                long nbytes = tensor.numel() * DTypeSize(dtype);
                w.WriteStartObject(key);
                w.WriteString("dtype", dtype);
                w.WriteStartArray("shape");
                foreach (var d in shape) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(offset);
                w.WriteNumberValue(offset + nbytes);
                w.WriteEndArray();
                w.WriteEndObject();
                offset += nbytes;
            }
            w.WriteEndObject();
        }
        int pad = (int)((8 - json.Length % 8) % 8);
        for (int i = 0; i < pad; i++) json.WriteByte((byte)' ');

        AtomicFile.Write(path, fs =>
        {
            Span<byte> len = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)json.Length);
            fs.Write(len);
            json.Position = 0;
            json.CopyTo(fs);
            foreach (var b in blobs) fs.Write(ToBytes(b.dtype, b.tensor));
        });
    }

    static bool IsFloat(Tensor t) => t.dtype is ScalarType.Float32 or ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Float64;
    static bool IsInt(Tensor t) => t.dtype is ScalarType.Int64 or ScalarType.Int32 or ScalarType.Int16 or ScalarType.Int8 or ScalarType.Byte;

    static string DiskDType(string path, string key, Tensor t) =>
        IsFloat(t) ? "F32"
        : IsInt(t) ? "I64"
        : throw DistilException.Usage($"{path}: tensor '{key}' has dtype {t.dtype}, which this writer does not store (float and integer tensors only)");

    /// <summary>The tensor's bytes as written: contiguous, on the CPU, little-endian.</summary>
    static byte[] ToBytes(string dtype, Tensor t)
    {
        using var scope = torch.NewDisposeScope();
        if (dtype == "F32")
        {
            var c = t.detach().to(ScalarType.Float32).cpu().contiguous();
            return MemoryMarshal.AsBytes(c.data<float>().ToArray().AsSpan()).ToArray();
        }
        var l = t.detach().to(ScalarType.Int64).cpu().contiguous();
        return MemoryMarshal.AsBytes(l.data<long>().ToArray().AsSpan()).ToArray();
    }
}
