using System.CommandLine;
using System.Text.Json.Nodes;
using TorchSharp;

namespace Distil.Cli;

/// <summary>Options every training command shares, and the mapping from given flags to config keys.</summary>
public sealed class CommonOptions
{
    public readonly Option<string?> Config = new("--config") { Description = "JSON config file; flags given on the command line override it" };
    public readonly Option<string?> Out = new("--out") { Description = "Run folder (config, metrics.jsonl, checkpoints/, best/, report.md)" };
    public readonly Option<bool> Resume = new("--resume") { Description = "Continue the run in --out from its last checkpoint" };
    public readonly Option<string?> Device = new("--device") { Description = "cpu or cuda[:i] (cuda needs TorchSharp's CUDA runtime package)" };
    public readonly Option<int?> Threads = new("--threads") { Description = "Torch CPU threads (default: all cores)" };

    readonly List<(Option Option, string Path)> mapped = new();

    public void AddTo(Command c)
    {
        foreach (var o in new Option[] { Config, Out, Resume, Device, Threads }) c.Options.Add(o);
        Map(Out, "out"); Map(Device, "device"); Map(Threads, "threads");
    }

    /// <summary>Declares that this flag overrides the config key at this JSON path.</summary>
    public void Map(Option option, string jsonPath) => mapped.Add((option, jsonPath));

    public Dictionary<string, JsonNode?> Overrides(ParseResult r)
    {
        var result = new Dictionary<string, JsonNode?>();
        foreach (var (option, path) in mapped)
        {
            var given = r.GetResult(option);
            if (given == null || given.Implicit) continue;
            object? value = given.GetValueOrDefault<object?>();
            result[path] = value switch
            {
                null => null,
                string s => JsonValue.Create(s),
                int i => JsonValue.Create(i),
                double d => JsonValue.Create(d),
                bool b => JsonValue.Create(b),
                _ => JsonValue.Create(value.ToString()),
            };
        }
        return result;
    }

    /// <summary>--config, or with --resume and no --config the run folder's own config.resolved.json (flags still override).</summary>
    public static string? ConfigOrRunConfig(ParseResult r, CommonOptions o)
    {
        if (r.GetValue(o.Config) is string given) return given;
        if (r.GetValue(o.Resume) && r.GetValue(o.Out) is string outDir)
        {
            string saved = Path.Combine(outDir, "config.resolved.json");
            if (File.Exists(saved)) return saved;
        }
        return null;
    }

    /// <summary>Applies --threads and --device; returns the device to train on.</summary>
    public static torch.Device Setup(string? device, int? threads)
    {
        if (threads is int n)
        {
            if (n < 1) throw DistilException.Usage($"--threads must be at least 1 (got {n})");
            torch.set_num_threads(n);
        }
        string d = device ?? "cpu";
        if (d.StartsWith("cuda") && !torch.cuda.is_available())
            throw DistilException.Usage($"--device {d}: CUDA is not available here; install TorchSharp's CUDA runtime package (TorchSharp-cuda-linux) or use --device cpu");
        try { return torch.device(d); }
        catch (Exception e) { throw DistilException.Usage($"--device '{d}' is not a device ({e.Message}); use cpu or cuda[:i]"); }
    }
}
