using System.Text.Json;
using System.Text.Json.Serialization;

namespace Distil.Sweeps;

/// <summary>
/// A sweep file: one command, the arguments every trial shares, and axes whose every combination (times every seed)
/// is a trial. An axis named like an option ("--lr": ["1e-4", "2e-4"]) adds that option with each value; any other
/// axis maps a value's name to the arguments it adds ("preset": {"kd": ["--preset", "kd"], "tinybert+aug":
/// ["--preset", "tinybert", "--augment", "2"]}). <see cref="Metric"/> and <see cref="Cost"/> are dotted paths into
/// each trial's result.json (e.g. "student.test.accuracy", "student.parameters").
/// </summary>
public sealed record SweepFile
{
    [JsonPropertyName("command")] public string Command { get; init; } = "";
    [JsonPropertyName("run_root")] public string RunRoot { get; init; } = "";
    [JsonPropertyName("args")] public IReadOnlyList<string> Args { get; init; } = [];
    [JsonPropertyName("axes")] public IReadOnlyDictionary<string, JsonElement> Axes { get; init; } = new Dictionary<string, JsonElement>();
    [JsonPropertyName("seeds")] public IReadOnlyList<int> Seeds { get; init; } = [];
    [JsonPropertyName("seed_option")] public string SeedOption { get; init; } = "--seed";
    [JsonPropertyName("out_option")] public string OutOption { get; init; } = "--out";
    [JsonPropertyName("metric")] public string? Metric { get; init; }
    [JsonPropertyName("cost")] public string? Cost { get; init; }

    static readonly JsonSerializerOptions Options = new() { ReadCommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true };

    public static SweepFile Read(string path)
    {
        if (!File.Exists(path)) throw DistilException.NotFound($"{path}: sweep file not found");
        SweepFile? f;
        try { f = JsonSerializer.Deserialize<SweepFile>(File.ReadAllText(path), Options); }
        catch (JsonException e) { throw DistilException.BadInput($"{path}: not a sweep file ({e.Message}); see docs/sweeps.md"); }
        if (f == null) throw DistilException.BadInput($"{path}: empty sweep file; see docs/sweeps.md");
        f.Validate(path);
        return f;
    }

    public void Validate(string path)
    {
        if (string.IsNullOrWhiteSpace(Command)) throw DistilException.BadInput($"{path}: \"command\" is missing (e.g. \"distill\")");
        if (string.IsNullOrWhiteSpace(RunRoot)) throw DistilException.BadInput($"{path}: \"run_root\" is missing (the folder the trials' run folders go under)");
        if (Args.Contains(OutOption)) throw DistilException.BadInput($"{path}: \"args\" gives {OutOption}; the sweep sets each trial's own under run_root");
        if (Seeds.Count > 0 && Args.Contains(SeedOption)) throw DistilException.BadInput($"{path}: \"args\" gives {SeedOption} and \"seeds\" is set; give seeds one way");
        if (Seeds.Distinct().Count() != Seeds.Count) throw DistilException.BadInput($"{path}: \"seeds\" repeats a seed");
        foreach (var (axis, v) in Axes)
        {
            bool ok = axis.StartsWith("--", StringComparison.Ordinal)
                ? v.ValueKind == JsonValueKind.Array && v.GetArrayLength() > 0 && v.EnumerateArray().All(e => e.ValueKind is JsonValueKind.String or JsonValueKind.Number)
                : v.ValueKind == JsonValueKind.Object && v.EnumerateObject().Any() && v.EnumerateObject().All(p => p.Value.ValueKind == JsonValueKind.Array && p.Value.EnumerateArray().All(e => e.ValueKind == JsonValueKind.String));
            if (!ok)
                throw DistilException.BadInput($"{path}: axis \"{axis}\" must be " + (axis.StartsWith("--", StringComparison.Ordinal)
                    ? "a non-empty list of values" : "an object of named argument lists, e.g. {\"kd\": [\"--preset\", \"kd\"]}"));
        }
    }
}
