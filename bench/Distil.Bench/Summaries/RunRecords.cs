using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Distil.Augment.L2A;
using Distil.Distillation;
using Distil.MetaKD;
using Distil.Pipelines;

namespace Distil.Bench.Summaries;

// The files the commands write into their run folders are read as the library's own records (DistillResultFile,
// SearchResultFile, L2aResultFile, MetaKdResult, with ModelSummary and L2aArm inside); the records below are the
// bench's own files. A summary also keeps each file's JSON as read, because its .json output copies parts of it
// verbatim (as the Python scripts did), numbers' text included.

/// <summary>wall.json that bench/kd-presets.sh writes beside a run's result.json.</summary>
public sealed record PresetWall(
    [property: JsonPropertyName("preset")] string Preset,
    [property: JsonPropertyName("seed")] int Seed,
    [property: JsonPropertyName("wall_seconds")] double WallSeconds);

/// <summary>The parts of config.resolved.json that bench/albert.sh's table shows.</summary>
public sealed record ResolvedConfigFile([property: JsonPropertyName("config")] ResolvedDistillConfig Config);

public sealed record ResolvedDistillConfig(
    [property: JsonPropertyName("init")] string Init,
    [property: JsonPropertyName("training")] ResolvedTraining Training);

public sealed record ResolvedTraining(
    [property: JsonPropertyName("epochs")] int Epochs,
    [property: JsonPropertyName("learning_rate")] double LearningRate);

/// <summary>`distil eval --json` output: overall and per-domain accuracy (accuracy_DOMAIN).</summary>
public sealed record EvalMetrics(Dictionary<string, double> Values)
{
    public double this[string key] => Values[key];
}

/// <summary>A results.json of `distil metakd`, or the results-partial.json that `summarize metakd-partial` writes for a
/// run that did not finish (same schema plus "Partial": true).</summary>
public sealed record MetaKdRun(MetaKdResult Result, bool Partial, JsonNode Raw);

/// <summary>One file read twice: as its record and as JSON (for verbatim copies).</summary>
public sealed record Loaded<T>(T Value, JsonNode Raw);

public static class RunFiles
{
    /// <summary>Named floating-point literals ("NaN") as L2aReport writes them; record constructors matched by name.</summary>
    public static readonly JsonSerializerOptions Options = new()
    {
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        ReadCommentHandling = JsonCommentHandling.Skip,
    };

    public static Loaded<T> Load<T>(string path)
    {
        string text = File.ReadAllText(path);
        var value = JsonSerializer.Deserialize<T>(text, Options) ?? throw new InvalidDataException($"{path}: empty");
        return new Loaded<T>(value, PyJson.Load(path));
    }

    public static MetaKdRun LoadMetaKd(string path)
    {
        var raw = PyJson.Load(path);
        var result = raw.Deserialize<MetaKdResult>(Options) ?? throw new InvalidDataException($"{path}: empty");
        return new MetaKdRun(result, raw["Partial"]?.GetValue<bool>() == true, raw);
    }

    public static EvalMetrics LoadEval(string path) =>
        new(JsonSerializer.Deserialize<Dictionary<string, double>>(File.ReadAllText(path), Options) ?? throw new InvalidDataException($"{path}: empty"));
}
