using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Distil.Cli;

/// <summary>
/// A command's settings = defaults of its config record, then a JSON config file (--config), then flags.
/// Unknown keys are errors (with a "did you mean"), so a typo never silently falls back to a default.
/// </summary>
public static class ConfigResolver
{
    static readonly JsonSerializerOptions Json = new()
    {
        ReadCommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true, WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    /// <param name="overrides">Flag values by JSON path ("training.epochs"); only flags the user gave.</param>
    public static (T Config, JsonNode Resolved) Resolve<T>(string? configPath, IReadOnlyDictionary<string, JsonNode?> overrides) where T : new()
    {
        var root = JsonSerializer.SerializeToNode(new T(), Json)!.AsObject();
        if (configPath != null)
        {
            if (!File.Exists(configPath)) throw DistilException.NotFound($"{configPath}: config file not found");
            JsonNode? file;
            try { file = JsonNode.Parse(File.ReadAllText(configPath), documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true }); }
            catch (JsonException e) { throw DistilException.Usage($"{configPath}: not valid JSON ({e.Message})"); }
            if (file is not JsonObject obj) throw DistilException.Usage($"{configPath}: the config must be a JSON object");
            // A run folder's config.resolved.json wraps the settings: {"command", "distil_version", "config": {...}}.
            if (obj["config"] is JsonObject inner && obj.ContainsKey("distil_version")) obj = inner;
            Merge(root, obj, typeof(T), configPath, "");
        }
        foreach (var (path, value) in overrides)
        {
            var parts = path.Split('.');
            JsonObject target = root;
            foreach (string p in parts[..^1]) target = (JsonObject)target[p]!;
            target[parts[^1]] = value?.DeepClone();
        }
        try
        {
            var config = root.Deserialize<T>(Json)!;
            return (config, JsonSerializer.SerializeToNode(config, Json)!);
        }
        catch (JsonException e)
        {
            throw DistilException.Usage($"{configPath ?? "options"}: a value has the wrong type at {e.Path} ({e.Message.Split('.')[0]})");
        }
    }

    static void Merge(JsonObject target, JsonObject source, Type type, string file, string prefix)
    {
        var known = Keys(type);
        foreach (var (key, value) in source)
        {
            if (!known.TryGetValue(key, out var property))
            {
                if (RetiredNames.NewKey(type, key) is string renamed)
                    throw DistilException.Usage($"{file}: key '{prefix}{key}' is now '{prefix}{renamed}' (same values, same meaning)");
                string? near = known.Keys.OrderBy(k => Distance(k, key)).FirstOrDefault();
                string hint = near != null && Distance(near, key) <= 3 ? $" (did you mean '{prefix}{near}'?)" : "";
                throw DistilException.Usage($"{file}: unknown key '{prefix}{key}'{hint}; known keys: {string.Join(", ", known.Keys)}");
            }
            if (value is JsonObject nested && IsSection(property.PropertyType) && target[key] is JsonObject existing)
                Merge(existing, nested, property.PropertyType, file, $"{prefix}{key}.");
            else
                target[key] = value?.DeepClone();
        }
    }

    static bool IsSection(Type t) => t.IsClass && t.Namespace?.StartsWith("Distil") == true;

    static Dictionary<string, PropertyInfo> Keys(Type t) =>
        t.GetProperties().Where(p => p.GetCustomAttribute<JsonIgnoreAttribute>() == null)
         .ToDictionary(p => p.GetCustomAttribute<JsonPropertyNameAttribute>()?.Name ?? p.Name, p => p);

    static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (int i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (int j = 0; j <= b.Length; j++) d[0, j] = j;
        for (int i = 1; i <= a.Length; i++)
            for (int j = 1; j <= b.Length; j++)
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
        return d[a.Length, b.Length];
    }
}
