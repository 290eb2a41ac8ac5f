using System.Buffers.Binary;
using System.Text;
using Distil.Checkpoints;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Distil.Tests;

public sealed class SafeTensorsTests : IDisposable
{
    readonly string dir = TempDir.Scratch("st");
    public void Dispose() => Directory.Delete(dir, recursive: true);

    /// <summary>A safetensors file from a header string and data bytes, built by hand.</summary>
    string HandFile(string header, byte[] data, ulong? headerLength = null)
    {
        var path = Path.Combine(dir, Guid.NewGuid().ToString("N") + ".safetensors");
        var h = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + h.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, headerLength ?? (ulong)h.Length);
        h.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + h.Length);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [Fact]
    public void RoundTripIsBitExactAndKeepsMetadata()
    {
        var path = Path.Combine(dir, "rt.safetensors");
        var f = new float[] { 1.5f, -0.0f, float.Epsilon, float.MaxValue, 3.14159265f, -7e-30f };
        var l = new long[] { long.MinValue, -1, 0, 512 };
        using var a = torch.tensor(f, new long[] { 2, 3 });
        using var b = torch.tensor(l, new long[] { 1, 4 });
        SafeTensors.Write(path, new Dictionary<string, Tensor> { ["z.weight"] = a, ["a.ids"] = b },
            new Dictionary<string, string> { ["format"] = "pt", ["note"] = "hi" });

        var read = SafeTensors.Read(path, out var meta);
        Assert.Equal(new[] { "a.ids", "z.weight" }, read.Keys.OrderBy(k => k, StringComparer.Ordinal));
        Assert.Equal(ScalarType.Float32, read["z.weight"].dtype);
        Assert.Equal(new long[] { 2, 3 }, read["z.weight"].shape);
        Assert.Equal(f.Select(BitConverter.SingleToInt32Bits), read["z.weight"].data<float>().ToArray().Select(BitConverter.SingleToInt32Bits));
        Assert.Equal(ScalarType.Int64, read["a.ids"].dtype);
        Assert.Equal(l, read["a.ids"].data<long>().ToArray());
        Assert.Equal("hi", meta["note"]);
        Assert.Equal("pt", meta["format"]);

        // Header: 8-byte aligned data start, keys sorted in the JSON, sizes add up to the file.
        var bytes = File.ReadAllBytes(path);
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.Equal(0UL, n % 8);
        Assert.Equal(8 + (long)n + 6 * 4 + 4 * 8, bytes.Length);
        var json = Encoding.UTF8.GetString(bytes, 8, (int)n);
        Assert.True(json.IndexOf("\"a.ids\"", StringComparison.Ordinal) < json.IndexOf("\"z.weight\"", StringComparison.Ordinal));
        // Keys sorted → a.ids data first: its first 8 bytes are long.MinValue.
        Assert.Equal(long.MinValue, BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(8 + (int)n)));
        Assert.Empty(Directory.GetFiles(dir, "*.tmp-*"));
        foreach (var t in read.Values) t.Dispose();
    }

    [Fact]
    public void ReadsHandWrittenF16Bf16F32I32()
    {
        // F16 1.5 = 0x3E00, -2.0 = 0xC000; BF16 1.5 = 0x3FC0, -2.0 = 0xC000; F32 0.25 = 0x3E800000; I32 -3.
        byte[] data =
        {
            0x00, 0x3E, 0x00, 0xC0,             // f16 [2]   bytes 0..4
            0xC0, 0x3F, 0x00, 0xC0,             // bf16 [2]  bytes 4..8
            0x00, 0x00, 0x80, 0x3E,             // f32 [1,1] bytes 8..12
            0xFD, 0xFF, 0xFF, 0xFF,             // i32 [1]   bytes 12..16
        };
        string header = """{"__metadata__":{"format":"pt"},"h":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},"b":{"dtype":"BF16","shape":[2],"data_offsets":[4,8]},"f":{"dtype":"F32","shape":[1,1],"data_offsets":[8,12]},"i":{"dtype":"I32","shape":[1],"data_offsets":[12,16]}}""";
        var read = SafeTensors.Read(HandFile(header, data), out var meta);
        Assert.Equal(new[] { 1.5f, -2.0f }, read["h"].data<float>().ToArray());
        Assert.Equal(new[] { 1.5f, -2.0f }, read["b"].data<float>().ToArray());
        Assert.Equal(new[] { 0.25f }, read["f"].data<float>().ToArray());
        Assert.Equal(new long[] { 1, 1 }, read["f"].shape);
        Assert.Equal(ScalarType.Int64, read["i"].dtype);
        Assert.Equal(new long[] { -3 }, read["i"].data<long>().ToArray());
        Assert.Equal("pt", meta["format"]);
        foreach (var t in read.Values) t.Dispose();
    }

    static readonly byte[] EightBytes = new byte[8];

    string Rejected(string path) => Assert.Throws<DistilException>(() => SafeTensors.Read(path)).Message;

    [Fact]
    public void RejectsTruncatedFile()
    {
        var path = Path.Combine(dir, "t.safetensors");
        File.WriteAllBytes(path, new byte[] { 1, 2, 3 });
        var e = Assert.Throws<DistilException>(() => SafeTensors.Read(path));
        Assert.Equal(ExitCodes.InvalidInput, e.ExitCode);
        Assert.Contains(path, e.Message);
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void RejectsHeaderLongerThanFile() =>
        Assert.Contains("larger than the file", Rejected(HandFile("{}", Array.Empty<byte>(), headerLength: 1000)));

    [Fact]
    public void RejectsHugeHeaderLength() =>
        Assert.Contains("limit", Rejected(HandFile("{}", Array.Empty<byte>(), headerLength: 1UL << 40)));

    [Fact]
    public void RejectsOffsetsPastEnd()
    {
        var m = Rejected(HandFile("""{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}""", EightBytes));
        Assert.Contains("'w'", m);
        Assert.Contains("past the end", m);
    }

    [Fact]
    public void RejectsOverlappingRanges()
    {
        var m = Rejected(HandFile("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", EightBytes));
        Assert.Contains("overlaps", m);
        Assert.Contains("'a'", m);
        Assert.Contains("'b'", m);
    }

    [Fact]
    public void RejectsShapeTimesDtypeNotMatchingBytes()
    {
        var m = Rejected(HandFile("""{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}""", EightBytes));
        Assert.Contains("'w'", m);
        Assert.Contains("needs 12 bytes", m);
    }

    [Fact]
    public void RejectsUnknownDtype()
    {
        var m = Rejected(HandFile("""{"w":{"dtype":"Q7","shape":[1],"data_offsets":[0,8]}}""", EightBytes));
        Assert.Contains("dtype 'Q7'", m);
    }

    [Fact]
    public void RejectsInvalidJson() =>
        Assert.Contains("not valid JSON", Rejected(HandFile("""{"w":{"dtype":"F32",""", EightBytes)));

    [Fact]
    public void RejectsNegativeShapeAndEmptyKey()
    {
        Assert.Contains("non-negative", Rejected(HandFile("""{"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}""", EightBytes)));
        Assert.Contains("empty name", Rejected(HandFile("""{"":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""", EightBytes)));
    }
}
