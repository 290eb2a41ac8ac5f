using System.Text.Json;
using static TorchSharp.torch;

namespace Distil.Checkpoints;

/// <summary>
/// The one place that turns a model folder into its state dict, whatever format the weights are saved in; every
/// loader (BERT, ALBERT, the other encoder families) reads through it, so a new checkpoint format is added here only.
/// Formats, in transformers' order of preference: model.safetensors, model.safetensors.index.json (shards),
/// pytorch_model.bin (read without running its pickle, see <see cref="TorchPickle"/>), pytorch_model.bin.index.json.
/// </summary>
public static class WeightFiles
{
    public const string SafeTensorsIndex = "model.safetensors.index.json", PytorchFile = "pytorch_model.bin",
        PytorchIndex = "pytorch_model.bin.index.json";

    /// <summary>
    /// The weight files <see cref="Read"/> would read from <paramref name="folder"/>: the one checkpoint file, or a shard
    /// index and the shards it names; empty when the folder holds none of the four formats.
    /// </summary>
    public static IReadOnlyList<string> Files(string folder)
    {
        foreach (string name in new[] { ModelFolder.WeightsFile, SafeTensorsIndex, PytorchFile, PytorchIndex })
        {
            string path = Path.Combine(folder, name);
            if (!File.Exists(path)) continue;
            if (!name.EndsWith(".json", StringComparison.Ordinal)) return [path];
            return [path, .. ReadWeightMap(path).Values.Distinct(StringComparer.Ordinal).Select(f => Path.Combine(folder, f))];
        }
        return [];
    }

    /// <summary>Whether <paramref name="folder"/> holds weights in any format <see cref="Read"/> reads (a TorchSharp model folder, not an export).</summary>
    public static bool Exists(string folder) => Files(folder).Count > 0;

    /// <summary>Bytes on disk of the weights (every shard of a sharded checkpoint).</summary>
    public static long TotalBytes(string folder) => Files(folder).Where(File.Exists).Sum(f => new FileInfo(f).Length);

    /// <summary>
    /// The tensors of <paramref name="folder"/> (already resolved for reading) and the file they came from (the index
    /// for a sharded checkpoint), for error messages. The caller owns and disposes the tensors.
    /// </summary>
    public static (IReadOnlyDictionary<string, Tensor> Tensors, string Source) Read(string folder)
    {
        string path = Path.Combine(folder, ModelFolder.WeightsFile);
        if (File.Exists(path)) return (SafeTensors.Read(path), path);
        string index = Path.Combine(folder, SafeTensorsIndex);
        if (File.Exists(index)) return (ReadSharded(index, SafeTensors.Read), index);
        string bin = Path.Combine(folder, PytorchFile);
        if (File.Exists(bin)) return (PytorchBin.Read(bin), bin);
        index = Path.Combine(folder, PytorchIndex);
        if (File.Exists(index)) return (ReadSharded(index, PytorchBin.Read), index);
        string other = new[] { "tf_model.h5", "flax_model.msgpack", "model.ckpt.index" }.FirstOrDefault(f => File.Exists(Path.Combine(folder, f))) is { } found
            ? $"; it has {found}, which Distil does not read: re-save the model from PyTorch in Python (save_pretrained)" : "";
        throw DistilException.NotFound(
            $"{path}: not found; a model folder needs {ModelFolder.ConfigFile} and weights as {ModelFolder.WeightsFile}, {SafeTensorsIndex}, {PytorchFile} or {PytorchIndex}{other}");
    }

    /// <summary>
    /// A sharded checkpoint: the index's <c>weight_map</c> names each tensor's shard file. Every shard must be there,
    /// hold exactly the tensors the index gives it, and no tensor may be in two shards.
    /// </summary>
    static IReadOnlyDictionary<string, Tensor> ReadSharded(string index, Func<string, IReadOnlyDictionary<string, Tensor>> readShard)
    {
        var weightMap = ReadWeightMap(index);
        string folder = Path.GetDirectoryName(index)!;
        var shards = weightMap.Values.Distinct(StringComparer.Ordinal).ToList();
        foreach (string shard in shards)
            if (!File.Exists(Path.Combine(folder, shard)))
            {
                var names = weightMap.Where(p => p.Value == shard).Select(p => p.Key).ToList();
                throw DistilException.NotFound(
                    $"{index}: names shard {shard} (for '{names[0]}'{(names.Count > 1 ? $" and {names.Count - 1} more tensors" : "")}), but {Path.Combine(folder, shard)} is not there; copy every shard of the checkpoint into the folder");
            }

        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var from = new Dictionary<string, string>(StringComparer.Ordinal);
        try
        {
            foreach (string shard in shards)
            {
                string shardPath = Path.Combine(folder, shard);
                foreach (var (key, t) in readShard(shardPath))
                {
                    if (!result.TryAdd(key, t))
                    {
                        t.Dispose();
                        throw DistilException.BadInput($"{index}: tensor '{key}' is in two shards, {from[key]} and {shard}; the checkpoint is inconsistent");
                    }
                    from[key] = shard;
                }
            }
            foreach (var (key, shard) in from)
                if (!weightMap.TryGetValue(key, out var listed))
                    throw DistilException.BadInput($"{Path.Combine(folder, shard)}: holds tensor '{key}', which {index} does not list; the index does not belong to these shards");
                else if (listed != shard)
                    throw DistilException.BadInput($"{Path.Combine(folder, shard)}: holds tensor '{key}', which {index} places in {listed}; the index does not belong to these shards");
            foreach (var (key, shard) in weightMap)
                if (!from.ContainsKey(key))
                    throw DistilException.BadInput($"{index}: lists tensor '{key}' in {shard}, but {Path.Combine(folder, shard)} does not hold it; the index does not belong to these shards");
            return result;
        }
        catch
        {
            foreach (var t in result.Values) t.Dispose();
            throw;
        }
    }

    static Dictionary<string, string> ReadWeightMap(string index)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(File.ReadAllBytes(index)); }
        catch (JsonException e) { throw DistilException.BadInput($"{index}: not valid JSON ({e.Message})"); }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object || !doc.RootElement.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
                throw DistilException.BadInput($"{index}: has no \"weight_map\" object (tensor name -> shard file); the index is corrupt");
            var result = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var p in map.EnumerateObject())
            {
                if (p.Value.ValueKind != JsonValueKind.String)
                    throw DistilException.BadInput($"{index}: weight_map entry '{p.Name}' is not a file name");
                string file = p.Value.GetString()!;
                // A shard is a file next to the index: a path could read anything on the machine.
                if (file.Length == 0 || file != Path.GetFileName(file) || file is "." or ".." || file.Contains('\\'))
                    throw DistilException.BadInput($"{index}: weight_map entry '{p.Name}' names '{file}', which is not a file name in the folder");
                if (!result.TryAdd(p.Name, file)) throw DistilException.BadInput($"{index}: weight_map lists '{p.Name}' twice");
            }
            if (result.Count == 0) throw DistilException.BadInput($"{index}: weight_map is empty");
            return result;
        }
    }
}
