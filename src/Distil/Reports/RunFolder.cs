using System.Text.Json;
using System.Text.Json.Nodes;

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

    RunFolder(string dir) => Dir = dir;

    /// <summary>Opens (resume) or creates the folder and writes the resolved config with the command and version.</summary>
    public static RunFolder Create(string dir, string command, JsonNode resolvedConfig, bool resume)
    {
        var run = new RunFolder(Path.GetFullPath(dir));
        if (File.Exists(run.ConfigPath))
        {
            var old = JsonNode.Parse(File.ReadAllText(run.ConfigPath))!;
            string? oldCommand = old["command"]?.GetValue<string>();
            if (oldCommand != command)
                throw DistilException.Usage($"{run.Dir} is a run folder of `distil {oldCommand}`, not `distil {command}`; choose another --out");
            if (!resume)
                throw DistilException.Usage($"{run.Dir} already holds a run; pass --resume to continue it, or choose another --out");
        }
        else if (resume && Directory.Exists(run.Dir) && Directory.EnumerateFileSystemEntries(run.Dir).Any())
            throw DistilException.Usage($"{run.Dir} is not a run folder of this tool (no config.resolved.json); choose another --out");
        Directory.CreateDirectory(run.Dir);
        var doc = new JsonObject
        {
            ["command"] = command,
            ["distil_version"] = Version.Value,
            ["config"] = resolvedConfig.DeepClone(),
        };
        WriteAtomic(run.ConfigPath, doc.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        return run;
    }

    public static void WriteAtomic(string path, string text)
    {
        string tmp = $"{path}.tmp-{Environment.ProcessId}";
        File.WriteAllText(tmp, text);
        File.Move(tmp, path, overwrite: true);
    }
}
