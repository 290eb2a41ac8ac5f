namespace Distil.Checkpoints;

/// <summary>
/// Writes a file through a temp file next to it, flushed to disk and then renamed over the target, so a crash or
/// Ctrl+C never leaves a half-written checkpoint under the real name.
/// </summary>
public static class AtomicFile
{
    public static void Write(string path, Action<Stream> write)
    {
        string full = Path.GetFullPath(path);
        string tmp = full + ".tmp-" + Guid.NewGuid().ToString("N")[..8];
        // A full or read-only disk becomes a DistilException naming the file; the temp file is removed either way.
        WriteFault.Guard(full, tmp, () =>
        {
            using (var o = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                write(o);
                o.Flush(flushToDisk: true);
            }
            File.Move(tmp, full, overwrite: true);
        });
    }
}
