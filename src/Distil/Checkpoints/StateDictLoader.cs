using TorchSharp;
using static TorchSharp.torch;

namespace Distil.Checkpoints;

/// <summary>
/// What a load did not match: model keys the file lacked, and file keys the model has no place for (or that were
/// deliberately not used). <see cref="NewlyInitialised"/>: the missing keys that are expected to be missing and keep
/// their fresh initialisation (a new classification head), as opposed to a broken checkpoint.
/// </summary>
public sealed record LoadReport(IReadOnlyList<string> Missing, IReadOnlyList<string> Unexpected, IReadOnlyList<string>? NewlyInitialised = null)
{
    public IReadOnlyList<string> NewlyInitialised { get; init; } = NewlyInitialised ?? [];
}

/// <summary>
/// Loads named tensors into a module with Hugging Face semantics: the base-model prefix ("bert.") is added or
/// removed as needed (a BertModel checkpoint loads into a classifier and back), old LayerNorm names
/// (gamma/beta) are renamed, and <c>position_ids</c> (a constant buffer HF files may hold) is ignored.
/// </summary>
public static class StateDictLoader
{
    public const string DefaultBasePrefix = "bert";

    /// <summary>Reads a safetensors file and loads it; see <see cref="Load"/>.</summary>
    public static LoadReport LoadFile(nn.Module module, string path, bool strict = false, string basePrefix = DefaultBasePrefix)
    {
        var tensors = SafeTensors.Read(path);
        try { return Load(module, tensors, path, strict, basePrefix); }
        finally { foreach (var t in tensors.Values) t.Dispose(); }
    }

    /// <summary>
    /// Copies each tensor into the parameter or buffer of the same (prefix-adjusted, renamed) name.
    /// Shape mismatches are errors; with <paramref name="strict"/>, missing keys are errors too.
    /// <paramref name="source"/> names the file in messages.
    /// </summary>
    public static LoadReport Load(nn.Module module, IReadOnlyDictionary<string, Tensor> tensors, string source, bool strict = false, string basePrefix = DefaultBasePrefix)
    {
        var targets = Targets(module);
        string prefix = basePrefix + ".";
        var loaded = new HashSet<string>(StringComparer.Ordinal);
        var unexpected = new List<string>();
        var plan = new List<(string fileKey, string modelKey, Tensor src, Tensor dst)>();

        foreach (var (fileKey, src) in tensors)
        {
            if (IsPositionIds(fileKey)) continue;
            string? modelKey = Resolve(fileKey, targets, prefix) ?? Resolve(RenameLegacy(fileKey), targets, prefix);
            if (modelKey == null || loaded.Contains(modelKey)) { unexpected.Add(fileKey); continue; }
            var dst = targets[modelKey];
            if (!src.shape.SequenceEqual(dst.shape))
                throw DistilException.BadInput(
                    $"{source}: tensor '{fileKey}' has shape {Shape(src)} but the model expects {Shape(dst)} ('{modelKey}'); the checkpoint is for a different model size");
            loaded.Add(modelKey);
            plan.Add((fileKey, modelKey, src, dst));
        }

        var missing = targets.Keys.Where(k => !loaded.Contains(k) && !IsPositionIds(k)).ToList();
        if (strict && missing.Count > 0)
            throw DistilException.BadInput(
                $"{source}: {missing.Count} model tensors are missing from the checkpoint: {string.Join(", ", missing.Take(10))}{(missing.Count > 10 ? $", ... ({missing.Count - 10} more)" : "")}; " +
                "the checkpoint is for a different architecture");

        // Copy only after every check passed, so a failed load leaves the module unchanged.
        using (torch.no_grad())
            foreach (var (_, _, src, dst) in plan)
                dst.copy_(src);
        unexpected.Sort(StringComparer.Ordinal);
        return new LoadReport(missing, unexpected);
    }

    /// <summary>Writes the module's parameters and persistent buffers (its state_dict) as safetensors.</summary>
    public static void SaveStateDict(nn.Module module, string path, IReadOnlyDictionary<string, string>? metadata = null) =>
        SafeTensors.Write(path, module.state_dict(), metadata);

    static Dictionary<string, Tensor> Targets(nn.Module module)
    {
        var d = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, p) in module.named_parameters()) d[name] = p;
        foreach (var (name, b) in module.named_buffers()) d.TryAdd(name, b);
        return d;
    }

    /// <summary>The model key a file key loads into: as is, with the base prefix added, or with it removed.</summary>
    static string? Resolve(string key, Dictionary<string, Tensor> targets, string prefix)
    {
        if (targets.ContainsKey(key)) return key;
        if (targets.ContainsKey(prefix + key)) return prefix + key;
        if (key.StartsWith(prefix, StringComparison.Ordinal) && targets.ContainsKey(key[prefix.Length..])) return key[prefix.Length..];
        return null;
    }

    /// <summary>Old TF-converted BERT checkpoints name LayerNorm parameters gamma/beta.</summary>
    static string RenameLegacy(string key)
    {
        if (key.EndsWith(".gamma", StringComparison.Ordinal)) return key[..^".gamma".Length] + ".weight";
        if (key.EndsWith(".beta", StringComparison.Ordinal)) return key[..^".beta".Length] + ".bias";
        return key;
    }

    /// <summary>position_ids is arange(max_positions), saved by some HF versions and not by others: never a real weight.</summary>
    static bool IsPositionIds(string key) => key == "embeddings.position_ids" || key.EndsWith(".embeddings.position_ids", StringComparison.Ordinal);

    static string Shape(Tensor t) => "[" + string.Join(", ", t.shape) + "]";
}
