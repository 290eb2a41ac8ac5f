using Distil.Cli;
using Distil.Models;
using Distil.Training;
using Spectre.Console;
using TorchSharp;
using Xunit;

namespace Distil.Tests;

/// <summary>The up-front memory estimate (hand-computed for a tiny shape) and the refusal of runs that would not fit.</summary>
public class MemoryEstimateTests
{
    public MemoryEstimateTests() => torch.set_num_threads(1);

    /// <summary>V 10, H 4, 1 layer, 2 heads, FFN 8, 6 positions, 2 token types, 2 labels.</summary>
    static readonly BertConfig Tiny = new BertConfig
    {
        VocabSize = 10, HiddenSize = 4, NumHiddenLayers = 1, NumAttentionHeads = 2, IntermediateSize = 8, MaxPositionEmbeddings = 6, TypeVocabSize = 2,
    }.WithLabels(new[] { "neg", "pos" });

    [Fact]
    public void ParameterCountMatchesHandCountAndTheModel()
    {
        // embeddings (10 + 6 + 2) x 4 + LayerNorm 8 = 80; layer: Q, K, V, O 4 x (16 + 4) = 80, LN 8, FFN in 4x8 + 8 = 40,
        // FFN out 8x4 + 4 = 36, LN 8 -> 172; pooler 16 + 4 = 20; classifier 4x2 + 2 = 10. Total 282.
        Assert.Equal(282, MemoryEstimate.Parameters(Tiny));
        using var model = new BertForSequenceClassification(Tiny);
        Assert.Equal(model.parameters().Sum(p => p.numel()), MemoryEstimate.Parameters(Tiny));
        var bigger = TinyBert.Config(layers: 2, hidden: 32, heads: 4, vocab: 64, labels: 3);
        using var model2 = new BertForSequenceClassification(bigger);
        Assert.Equal(model2.parameters().Sum(p => p.numel()), MemoryEstimate.Parameters(bigger));
    }

    [Fact]
    public void TrainingEstimateEqualsTheHandComputedValue()
    {
        var e = MemoryEstimate.ForTraining(Tiny, batch: 2, seq: 3);
        Assert.Equal(282 * 4, e.WeightsBytes);
        Assert.Equal(282 * 4, e.GradientBytes);
        Assert.Equal(282 * 8, e.OptimizerBytes);
        // N = 2 x 3 = 6 tokens. Layer: 2 x 4 bytes x 6 x (11 x 4 + 2 x 8) = 2880, attention 9 bytes x 2 x 2 heads x 3 x 3 = 324
        // -> 3204. One layer + one layer of backward workspace + embeddings 4 floats x 6 x 4 x 4 bytes = 384: 6792.
        Assert.Equal(3204, MemoryEstimate.LayerActivationBytes(Tiny, 2, 3));
        Assert.Equal(6792, e.ActivationBytes);
        Assert.Equal(0, e.TeacherBytes);
        Assert.Equal(5 * 1128, e.IoBytes); // file read, checkpoint buffers, best/ written and read back
        Assert.Equal(1128 + 1128 + 2256 + 6792 + 5640 + MemoryEstimate.ProcessBytes, e.TotalBytes);
    }

    [Fact]
    public void TeacherInTheStepAddsWeightsStatesAndMaps()
    {
        var e = MemoryEstimate.ForTraining(Tiny, batch: 2, seq: 3, teacher: Tiny, teacherAttentions: true, cacheBytes: 1000);
        // 4 bytes x (2 x 282 weights and their file + 2 x 6 x 4 hidden states + 2 x 1 x 36 maps + 6 x (8 + 16) working set
        // + 36 one map) = 4 x 864.
        Assert.Equal(3456, e.TeacherBytes);
        Assert.Equal(1000, e.CacheBytes);
        var without = MemoryEstimate.ForTraining(Tiny, batch: 2, seq: 3, teacher: Tiny, teacherAttentions: false);
        Assert.Equal(3456 - 4 * 72, without.TeacherBytes);
        // The student's maps when a match reads attention: 14 maps x 1 layer x (batch 2 x 2 heads x 3 x 3) floats.
        Assert.Equal(4L * 14 * 1 * 36, e.ActivationBytes - without.ActivationBytes);
    }

    [Fact]
    public void BatchesAreNoLongerThanTheLongestRow()
    {
        var rows = new[] { 5, 9, 7 }.Select(n => new Data.EncodedExample(new long[n], new long[n], 0, 0)).ToArray();
        Assert.Equal(9, MemoryEstimate.LongestBatch(128, rows));
        Assert.Equal(8, MemoryEstimate.LongestBatch(8, rows));
        Assert.Equal(128, MemoryEstimate.LongestBatch(128, Array.Empty<Data.EncodedExample>()));
    }

    [Fact]
    public void ActivationsGrowLinearlyWithBatchAndQuadraticallyInAttentionWithLength()
    {
        var c = TinyBert.Config(layers: 2, hidden: 32, heads: 4);
        long a1 = MemoryEstimate.ForTraining(c, 1, 16).ActivationBytes, a4 = MemoryEstimate.ForTraining(c, 4, 16).ActivationBytes;
        Assert.Equal(4 * a1, a4);
        long attention16 = 9L * 4 * 16 * 16, attention32 = 9L * 4 * 32 * 32;
        Assert.Equal(4 * attention16, attention32);
        Assert.Equal(2 * (MemoryEstimate.LayerActivationBytes(c, 1, 16) - attention16) + attention32, MemoryEstimate.LayerActivationBytes(c, 1, 32));
    }

    static MemoryEstimate Synthetic(int batch) => new(0, 0, 0, batch * (100L << 20), 0, 0, 0, 0, $"batch {batch}");

    [Fact]
    public void ARunOverTheLimitIsRefusedWithTheEstimateAndTheLargestBatchThatFits()
    {
        var e = Assert.Throws<DistilException>(() => MemoryLimit.Check("distil finetune", 8, Synthetic, configuredMb: 450));
        Assert.Equal(ExitCodes.InvalidUsage, e.ExitCode);
        Assert.Contains("distil finetune would not fit in memory", e.Message);
        Assert.Contains("about 800 MB", e.Message);
        Assert.Contains("only 450 MB is available (training.memory_limit_mb 450)", e.Message);
        Assert.Contains("--batch-size 4 or smaller", e.Message);

        var none = Assert.Throws<DistilException>(() => MemoryLimit.Check("x", 8, b => Synthetic(b + 10), configuredMb: 450));
        Assert.Contains("even batch size 1 does not fit", none.Message);

        var (ok, summary) = MemoryLimit.Check("x", 4, Synthetic, configuredMb: 450);
        Assert.Equal(400L << 20, ok.TotalBytes);
        Assert.Contains("memory estimate about 400 MB", summary);
        Assert.Contains("limit 450 MB (training.memory_limit_mb 450)", summary);
        Assert.Contains("no limit checked", MemoryLimit.Check("x", 8, Synthetic, configuredMb: 0).Summary);
    }

    [Fact]
    public void TheLimitComesFromConfigThenEnvironmentThenTheMachine()
    {
        string? saved = Environment.GetEnvironmentVariable(MemoryLimit.EnvironmentVariable);
        try
        {
            Environment.SetEnvironmentVariable(MemoryLimit.EnvironmentVariable, "123");
            Assert.Equal(123L << 20, MemoryLimit.Resolve(null)!.Value.Bytes);
            Assert.Equal(7L << 20, MemoryLimit.Resolve(7)!.Value.Bytes);   // the config wins
            Environment.SetEnvironmentVariable(MemoryLimit.EnvironmentVariable, "0");
            Assert.Null(MemoryLimit.Resolve(null));
            Environment.SetEnvironmentVariable(MemoryLimit.EnvironmentVariable, "lots");
            Assert.Equal(ExitCodes.InvalidUsage, Assert.Throws<DistilException>(() => MemoryLimit.Resolve(null)).ExitCode);
            Environment.SetEnvironmentVariable(MemoryLimit.EnvironmentVariable, null);
            var (bytes, source) = MemoryLimit.Resolve(null)!.Value;
            Assert.True(bytes > 0, source);
            if (OperatingSystem.IsLinux()) Assert.True(source.Contains("MemAvailable") || source.Contains("cgroup"), source);
        }
        finally { Environment.SetEnvironmentVariable(MemoryLimit.EnvironmentVariable, saved); }
    }

    [Fact]
    public void FinetuneAndDistillWithTooLittleMemoryAreRefusedBeforeTraining()
    {
        using var tmp = new TempDir();
        string teacher = TinyBert.TeacherFolder();
        string train = tmp.File("train.tsv", "text\tlabel\n" + string.Concat(Enumerable.Range(0, 16).Select(i => $"the movie was {(i % 2 == 1 ? "good" : "bad")} .\t{i % 2}\n")));
        string ft = Path.Combine(tmp.Path, "ft");
        var (code, text) = CliCapture.Run("finetune", "--model", teacher, "--train", train, "--out", ft, "--max-steps", "2", "--threads", "1",
            "--batch-size", "8", "--max-seq-len", "16", "--memory-limit-mb", "1");
        Assert.True(code == ExitCodes.InvalidUsage, $"exit {code}; output:\n{text}");
        Assert.Contains("distil finetune would not fit in memory: it needs about", text);
        Assert.Matches(@"batch 8 x \d+ tokens x 1 layers", text); // the longest row, at most --max-seq-len 16
        Assert.Contains("only 1.0 MB is available (training.memory_limit_mb 1)", text);
        Assert.False(Directory.Exists(Path.Combine(ft, "checkpoints")), "a refused run must not have trained");

        // The same run fits with the check off, and its report names the estimate.
        (code, text) = CliCapture.Run("finetune", "--model", teacher, "--train", train, "--out", ft + "2", "--max-steps", "2", "--threads", "1",
            "--batch-size", "8", "--max-seq-len", "16", "--memory-limit-mb", "0", "--pooling", "mean");
        Assert.True(code == ExitCodes.Ok, $"exit {code}; output:\n{text}");
        Assert.Contains("memory estimate about", File.ReadAllText(Path.Combine(ft + "2", "report.md")));

        string saved = Environment.GetEnvironmentVariable(MemoryLimit.EnvironmentVariable) ?? "";
        try
        {
            Environment.SetEnvironmentVariable(MemoryLimit.EnvironmentVariable, "2");
            (code, text) = CliCapture.Run("distill", "--teacher", Path.Combine(ft + "2", "best"), "--train", train, "--out", Path.Combine(tmp.Path, "kd"),
                "--student", "L1-H16-A2-I32", "--max-steps", "2", "--threads", "1", "--batch-size", "8", "--max-seq-len", "16");
            Assert.True(code == ExitCodes.InvalidUsage, $"exit {code}; output:\n{text}");
            Assert.Contains("distil distill would not fit in memory", text);
            Assert.Contains(", teacher ", text);
            Assert.Contains($"({MemoryLimit.EnvironmentVariable} 2)", text);
        }
        finally { Environment.SetEnvironmentVariable(MemoryLimit.EnvironmentVariable, saved == "" ? null : saved); }
    }
}
