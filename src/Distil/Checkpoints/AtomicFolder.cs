namespace Distil.Checkpoints;

/// <summary>
/// Replaces a whole folder so that a crash or kill leaves either the old or the new folder complete, never a mix:
/// the new content is written into a sibling temp folder, then swapped in with two renames
/// (<c>dir</c> → <c>dir.old</c>, <c>temp</c> → <c>dir</c>) and the old copy deleted.
/// </summary>
/// <remarks>
/// Between the two renames <c>dir</c> does not exist for a moment; only <c>dir.old</c> (complete, the previous save)
/// and the temp folder (complete, the new save) do. A kill exactly there leaves that state on disk:
/// <see cref="ResolveForReading"/> then reads <c>dir.old</c>, and the next <see cref="Replace"/> renames it back
/// before doing anything else. A kill while <c>dir.old</c> is being deleted leaves a partial <c>dir.old</c> next to a
/// complete <c>dir</c>, which readers ignore and the next save deletes. Two processes saving to one folder at the
/// same time are not supported (the last swap wins, and a save cleans up the other's temp folder).
/// </remarks>
public static class AtomicFolder
{
    public const string OldSuffix = ".old";
    const string TempMarker = ".tmp-";

    /// <summary>Builds the new folder with <paramref name="fill"/> (given the temp folder's path), then swaps it in.</summary>
    public static void Replace(string dir, Action<string> fill)
    {
        string full = Normalize(dir);
        // The temp folder is already removed and the old folder restored below; this names the folder in the error.
        try { Swap(dir, full, fill); }
        catch (Exception e) when (WriteFault.Translate(e, full) is DistilException d) { throw d; }
    }

    static void Swap(string dir, string full, Action<string> fill)
    {
        string old = full + OldSuffix;
        string parent = Path.GetDirectoryName(full) ?? throw DistilException.Usage($"{dir}: cannot replace a root folder");
        Directory.CreateDirectory(parent);
        Recover(full);
        // Temp folders of killed saves hold up to a whole model each: remove them rather than let them pile up.
        foreach (var stale in Directory.GetDirectories(parent, Path.GetFileName(full) + TempMarker + "*"))
            TryDelete(stale);

        string tmp = full + TempMarker + Guid.NewGuid().ToString("N")[..8];
        Directory.CreateDirectory(tmp);
        try { fill(tmp); }
        catch { TryDelete(tmp); throw; }

        bool hadOld = Directory.Exists(full);
        if (hadOld) Directory.Move(full, old);
        // <-- the window described in the remarks: only dir.old and the temp folder exist here.
        try { Directory.Move(tmp, full); }
        catch
        {
            if (hadOld && !Directory.Exists(full)) Directory.Move(old, full);
            TryDelete(tmp);
            throw;
        }
        if (hadOld) Directory.Delete(old, recursive: true);
    }

    /// <summary>The folder to read: <paramref name="dir"/>, or <c>dir.old</c> when a save was killed between its two renames.</summary>
    public static string ResolveForReading(string dir)
    {
        string full = Normalize(dir);
        if (!Directory.Exists(full) && Directory.Exists(full + OldSuffix)) return full + OldSuffix;
        return full;
    }

    /// <summary>Undoes a save killed mid-swap: dir.old is the only complete copy when dir is missing, else leftover garbage.</summary>
    static void Recover(string full)
    {
        string old = full + OldSuffix;
        if (!Directory.Exists(old)) return;
        if (Directory.Exists(full)) Directory.Delete(old, recursive: true);
        else Directory.Move(old, full);
    }

    static string Normalize(string dir) => Path.GetFullPath(dir).TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar);

    static void TryDelete(string dir)
    {
        try { if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
