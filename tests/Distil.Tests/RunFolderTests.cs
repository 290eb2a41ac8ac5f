using System.Text.Json.Nodes;
using Distil.Reports;
using Xunit;

namespace Distil.Tests;

/// <summary>What a failed run leaves behind: nothing when it saved nothing resumable, everything once it did.</summary>
public class RunFolderTests
{
    static string NewPath() => Path.Combine(TempDir.Scratch("runfolder"), "run");

    [Fact]
    public void ARunThatFailsBeforeSavingAnythingRemovesItsNewFolder()
    {
        string dir = NewPath();
        var run = RunFolder.Create(dir, "finetune", new JsonObject(), resume: false);
        Assert.Throws<DistilException>(() => run.Run<int>(() =>
        {
            File.WriteAllText(run.MetricsPath, "{}\n");
            throw DistilException.BadInput("bad row");
        }));
        Assert.False(Directory.Exists(dir));
    }

    [Fact]
    public void ARunThatSavedAStageOrCheckpointKeepsItsFolderForResume()
    {
        string dir = NewPath();
        var run = RunFolder.Create(dir, "metakd", new JsonObject(), resume: false);
        Assert.Throws<DistilException>(() => run.Run<int>(() =>
        {
            Directory.CreateDirectory(Path.Combine(run.Dir, "arms", "none", "best"));
            throw DistilException.BadInput("failed in a later stage");
        }));
        Assert.True(File.Exists(run.ConfigPath));
        Assert.True(Directory.Exists(Path.Combine(dir, "arms", "none", "best")));
    }

    [Fact]
    public void AFolderOfAnEarlierRunIsNeverRemoved()
    {
        string dir = NewPath();
        RunFolder.Create(dir, "finetune", new JsonObject(), resume: false);
        var resumed = RunFolder.Create(dir, "finetune", new JsonObject(), resume: true);
        Assert.False(resumed.IsNew);
        Assert.Throws<DistilException>(() => resumed.Run<int>(() => throw DistilException.BadInput("x")));
        Assert.True(File.Exists(resumed.ConfigPath));
    }

    [Fact]
    public void ResumingARunOfAnotherVersionOrADamagedOneIsRefused()
    {
        string dir = NewPath();
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "config.resolved.json"), """{"command": "finetune", "distil_version": "0.0.1", "config": {}}""");
        var e = Assert.Throws<DistilException>(() => RunFolder.Create(dir, "finetune", new JsonObject(), resume: true));
        Assert.Equal(ExitCodes.InvalidUsage, e.ExitCode);
        Assert.Contains("written by distil 0.0.1", e.Message);
        File.WriteAllText(Path.Combine(dir, "config.resolved.json"), """{"command": "fine""");
        e = Assert.Throws<DistilException>(() => RunFolder.Create(dir, "finetune", new JsonObject(), resume: true));
        Assert.Equal(ExitCodes.InvalidInput, e.ExitCode);
        Assert.Contains("config.resolved.json", e.Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void AFolderOfTheUsersOwnFilesIsRefusedAndLeftUntouched(bool resume)
    {
        using var t = new TempDir();
        string mine = t.File("thesis.tex", "my own work");
        var e = Assert.Throws<DistilException>(() => RunFolder.Create(t.Path, "finetune", new JsonObject(), resume));
        Assert.Equal(ExitCodes.InvalidUsage, e.ExitCode);
        Assert.Contains($"{t.Path} is not empty and is not a run folder", e.Message);
        Assert.Equal(new[] { mine }, Directory.GetFileSystemEntries(t.Path));
        Assert.Equal("my own work", File.ReadAllText(mine));
        // The same through the command line, before anything is read or written.
        Assert.Equal(ExitCodes.InvalidUsage, Distil.Cli.CliApp.Run(resume
            ? new[] { "finetune", "--model", "m", "--train", "t.tsv", "--out", t.Path, "--resume" }
            : new[] { "finetune", "--model", "m", "--train", "t.tsv", "--out", t.Path }));
        Assert.Equal(new[] { mine }, Directory.GetFileSystemEntries(t.Path));
    }

    [Fact]
    public void AnEmptyExistingFolderBecomesANewRunFolder()
    {
        using var t = new TempDir();
        var run = RunFolder.Create(t.Path, "finetune", new JsonObject(), resume: false);
        Assert.True(run.IsNew);
        Assert.True(File.Exists(run.ConfigPath));
    }
}
