using Distil.Checkpoints;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Distil.Tests;

/// <summary>A stand-in for an HF model with a base model under "bert" and a head, so the loader is tested without BERT.</summary>
sealed class TinyEncoder : nn.Module
{
    public readonly TorchSharp.Modules.LayerNorm LayerNorm;
    public readonly TorchSharp.Modules.Linear dense;
    public TinyEncoder() : base("TinyEncoder")
    {
        LayerNorm = nn.LayerNorm(3);
        dense = nn.Linear(3, 2);
        RegisterComponents();
    }
}

sealed class TinyClassifier : nn.Module
{
    public readonly TinyEncoder bert;
    public readonly TorchSharp.Modules.Linear classifier;
    public TinyClassifier() : base("TinyClassifier")
    {
        bert = new TinyEncoder();
        classifier = nn.Linear(2, 2);
        RegisterComponents();
    }
}

public sealed class StateDictLoaderTests : IDisposable
{
    readonly string dir = TempDir.Scratch("sd");
    public void Dispose() => Directory.Delete(dir, recursive: true);

    static Tensor T(long[] shape, float start) => torch.arange(start, start + shape.Aggregate(1L, (a, b) => a * b), 1f).reshape(shape);

    [Fact]
    public void BareCheckpointLoadsIntoPrefixedModelWithLegacyNames()
    {
        using var m = new TinyClassifier();
        var file = new Dictionary<string, Tensor>
        {
            ["LayerNorm.gamma"] = T(new long[] { 3 }, 10),
            ["LayerNorm.beta"] = T(new long[] { 3 }, 20),
            ["dense.weight"] = T(new long[] { 2, 3 }, 30),
            ["dense.bias"] = T(new long[] { 2 }, 40),
            ["embeddings.position_ids"] = torch.arange(4L).unsqueeze(0),
            ["pooler.dense.weight"] = T(new long[] { 2, 2 }, 0),
        };
        var r = StateDictLoader.Load(m, file, "ckpt.safetensors");
        Assert.Equal(new[] { "classifier.bias", "classifier.weight" }, r.Missing.OrderBy(k => k, StringComparer.Ordinal));
        Assert.Equal(new[] { "pooler.dense.weight" }, r.Unexpected);
        Assert.Equal(new float[] { 10, 11, 12 }, m.bert.LayerNorm.weight!.data<float>().ToArray());
        Assert.Equal(new float[] { 20, 21, 22 }, m.bert.LayerNorm.bias!.data<float>().ToArray());
        Assert.Equal(new float[] { 30, 31, 32, 33, 34, 35 }, m.bert.dense.weight.data<float>().ToArray());
        Assert.Equal(new float[] { 40, 41 }, m.bert.dense.bias!.data<float>().ToArray());
    }

    [Fact]
    public void PrefixedCheckpointLoadsIntoBareModelAndHeadIsUnexpected()
    {
        using var src = new TinyClassifier();
        var path = Path.Combine(dir, "cls.safetensors");
        StateDictLoader.SaveStateDict(src, path);
        Assert.Equal(new[] { "bert.LayerNorm.bias", "bert.LayerNorm.weight", "bert.dense.bias", "bert.dense.weight", "classifier.bias", "classifier.weight" },
            SafeTensors.ReadEntries(path, out _).Select(e => e.Key));

        using var bare = new TinyEncoder();
        var r = StateDictLoader.LoadFile(bare, path, strict: true);
        Assert.Empty(r.Missing);
        Assert.Equal(new[] { "classifier.bias", "classifier.weight" }, r.Unexpected);
        Assert.Equal(src.bert.dense.weight.data<float>().ToArray(), bare.dense.weight.data<float>().ToArray());
        Assert.Equal(src.bert.LayerNorm.bias!.data<float>().ToArray(), bare.LayerNorm.bias!.data<float>().ToArray());

        // And the full round trip into the same architecture is exact.
        using var again = new TinyClassifier();
        var r2 = StateDictLoader.LoadFile(again, path, strict: true);
        Assert.Empty(r2.Missing);
        Assert.Empty(r2.Unexpected);
        Assert.Equal(src.classifier.weight.data<float>().ToArray(), again.classifier.weight.data<float>().ToArray());
    }

    [Fact]
    public void ShapeMismatchNamesKeyAndBothShapesAndChangesNothing()
    {
        using var m = new TinyClassifier();
        var before = m.classifier.weight.data<float>().ToArray();
        var file = new Dictionary<string, Tensor> { ["classifier.bias"] = torch.ones(2), ["bert.dense.weight"] = torch.zeros(4, 3) };
        var e = Assert.Throws<DistilException>(() => StateDictLoader.Load(m, file, "ckpt.safetensors"));
        Assert.Equal(ExitCodes.InvalidInput, e.ExitCode);
        Assert.Contains("ckpt.safetensors: tensor 'bert.dense.weight' has shape [4, 3] but the model expects [2, 3]", e.Message);
        Assert.NotEqual(new float[] { 1, 1 }, m.classifier.bias!.data<float>().ToArray());
        Assert.Equal(before, m.classifier.weight.data<float>().ToArray());
    }

    [Fact]
    public void StrictListsMissingKeys()
    {
        using var m = new TinyClassifier();
        var file = new Dictionary<string, Tensor> { ["classifier.bias"] = torch.ones(2) };
        var e = Assert.Throws<DistilException>(() => StateDictLoader.Load(m, file, "x.safetensors", strict: true));
        Assert.Contains("5 model tensors are missing", e.Message);
        Assert.Contains("bert.dense.weight", e.Message);
        Assert.Contains("classifier.weight", e.Message);
    }
}
