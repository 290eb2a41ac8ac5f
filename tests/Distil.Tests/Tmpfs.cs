using System.Diagnostics;
using Xunit;

namespace Distil.Tests;

/// <summary>
/// A small tmpfs mounted on a <see cref="TempDir"/> for one test: a real file system that fills up (ENOSPC) or goes
/// read-only (EROFS) when the test says so. Needs root and permission to mount; <see cref="TmpfsFactAttribute"/>
/// skips the test, with the reason, where that is missing.
/// </summary>
public sealed class Tmpfs : IDisposable
{
    readonly TempDir dir = new();
    bool mounted;
    public string Path => dir.Path;
    string Filler => System.IO.Path.Combine(Path, ".filler");

    public Tmpfs(long bytes)
    {
        Run("mount", "-t", "tmpfs", "-o", $"size={bytes}", "tmpfs", Path);
        mounted = true;
    }

    /// <summary>Fills the file system up to <paramref name="leave"/> free bytes with one file (<see cref="Free"/> removes it).</summary>
    public void Fill(long leave)
    {
        var chunk = new byte[64 * 1024];
        using var f = new FileStream(Filler, FileMode.Create, FileAccess.Write);
        try { while (true) { f.Write(chunk); f.Flush(); } }
        catch (IOException e) when (e.HResult == 28) { } // ENOSPC: the disk is full now
        f.SetLength(Math.Max(0, f.Length - leave)); // tmpfs frees the truncated pages at once
    }

    public void Free() => File.Delete(Filler);

    public void ReadOnly() => Run("mount", "-o", "remount,ro", Path);
    public void Writable() => Run("mount", "-o", "remount,rw", Path);

    /// <summary>Entries whose name marks the temp file or folder of a write (".tmp-"), anywhere on the file system.</summary>
    public string[] Leftovers() => Directory.EnumerateFileSystemEntries(Path, "*", SearchOption.AllDirectories)
        .Where(p => System.IO.Path.GetFileName(p).Contains(".tmp-", StringComparison.Ordinal)).ToArray();

    public void Dispose()
    {
        if (mounted) { try { Run("umount", Path); } catch (InvalidOperationException) { Run("umount", "-l", Path); } }
        dir.Dispose();
    }

    static void Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        string err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"{file} {string.Join(' ', args)}: exit {p.ExitCode}: {err.Trim()}");
    }

    /// <summary>Why tmpfs tests cannot run here, or null when a mount works (tried once per test run).</summary>
    public static string? Unavailable => unavailable.Value;

    static readonly Lazy<string?> unavailable = new(() =>
    {
        if (!OperatingSystem.IsLinux()) return "needs Linux (tmpfs)";
        if (!Environment.IsPrivilegedProcess) return "needs root to mount a tmpfs (run the tests as root to check full and read-only disks)";
        try { using var t = new Tmpfs(64 * 1024); return null; }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception) { return $"mounting a tmpfs is not permitted here ({e.Message})"; }
    });
}

/// <summary>A fact that needs <see cref="Tmpfs"/>: skipped, with the reason, where mounting one is not possible.</summary>
public sealed class TmpfsFactAttribute : FactAttribute
{
    public TmpfsFactAttribute() { if (Tmpfs.Unavailable is string why) Skip = why; }
}
