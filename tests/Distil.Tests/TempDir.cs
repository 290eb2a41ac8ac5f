namespace Distil.Tests;

/// <summary>
/// A fresh temporary folder for one test, deleted afterwards. The one way tests make temporary files (a test checks
/// that no other source file asks for the temp path): every folder lives under one root per test process, which
/// <see cref="CleanupTestFramework"/> removes when the last test has run, so folders handed out by helpers
/// (<see cref="Scratch"/>) and any a failing test did not dispose are gone after the suite too.
/// </summary>
public sealed class TempDir : IDisposable
{
    /// <summary>The folder of this test process: distil-test-PID-XXXXXXXX in the system temp folder.</summary>
    public static string Root => root.Value;

    static readonly Lazy<string> root = new(() =>
    {
        string r = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"distil-test-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..8]}");
        Directory.CreateDirectory(r);
        return r;
    });

    public string Path { get; }

    public TempDir(string prefix = "t")
    {
        Path = System.IO.Path.Combine(Root, $"{prefix}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Path);
    }

    /// <summary>A new folder that lives until the end of the run: for helpers whose callers keep the path
    /// (a teacher folder, a data file) and for fields of test classes.</summary>
    public static string Scratch(string prefix) => new TempDir(prefix).Path;

    /// <summary>Copies every file under <paramref name="from"/> into <paramref name="to"/> (created; files overwritten).</summary>
    public static void CopyTree(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (string f in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            string dest = System.IO.Path.Combine(to, System.IO.Path.GetRelativePath(from, f));
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(dest)!);
            System.IO.File.Copy(f, dest, overwrite: true);
        }
    }

    public string File(string name, string content)
    {
        var p = System.IO.Path.Combine(Path, name);
        System.IO.File.WriteAllText(p, content);
        return p;
    }
    public string File(string name, byte[] content)
    {
        var p = System.IO.Path.Combine(Path, name);
        System.IO.File.WriteAllBytes(p, content);
        return p;
    }
    public void Dispose() => Delete(Path);

    /// <summary>Removes the root and everything under it (at the end of the run).</summary>
    public static void DeleteRoot() { if (root.IsValueCreated) Delete(root.Value); }

    static void Delete(string dir)
    {
        try { Directory.Delete(dir, true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
