using Xunit;

namespace Distil.Tests;

/// <summary>
/// Tests leave nothing in the temp folder: <see cref="TempDir"/> is the only way they make temporary files, and it
/// puts everything under one root per test process that CleanupTestFramework removes after the last test.
/// </summary>
public class TempFolderTests
{
    /// <summary>tests/Distil.Tests in the source tree: the folder of Distil.Tests.csproj above the test binary.</summary>
    static string SourceDir()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d != null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "Distil.Tests.csproj"))) return d.FullName;
        throw new InvalidOperationException($"no Distil.Tests.csproj above {AppContext.BaseDirectory}: run the tests from the source tree");
    }

    [Fact]
    public void NoTestAsksForTheTempFolderExceptThroughTempDir()
    {
        // Spelled in two parts so that this file does not match itself.
        string[] calls = { "GetTemp" + "Path", "GetTemp" + "FileName", "CreateTemp" + "Subdirectory", "Path.GetRandom" + "FileName" };
        string dir = SourceDir();
        string sep = Path.DirectorySeparatorChar.ToString();
        var files = Directory.EnumerateFiles(dir, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{sep}bin{sep}") && !f.Contains($"{sep}obj{sep}") && Path.GetFileName(f) != "TempDir.cs").ToArray();
        Assert.True(files.Length > 20, $"only {files.Length} test sources found under {dir}");
        var offenders = files.SelectMany(f => File.ReadLines(f).Select((line, i) => (File: Path.GetFileName(f), Line: i + 1, Text: line)))
            .Where(x => calls.Any(c => x.Text.Contains(c, StringComparison.Ordinal)))
            .Select(x => $"{x.File}:{x.Line}: {x.Text.Trim()}").ToArray();
        Assert.True(offenders.Length == 0, "make temporary folders with TempDir (disposed) or TempDir.Scratch (removed after the run):\n" + string.Join("\n", offenders));
    }

    [Fact]
    public void TempDirsLiveUnderTheRunRootAndAreDeletedOnDispose()
    {
        string path;
        using (var t = new TempDir())
        {
            path = t.Path;
            t.File("a.txt", "x");
            Directory.CreateDirectory(Path.Combine(t.Path, "sub"));
            Assert.StartsWith(TempDir.Root + Path.DirectorySeparatorChar, path);
        }
        Assert.False(Directory.Exists(path));
        Assert.StartsWith(TempDir.Root + Path.DirectorySeparatorChar, TempDir.Scratch("scratch"));
        Assert.StartsWith($"distil-test-{Environment.ProcessId}-", Path.GetFileName(TempDir.Root));
        Assert.True(CleanupTestFramework.Active, "the tests do not run through CleanupTestFramework: TempDir.Root would stay after the run");
    }
}
