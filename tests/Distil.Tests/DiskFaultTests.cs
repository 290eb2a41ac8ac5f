using System.Text.Json.Nodes;
using Distil.Checkpoints;
using Distil.Cli;
using Distil.Distillation;
using Distil.Models;
using Distil.Reports;
using Distil.Training;
using TorchSharp;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Distil.Tests;

/// <summary>
/// Outputs written to a disk that is full or read-only (a real tmpfs, see <see cref="Tmpfs"/>): every atomic writer
/// fails with its own exit code and a message naming the path and what to do, removes its temp file or folder, and
/// leaves the previous version readable. The checkpoint case, with resume, is in TrainerTests.
/// </summary>
public class DiskFaultTests
{
    readonly ITestOutputHelper output;
    public DiskFaultTests(ITestOutputHelper output) { this.output = output; torch.set_num_threads(1); }

    [Theory]
    [InlineData(28, ExitCodes.DiskFull)]            // ENOSPC
    [InlineData(122, ExitCodes.DiskFull)]           // EDQUOT
    [InlineData(30, ExitCodes.OutputNotWritable)]   // EROFS
    [InlineData(13, ExitCodes.OutputNotWritable)]   // EACCES
    [InlineData(unchecked((int)0x80070070), ExitCodes.DiskFull)] // Windows ERROR_DISK_FULL
    public void DiskErrorsBecomeTheirExitCode(int hresult, int code)
    {
        var e = WriteFault.Translate(new IOException("raw", hresult), "/runs/a/best");
        Assert.NotNull(e);
        Assert.Equal(code, e!.ExitCode);
        Assert.StartsWith("/runs/a/best: not written, ", e.Message);
        // Translated again by an outer writer, the message names the outer target.
        Assert.StartsWith("/runs/a: ", WriteFault.Translate(e, "/runs/a")!.Message);
    }

    [Fact]
    public void OtherFailuresAreNotDiskErrors()
    {
        Assert.Equal(ExitCodes.OutputNotWritable, WriteFault.Translate(new UnauthorizedAccessException("no"), "/x")!.ExitCode);
        Assert.Null(WriteFault.Translate(new IOException("EIO", 5), "/x"));
        Assert.Null(WriteFault.Translate(new InvalidOperationException("bug"), "/x"));
        Assert.Null(WriteFault.Translate(DistilException.BadInput("bad row"), "/x"));
    }

    /// <summary>CliApp's fallback for writes outside the atomic writers: only what is surely about an output.</summary>
    [Fact]
    public void TheLastLineOfDefenceTakesFullAndReadOnlyDisksButNotPermissionErrors()
    {
        Assert.Equal(ExitCodes.DiskFull, WriteFault.TranslateUnguarded(new IOException("No space left on device : '/r/metrics.jsonl'", 28))!.ExitCode);
        Assert.Equal(ExitCodes.OutputNotWritable, WriteFault.TranslateUnguarded(new IOException("Read-only file system : '/r/bench.json'", 30))!.ExitCode);
        Assert.Null(WriteFault.TranslateUnguarded(new IOException("Permission denied : '/data/train.tsv'", 13))); // may be an input
        Assert.Null(WriteFault.TranslateUnguarded(new UnauthorizedAccessException("denied")));
    }

    static Dictionary<string, Tensor> Weights(int n, float value) => new() { ["w"] = full(n, value) };

    [TmpfsFact]
    public void AnAtomicFileOnAFullDiskKeepsTheOldFileAndNoTemp()
    {
        using var disk = new Tmpfs(1 << 20);
        string path = Path.Combine(disk.Path, "w.safetensors");
        SafeTensors.Write(path, Weights(1000, 1f));
        disk.Fill(leave: 64 * 1024);
        var e = Assert.Throws<DistilException>(() => SafeTensors.Write(path, Weights(100_000, 2f))); // 400 KB
        output.WriteLine(e.Message);
        Assert.Equal(ExitCodes.DiskFull, e.ExitCode);
        Assert.StartsWith($"{path}: not written, the disk is full", e.Message);
        Assert.Contains($"free space on the disk that holds {disk.Path}", e.Message);
        Assert.Empty(disk.Leftovers());
        Assert.Equal(1f, SafeTensors.Read(path)["w"][999].item<float>());

        disk.Free();
        disk.ReadOnly();
        var ro = Assert.Throws<DistilException>(() => RunFolder.WriteAtomic(Path.Combine(disk.Path, "report.md"), "x"));
        Assert.Equal(ExitCodes.OutputNotWritable, ro.ExitCode);
        Assert.Contains("read-only file system", ro.Message);
    }

    [TmpfsFact]
    public void BestOnAFullDiskKeepsThePreviousBestLoadable()
    {
        using var tokenizer = new TempDir();
        File.WriteAllLines(Path.Combine(tokenizer.Path, "vocab.txt"), new[] { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]" }.Concat(TinyBert.Words));
        torch.manual_seed(1);
        using var small = new BertForSequenceClassification(TinyBert.Config(layers: 1, hidden: 16, heads: 2));
        using var big = new BertForSequenceClassification(TinyBert.Config(layers: 2, hidden: 64, heads: 2));
        using var disk = new Tmpfs(1 << 20);
        string best = Path.Combine(disk.Path, "run", "best");
        ModelFolder.Save(best, small, tokenizer.Path);
        disk.Fill(leave: 32 * 1024);
        var e = Assert.Throws<DistilException>(() => ModelFolder.Save(best, big, tokenizer.Path));
        output.WriteLine(e.Message);
        Assert.Equal(ExitCodes.DiskFull, e.ExitCode);
        Assert.StartsWith($"{best}: not written, the disk is full", e.Message); // the folder, not the file inside its temp copy
        Assert.Empty(disk.Leftovers());
        Assert.False(Directory.Exists(best + AtomicFolder.OldSuffix));
        var (loaded, _) = ModelFolder.LoadForClassification(best);
        using (loaded)
            foreach (var (k, v) in small.state_dict())
                Assert.True(v.allclose(loaded.state_dict()[k], rtol: 0, atol: 0), $"{k} of the previous best/ changed");
    }

    [TmpfsFact]
    public void ACacheThatDoesNotFitIsSkippedWithTheReason()
    {
        string teacherDir = TinyBert.TeacherFolder();
        var (teacher, _) = ModelFolder.LoadForClassification(teacherDir, new[] { "0", "1" });
        using var disk = new Tmpfs(1 << 20);
        string data = Path.Combine(disk.Path, "train.tsv");
        File.WriteAllText(data, "text\tlabel\n");
        Directory.CreateDirectory(Path.Combine(disk.Path, ".distil-cache"));
        disk.Fill(leave: 0);
        var log = new List<string>();
        var tokenizer = Distil.Text.TokenizerFolder.Load(teacherDir);
        var labels = Distil.Labels.TeacherLabels.Open(null, data, new Distil.Labels.TorchLabelTeacher(teacherDir, teacher, tokenizer, 16, CPU), 2, log.Add);
        var logits = labels.Logits(["good movie", "bad food", "the phone", "great"]);
        Assert.Equal(4, logits.Length);
        Assert.All(logits, l => Assert.Equal(2, l.Length));
        string line = log.First(l => l.StartsWith("teacher labels not stored", StringComparison.Ordinal));
        output.WriteLine(line);
        Assert.Contains("the disk is full", line);
        Assert.Contains("goes on with them in memory", line);
        Assert.Empty(disk.Leftovers());
        Assert.Empty(Directory.GetFiles(Path.Combine(disk.Path, ".distil-cache"), "*", SearchOption.AllDirectories));
    }

    [TmpfsFact]
    public void FinetuneOnAFullOrReadOnlyDiskExitsWithItsCodeAndLeavesNoTemp()
    {
        string teacher = TinyBert.TeacherFolder(), train = CliTests.Data("train.tsv", 48, 1), dev = CliTests.Data("dev.tsv", 24, 2);
        using var disk = new Tmpfs(2 << 20);
        string run = Path.Combine(disk.Path, "ft");
        string[] Args(params string[] more) => new[] { "finetune", "--model", teacher, "--train", train, "--dev", dev, "--out", run,
            "--epochs", "2", "--batch-size", "8", "--max-seq-len", "16", "--threads", "1" }.Concat(more).ToArray();

        disk.Fill(leave: 24 * 1024); // room for the config and some metrics, not for best/ or a checkpoint
        Assert.Equal(ExitCodes.DiskFull, CliApp.Run(Args()));
        Assert.Empty(disk.Leftovers());
        disk.Free();
        // Kept when something resumable was written before the disk filled up, removed otherwise: either way it runs now.
        Assert.Equal(ExitCodes.Ok, CliApp.Run(Directory.Exists(run) ? Args("--resume") : Args()));
        Assert.True(File.Exists(Path.Combine(run, "best", "model.safetensors")));

        disk.ReadOnly();
        string other = Path.Combine(disk.Path, "ft2");
        Assert.Equal(ExitCodes.OutputNotWritable, CliApp.Run(Args().Select(a => a == run ? other : a).ToArray()));
        Assert.False(Directory.Exists(other));
    }
}
