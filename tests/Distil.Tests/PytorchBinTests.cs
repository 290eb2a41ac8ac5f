using Distil.Checkpoints;
using Distil.Models;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Distil.Tests;

/// <summary>
/// pytorch_model.bin and sharded checkpoints, against fixtures written by real torch.save (data/pytorch-bin,
/// make_fixtures.py): every tensor equals what torch held (expected.safetensors, written by the same script), and
/// pickles that would run code are refused without running anything.
/// </summary>
public class PytorchBinTests
{
    static readonly string Fixtures = Path.Combine(AppContext.BaseDirectory, "data", "pytorch-bin");
    static readonly string TinyBertDir = Path.Combine(Fixtures, "tiny-bert");
    const string Marker = "distil-pickle-payload-ran"; // what the hostile payloads would create (make_fixtures.py)

    public PytorchBinTests() => torch.set_num_threads(1);

    static void AssertSameTensors(IReadOnlyDictionary<string, Tensor> expected, IReadOnlyDictionary<string, Tensor> actual)
    {
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), actual.Keys.Order(StringComparer.Ordinal));
        foreach (var (k, e) in expected)
        {
            var a = actual[k];
            Assert.True(e.dtype == a.dtype, $"{k}: dtype {a.dtype}, torch saved {e.dtype}");
            Assert.Equal(e.shape, a.shape);
            Assert.True(a.is_contiguous(), $"{k} is not contiguous");
            Assert.True(e.eq(a).all().ToBoolean(), $"{k}: values differ from what torch saved");
        }
    }

    static void DisposeAll(IReadOnlyDictionary<string, Tensor> ts) { foreach (var t in ts.Values) t.Dispose(); }

    [Fact]
    public void EveryTensorEqualsWhatTorchSaved()
    {
        var expected = SafeTensors.Read(Path.Combine(TinyBertDir, "expected.safetensors"));
        var (actual, source) = WeightFiles.Read(TinyBertDir);
        try
        {
            Assert.Equal(Path.Combine(TinyBertDir, "pytorch_model.bin"), source);
            AssertSameTensors(expected, actual);
            // The fixture really has what the reader must handle: F16/BF16 widened, a transposed view, a storage shared
            // at offsets H and 2H, an int64 buffer.
            Assert.Equal(ScalarType.Float32, actual["bert.embeddings.LayerNorm.weight"].dtype);
            Assert.Equal(ScalarType.Int64, actual["bert.embeddings.position_ids"].dtype);
            Assert.Equal(63L, actual["bert.embeddings.position_ids"][0, 63].ToInt64());
            var q = actual["bert.encoder.layer.0.attention.self.query.weight"];
            Assert.False(q.eq(q.t()).all().ToBoolean());
        }
        finally { DisposeAll(expected); DisposeAll(actual); }
    }

    [Theory]
    [InlineData("sharded-bin", WeightFiles.PytorchIndex)]
    [InlineData("sharded-safetensors", WeightFiles.SafeTensorsIndex)]
    public void ShardedCheckpointEqualsTheWholeOne(string folder, string index)
    {
        var expected = SafeTensors.Read(Path.Combine(TinyBertDir, "expected.safetensors"));
        var (actual, source) = WeightFiles.Read(Path.Combine(Fixtures, folder));
        try
        {
            Assert.Equal(Path.Combine(Fixtures, folder, index), source);
            AssertSameTensors(expected, actual);
        }
        finally { DisposeAll(expected); DisposeAll(actual); }
    }

    [Fact]
    public void ClassifierFromPytorchBinGivesTheLogitsOfTheSameWeightsInSafetensors()
    {
        using var tmp = new TempDir("bin-vs-st");
        foreach (var f in new[] { "config.json", "vocab.txt" }) File.Copy(Path.Combine(TinyBertDir, f), Path.Combine(tmp.Path, f));
        File.Copy(Path.Combine(TinyBertDir, "expected.safetensors"), Path.Combine(tmp.Path, ModelFolder.WeightsFile));

        var (fromBin, binReport) = ModelFolder.LoadForClassification(TinyBertDir);
        var (fromSt, _) = ModelFolder.LoadForClassification(tmp.Path);
        using (fromBin)
        using (fromSt)
        {
            Assert.Empty(binReport.NewlyInitialised); // the head and pooler came from the file, not fresh initialisation
            fromBin.eval(); fromSt.eval();
            using var scope = torch.NewDisposeScope();
            var ids = torch.tensor(new long[] { 2, 15, 16, 19, 7, 5, 3, 2, 15, 17, 20, 12, 3, 0 }, [2, 7]);
            var mask = torch.tensor(new long[] { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0 }, [2, 7]);
            using var _ = torch.no_grad();
            var a = fromBin.forward(new BertInputs(ids, mask)).Logits;
            var b = fromSt.forward(new BertInputs(ids, mask)).Logits;
            Assert.Equal(new long[] { 2, 2 }, a.shape);
            Assert.True((a - b).abs().max().ToSingle() <= 1e-6f, $"logits differ: {a.str()} vs {b.str()}");
            Assert.True(a.abs().max().ToSingle() > 1e-4f); // a real head, not zeros
        }
    }

    [Theory]
    [InlineData("malicious.bin", "posix.system")]
    [InlineData("malicious-eval.bin", "builtins.eval")]
    [InlineData("reduce-storage.bin", "torch.FloatStorage")]
    public void PickleThatWouldRunCodeIsRefusedAndNotRun(string file, string global)
    {
        using var tmp = new TempDir("evil");
        string bin = Path.Combine(tmp.Path, WeightFiles.PytorchFile);
        File.Copy(Path.Combine(Fixtures, "bad", file), bin);
        var e = Assert.Throws<DistilException>(() => WeightFiles.Read(tmp.Path));
        Assert.Equal(ExitCodes.InvalidInput, e.ExitCode);
        Assert.Contains(bin, e.Message);
        Assert.Contains(global, e.Message);
        Assert.Contains("not run", e.Message);
        Assert.False(File.Exists(Marker), "the payload's marker exists in the working folder");
        Assert.False(File.Exists(Path.Combine(tmp.Path, Marker)));
    }

    [Fact]
    public void TruncatedOrForeignFilesAreClearErrors()
    {
        using var tmp = new TempDir("trunc");
        string bin = Path.Combine(tmp.Path, WeightFiles.PytorchFile);
        File.Copy(Path.Combine(Fixtures, "bad", "truncated.bin"), bin);
        var e = Assert.Throws<DistilException>(() => WeightFiles.Read(tmp.Path));
        Assert.Equal(ExitCodes.InvalidInput, e.ExitCode);
        Assert.Contains(bin, e.Message);
        Assert.Contains("truncated", e.Message);

        File.WriteAllBytes(bin, [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8]); // torch < 1.6's magic number
        e = Assert.Throws<DistilException>(() => WeightFiles.Read(tmp.Path));
        Assert.Contains("legacy format", e.Message);

        File.WriteAllText(bin, "version https://git-lfs.github.com/spec/v1\n"); // a Git LFS pointer instead of the weights
        e = Assert.Throws<DistilException>(() => WeightFiles.Read(tmp.Path));
        Assert.Contains("not a PyTorch checkpoint", e.Message);
    }

    [Fact]
    public void IndexNamingAMissingShardNamesTheIndexAndTheShard()
    {
        string dir = Path.Combine(Fixtures, "bad", "missing-shard");
        var e = Assert.Throws<DistilException>(() => WeightFiles.Read(dir));
        Assert.Equal(ExitCodes.InputNotFound, e.ExitCode);
        Assert.Contains(Path.Combine(dir, WeightFiles.PytorchIndex), e.Message);
        Assert.Contains("pytorch_model-00002-of-00002.bin", e.Message);
    }

    static string ShardedFolder(TempDir tmp, Dictionary<string, string[]> shards, Dictionary<string, string> weightMap)
    {
        foreach (var (file, keys) in shards)
        {
            var ts = keys.ToDictionary(k => k, _ => torch.ones(2));
            SafeTensors.Write(Path.Combine(tmp.Path, file), ts);
            DisposeAll(ts);
        }
        File.WriteAllText(Path.Combine(tmp.Path, WeightFiles.SafeTensorsIndex),
            System.Text.Json.JsonSerializer.Serialize(new { metadata = new { total_size = 0 }, weight_map = weightMap }));
        return tmp.Path;
    }

    [Fact]
    public void InconsistentShardsAreErrorsNamingTheFiles()
    {
        using (var tmp = new TempDir("dup"))
        {
            ShardedFolder(tmp, new() { ["s1.safetensors"] = ["a", "b"], ["s2.safetensors"] = ["b", "c"] },
                new() { ["a"] = "s1.safetensors", ["b"] = "s1.safetensors", ["c"] = "s2.safetensors" });
            var e = Assert.Throws<DistilException>(() => WeightFiles.Read(tmp.Path));
            Assert.Contains("'b' is in two shards, s1.safetensors and s2.safetensors", e.Message);
        }
        using (var tmp = new TempDir("unlisted"))
        {
            ShardedFolder(tmp, new() { ["s1.safetensors"] = ["a"], ["s2.safetensors"] = ["c", "extra"] },
                new() { ["a"] = "s1.safetensors", ["c"] = "s2.safetensors" });
            var e = Assert.Throws<DistilException>(() => WeightFiles.Read(tmp.Path));
            Assert.Contains(Path.Combine(tmp.Path, "s2.safetensors"), e.Message);
            Assert.Contains("'extra', which " + Path.Combine(tmp.Path, WeightFiles.SafeTensorsIndex) + " does not list", e.Message);
        }
        using (var tmp = new TempDir("absent"))
        {
            ShardedFolder(tmp, new() { ["s1.safetensors"] = ["a"] }, new() { ["a"] = "s1.safetensors", ["z"] = "s1.safetensors" });
            var e = Assert.Throws<DistilException>(() => WeightFiles.Read(tmp.Path));
            Assert.Contains("lists tensor 'z' in s1.safetensors", e.Message);
        }
        using (var tmp = new TempDir("escape"))
        {
            ShardedFolder(tmp, new() { ["s1.safetensors"] = ["a"] }, new() { ["a"] = "../s1.safetensors" });
            var e = Assert.Throws<DistilException>(() => WeightFiles.Read(tmp.Path));
            Assert.Contains("not a file name in the folder", e.Message);
        }
    }

    [Fact]
    public void SafetensorsIsPreferredOverPytorchBinAsInTransformers()
    {
        using var tmp = new TempDir("prefer");
        File.Copy(Path.Combine(Fixtures, "bad", "malicious.bin"), Path.Combine(tmp.Path, WeightFiles.PytorchFile));
        var ts = new Dictionary<string, Tensor> { ["w"] = torch.full(3, 7f) };
        SafeTensors.Write(Path.Combine(tmp.Path, ModelFolder.WeightsFile), ts);
        DisposeAll(ts);
        var (read, source) = WeightFiles.Read(tmp.Path);
        Assert.Equal(Path.Combine(tmp.Path, ModelFolder.WeightsFile), source);
        Assert.Equal(7f, read["w"][2].ToSingle());
        DisposeAll(read);
    }
}
