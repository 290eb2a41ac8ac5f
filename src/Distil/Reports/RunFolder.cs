using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Distil.Checkpoints;

namespace Distil.Reports;

/// <summary>
/// The folder every command writes: config.resolved.json, metrics.jsonl, checkpoints/, best/ and report.md with its plots.
/// A run folder from another command or another tool version is refused rather than mixed into.
/// </summary>
public sealed class RunFolder
{
    public string Dir { get; }
    public string MetricsPath => Path.Combine(Dir, "metrics.jsonl");
    public string ConfigPath => Path.Combine(Dir, "config.resolved.json");
    public string ReportPath => Path.Combine(Dir, "report.md");
    public string BestDir => Path.Combine(Dir, "best");

    /// <summary>True when this invocation made the folder (nothing of an earlier run is in it).</summary>
    public bool IsNew { get; }

    RunFolder(string dir, bool isNew) => (Dir, IsNew) = (dir, isNew);

    /// <summary>Opens (resume) or creates the folder and writes the resolved config with the command and version.</summary>
    public static RunFolder Create(string dir, string command, JsonNode resolvedConfig, bool resume)
    {
        string full = Path.GetFullPath(dir);
        string configPath = Path.Combine(full, "config.resolved.json");
        bool exists = File.Exists(configPath);
        if (exists)
        {
            ReadResolved(configPath, command);
            if (!resume)
                throw DistilException.Usage($"{full} already holds a run; pass --resume to continue it, or choose another --out");
        }
        // A folder of the user's own files is never written into (nor later removed by Run), resume or not; an empty
        // one, or one that only holds the temp file of a config write that was killed, is a new run folder.
        else if (Directory.Exists(full) && Directory.EnumerateFileSystemEntries(full).Any(e => !IsConfigTemp(e)))
            throw DistilException.Usage($"{full} is not empty and is not a run folder of this tool (no config.resolved.json); " +
                "it was left as it is: choose another --out (a new or empty folder)");
        var run = new RunFolder(full, isNew: !exists);
        WriteFault.Guard(run.Dir, null, () => Directory.CreateDirectory(run.Dir));
        var doc = new JsonObject
        {
            ["command"] = command,
            ["distil_version"] = Version.Value,
            ["config"] = resolvedConfig.DeepClone(),
        };
        WriteAtomic(run.ConfigPath, doc.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        return run;
    }

    static bool IsConfigTemp(string entry) => Path.GetFileName(entry).StartsWith("config.resolved.json.tmp-", StringComparison.Ordinal);

    /// <summary>
    /// Reads a saved config.resolved.json and checks that it parses and was written by <paramref name="command"/> of this
    /// version: checkpoints of another version may not mean the same thing, so they are refused, not guessed at.
    /// </summary>
    public static JsonNode ReadResolved(string path, string command)
    {
        JsonNode? doc;
        try { doc = JsonNode.Parse(File.ReadAllText(path)); }
        catch (JsonException e) { throw DistilException.BadInput($"{path}: not valid JSON ({e.Message}); the run folder is damaged: start a new run with another --out"); }
        if (doc is not JsonObject o || o["command"] is not JsonValue c || !c.TryGetValue(out string? oldCommand))
            throw DistilException.BadInput($"{path}: not a run configuration of distil (no \"command\"); choose another --out");
        if (oldCommand != command)
            throw DistilException.Usage($"{Path.GetDirectoryName(path)} is a run folder of `distil {oldCommand}`, not `distil {command}`; choose another --out");
        string? version = o["distil_version"] is JsonValue v && v.TryGetValue(out string? s) ? s : null;
        if (version != Version.Value)
            throw DistilException.Usage($"{Path.GetDirectoryName(path)} was written by distil {version ?? "(unknown version)"}, this is {Version.Value}: resume it with that version, or start a new run with another --out");
        return o;
    }

    /// <summary>
    /// Runs the job in this folder. If it fails before anything resumable was saved and the folder is new, the folder is
    /// removed: a refused input leaves nothing behind, and the same command can be rerun. "Resumable" is any sub-folder
    /// (checkpoints/, best/, a finished stage of a multi-stage command): then the folder is kept for --resume.
    /// </summary>
    public T Run<T>(Func<T> job)
    {
        try { return job(); }
        catch when (IsNew && Directory.Exists(Dir) && !Directory.EnumerateDirectories(Dir).Any())
        {
            try { Directory.Delete(Dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
    }

    /// <summary>Writes a text file of the run through <see cref="AtomicFile"/>: complete or absent, and a full or
    /// read-only disk is a <see cref="ExitCodes.DiskFull"/> / <see cref="ExitCodes.OutputNotWritable"/> error.</summary>
    public static void WriteAtomic(string path, string text) =>
        AtomicFile.Write(path, s => s.Write(Utf8.GetBytes(text)));

    static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false); // as File.WriteAllText writes
}
