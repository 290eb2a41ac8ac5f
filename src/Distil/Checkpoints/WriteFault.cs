namespace Distil.Checkpoints;

/// <summary>
/// The one place that turns a write that failed because of the disk (full, read-only, not permitted) into a
/// <see cref="DistilException"/> the user can act on, and removes what the failed write left behind. Every atomic
/// writer (AtomicFile, AtomicFolder, CheckpointStore, RunFolder) goes through it, so a full disk reads the same
/// whether it hit a checkpoint, best/, a report or a cache.
/// </summary>
public static class WriteFault
{
    // errno values as .NET reports them in IOException.HResult on Linux and macOS.
    const int EPERM = 1, EACCES = 13, ENOSPC = 28, EROFS = 30, EDQUOT_LINUX = 122, EDQUOT_MAC = 69;
    // Win32 codes inside an HRESULT (0x8007xxxx) for the same conditions.
    const int ERROR_HANDLE_DISK_FULL = 39, ERROR_DISK_FULL = 112, ERROR_WRITE_PROTECT = 19, ERROR_ACCESS_DENIED = 5;

    /// <summary>
    /// Runs <paramref name="write"/>, which writes <paramref name="target"/> (through <paramref name="temp"/>, a file or
    /// folder, when given). On any failure the temp path is removed; a disk failure is rethrown as a DistilException
    /// naming <paramref name="target"/>, anything else as it was.
    /// </summary>
    public static void Guard(string target, string? temp, Action write, string? kept = null)
    {
        try { write(); }
        catch (Exception e)
        {
            if (temp != null) Remove(temp);
            if (Translate(e, target, kept) is DistilException d) throw d;
            throw;
        }
    }

    /// <summary>
    /// The DistilException for <paramref name="e"/> when it is a disk failure (ENOSPC/EDQUOT: <see cref="ExitCodes.DiskFull"/>;
    /// EROFS/EACCES/EPERM or UnauthorizedAccessException: <see cref="ExitCodes.OutputNotWritable"/>), naming
    /// <paramref name="target"/>; null for any other failure. One already translated by an inner writer (a file inside
    /// a folder being replaced) is translated again, so that the message names the outermost thing being written.
    /// </summary>
    /// <param name="kept">What is left on disk, e.g. the previous checkpoint; by default: nothing half-written, the old content unchanged.</param>
    /// <param name="remedy">The way out besides freeing space; outputs of a run go elsewhere with --out.</param>
    public static DistilException? Translate(Exception e, string target, string? kept = null, string remedy = "or choose another --out")
    {
        if (e is DistilException { ExitCode: ExitCodes.DiskFull or ExitCodes.OutputNotWritable, InnerException: Exception inner }) e = inner;
        string where = Folder(target);
        string unchanged = kept ?? "nothing half-written was left behind, and what was there before is unchanged";
        return Kind(e) switch
        {
            Fault.Full => new DistilException(ExitCodes.DiskFull,
                $"{target}: not written, the disk is full (no space left on device); free space on the disk that holds {where} {remedy}. " +
                $"{Capital(unchanged)}", e),
            Fault.NotWritable => new DistilException(ExitCodes.OutputNotWritable,
                $"{target}: not written, {where} is read-only or not writable ({Reason(e)}); make it writable {remedy}. " +
                $"{Capital(unchanged)}", e),
            _ => null,
        };
    }

    /// <summary>
    /// Writes an optional cache (teacher logits, hidden states, probes): the run goes on without it when it cannot be
    /// written. A disk failure is logged with the message an output would get (the temp file is already removed by
    /// the atomic writer), any other I/O failure with .NET's message. Returns whether the cache was written.
    /// </summary>
    public static bool TryWriteCache(string path, string what, Action write, Action<string>? log)
    {
        try { write(); return true; }
        catch (Exception e) when (Translate(e, path, kept: "nothing half-written was left behind; the run goes on without the cache", remedy: "to cache it") is DistilException d)
        {
            log?.Invoke($"{what} not cached: {d.Message}");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { log?.Invoke($"{what} not cached ({e.Message})"); }
        return false;
    }

    /// <summary>
    /// The last line of defence (CliApp) for writes outside the atomic writers (an appended log line): a full or
    /// read-only disk, with .NET's message, which names the file. Permission errors are left alone here: without
    /// knowing the operation, a read of an unreadable input would be mistaken for an output.
    /// </summary>
    public static DistilException? TranslateUnguarded(Exception e) => e is IOException io && Kind(io) is var k && (k == Fault.Full || io.HResult == EROFS)
        ? new DistilException(k == Fault.Full ? ExitCodes.DiskFull : ExitCodes.OutputNotWritable,
            k == Fault.Full ? $"{io.Message}: the disk is full; free space on it or choose another --out (resume from the last checkpoint with --resume)"
                : $"{io.Message}: the file system is read-only; make it writable or choose another --out", io)
        : null;

    static string Capital(string s) => s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..];

    enum Fault { None, Full, NotWritable }

    static Fault Kind(Exception e) => e switch
    {
        UnauthorizedAccessException => Fault.NotWritable,
        IOException io when IsWin32(io.HResult) => (io.HResult & 0xFFFF) switch
        {
            ERROR_DISK_FULL or ERROR_HANDLE_DISK_FULL => Fault.Full,
            ERROR_WRITE_PROTECT or ERROR_ACCESS_DENIED => Fault.NotWritable,
            _ => Fault.None,
        },
        IOException io => io.HResult switch
        {
            ENOSPC or EDQUOT_LINUX or EDQUOT_MAC => Fault.Full,
            EROFS or EACCES or EPERM => Fault.NotWritable,
            _ => Fault.None,
        },
        _ => Fault.None,
    };

    /// <summary>A Win32 error inside an HRESULT (0x8007xxxx), as on Windows; on Unix the HResult is the errno itself.</summary>
    static bool IsWin32(int hresult) => (hresult & 0xFFFF0000) == 0x80070000;

    static string Reason(Exception e) => e is IOException { HResult: EROFS } ? "read-only file system" : "permission denied";

    /// <summary>The nearest folder of <paramref name="target"/> that exists: the place the user has to make room in.</summary>
    static string Folder(string target)
    {
        string? dir = Path.GetDirectoryName(Path.GetFullPath(target));
        while (dir != null && !Directory.Exists(dir)) dir = Path.GetDirectoryName(dir);
        return dir ?? target;
    }

    /// <summary>Deletes a temp file or folder; a failure to delete (the disk went read-only) must not hide the real error.</summary>
    public static void Remove(string temp)
    {
        try
        {
            if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true);
            else if (File.Exists(temp)) File.Delete(temp);
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
