using System.IO.Compression;
using System.Runtime.InteropServices;
using System.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace Distil.Checkpoints;

/// <summary>
/// Reads a <c>pytorch_model.bin</c> (what <c>torch.save(state_dict)</c> writes since torch 1.6): a zip whose one folder
/// holds <c>data.pkl</c> (the state dict, read by <see cref="TorchPickle"/> without running it), <c>data/KEY</c> (each
/// storage's raw bytes) and, since torch 2.1, <c>byteorder</c>. Tensors come back as <see cref="SafeTensors"/> gives
/// them: floats (F32/F16/BF16/F64) as float32, integers and bools as int64, contiguous, owned by the caller.
/// </summary>
public static class PytorchBin
{
    /// <summary>data.pkl above this is refused: a state dict's pickle is kilobytes to a few megabytes.</summary>
    const long MaxPickleBytes = 256L * 1024 * 1024;
    const string Resave = "re-save it with torch >= 1.6 (torch.save(model.state_dict(), path)) or as model.safetensors";

    public static IReadOnlyDictionary<string, Tensor> Read(string path)
    {
        if (!File.Exists(path)) throw DistilException.NotFound($"{path}: PyTorch checkpoint not found");
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("pytorch_model.bin is read on little-endian machines only");
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        CheckMagic(fs, path);
        ZipArchive zip;
        try { zip = new ZipArchive(fs, ZipArchiveMode.Read, leaveOpen: true); }
        catch (InvalidDataException e) { throw DistilException.BadInput($"{path}: not a readable zip ({e.Message}); the file is truncated or corrupt: download it again"); }
        using (zip)
            try { return ReadArchive(zip, path); }
            catch (InvalidDataException e) { throw DistilException.BadInput($"{path}: a zip entry cannot be read ({e.Message}); the file is truncated or corrupt: download it again"); }
    }

    static void CheckMagic(FileStream fs, string path)
    {
        Span<byte> head = stackalloc byte[4];
        int n = fs.ReadAtLeast(head, 4, throwOnEndOfStream: false);
        fs.Position = 0;
        if (n == 4 && head[0] == (byte)'P' && head[1] == (byte)'K' && head[2] == 3 && head[3] == 4) return;
        if (n >= 1 && head[0] == 0x80)
            throw DistilException.BadInput($"{path}: a PyTorch checkpoint in the legacy format of torch < 1.6 (a bare pickle, not a zip), which Distil does not read; {Resave}");
        throw DistilException.BadInput($"{path}: not a PyTorch checkpoint: it does not start as a zip archive ({fs.Length} bytes); the file is truncated, corrupt or of another format");
    }

    static IReadOnlyDictionary<string, Tensor> ReadArchive(ZipArchive zip, string path)
    {
        // torch names the one folder after the file (1.x) or "archive" (2.x); data.pkl is found wherever it is.
        var pickles = zip.Entries.Where(e => e.FullName.EndsWith("/data.pkl", StringComparison.Ordinal) && e.FullName.Count(c => c == '/') == 1).ToList();
        if (pickles.Count != 1)
            throw DistilException.BadInput($"{path}: a zip, but {(pickles.Count == 0 ? "without" : "with more than one")} <folder>/data.pkl, so not a torch.save checkpoint; {Resave}");
        string prefix = pickles[0].FullName[..^"data.pkl".Length];
        var byteorder = zip.GetEntry(prefix + "byteorder");
        if (byteorder != null)
        {
            string order = Encoding.ASCII.GetString(ReadEntry(byteorder, path, 16)).Trim();
            if (order != "little") throw DistilException.BadInput($"{path}: storages are saved {order}-endian; Distil reads little-endian checkpoints only: {Resave} on a little-endian machine");
        }

        string where = $"{path} ({pickles[0].FullName})";
        var root = TorchPickle.Load(ReadEntry(pickles[0], path, MaxPickleBytes), where);
        if (root is not TorchPickle.Dict dict)
            throw DistilException.BadInput($"{where}: holds a {root?.GetType().Name ?? "None"}, not a state dict (a dict of tensor names to tensors)");
        var views = new List<(string Key, TorchPickle.TensorView View)>();
        foreach (var (k, v) in dict)
        {
            if (k is not string key) throw DistilException.BadInput($"{where}: the state dict has a key that is not a string");
            if (v is not TorchPickle.TensorView view)
                throw DistilException.BadInput($"{where}: '{key}' is not a tensor; a pytorch_model.bin must hold a bare state dict (torch.save(model.state_dict(), path))");
            if (views.Any(x => x.Key == key)) throw DistilException.BadInput($"{where}: tensor '{key}' appears twice");
            views.Add((key, view));
        }

        var users = views.GroupBy(x => x.View.Storage.Key).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        var storages = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            foreach (var (key, view) in views)
            {
                var s = view.Storage;
                if (!storages.TryGetValue(s.Key, out var storage))
                    storages[s.Key] = storage = ReadStorage(zip, prefix, s, path, key);
                result.Add(key, Materialise(storage, view, users[s.Key] > 1, path, key));
            }
            return result;
        }
        catch
        {
            foreach (var t in result.Values) t.Dispose();
            throw;
        }
        finally
        {
            foreach (var t in storages.Values) t.Dispose();
        }
    }

    static byte[] ReadEntry(ZipArchiveEntry e, string path, long max)
    {
        if (e.Length > max) throw DistilException.BadInput($"{path}: {e.FullName} is {e.Length} bytes, more than the {max} a checkpoint entry may have; the file is corrupt");
        var bytes = new byte[e.Length];
        using var s = e.Open();
        s.ReadExactly(bytes);
        return bytes;
    }

    /// <summary>The storage as a 1-D tensor: floats widened to float32, integers to int64 (as the safetensors reader does).</summary>
    static Tensor ReadStorage(ZipArchive zip, string prefix, TorchPickle.Storage s, string path, string firstUser)
    {
        string name = prefix + "data/" + s.Key;
        var entry = zip.GetEntry(name) ?? throw DistilException.BadInput($"{path}: tensor '{firstUser}' uses storage {name}, which the archive does not hold; the file is truncated or corrupt");
        int size = TorchPickle.StorageTypes[s.Type];
        long bytes;
        try { bytes = checked(s.Numel * size); }
        catch (OverflowException) { throw DistilException.BadInput($"{path}: storage {name} claims {s.Numel} elements; the file is corrupt"); }
        if (entry.Length != bytes)
            throw DistilException.BadInput($"{path}: storage {name} ({s.Type}, {s.Numel} elements) needs {bytes} bytes but holds {entry.Length}; the file is truncated or corrupt");
        if (s.Numel > Array.MaxLength) throw DistilException.BadInput($"{path}: storage {name} has {s.Numel} elements, more than one tensor can be read into");
        var raw = ReadEntry(entry, path, bytes);
        long[] shape = [s.Numel];
        switch (s.Type)
        {
            case "FloatStorage": return torch.tensor(MemoryMarshal.Cast<byte, float>(raw).ToArray(), shape);
            case "DoubleStorage": return torch.tensor(MemoryMarshal.Cast<byte, double>(raw).ToArray().Select(d => (float)d).ToArray(), shape);
            case "HalfStorage":
                {
                    var h = MemoryMarshal.Cast<byte, Half>(raw);
                    var f = new float[h.Length];
                    for (int i = 0; i < f.Length; i++) f[i] = (float)h[i];
                    return torch.tensor(f, shape);
                }
            case "BFloat16Storage":
                {
                    // bfloat16 is the top half of a float32's bits.
                    var b = MemoryMarshal.Cast<byte, ushort>(raw);
                    var f = new float[b.Length];
                    for (int i = 0; i < f.Length; i++) f[i] = BitConverter.Int32BitsToSingle(b[i] << 16);
                    return torch.tensor(f, shape);
                }
            case "LongStorage": return torch.tensor(MemoryMarshal.Cast<byte, long>(raw).ToArray(), shape);
            case "IntStorage":
                {
                    var src = MemoryMarshal.Cast<byte, int>(raw);
                    var l = new long[src.Length];
                    for (int i = 0; i < l.Length; i++) l[i] = src[i];
                    return torch.tensor(l, shape);
                }
            case "ByteStorage" or "BoolStorage": return torch.tensor(raw.Select(b => (long)b).ToArray(), shape);
            default: throw new InvalidOperationException($"storage type {s.Type} is allowed but has no reader");
        }
    }

    /// <summary>The tensor <paramref name="v"/> views in <paramref name="storage"/>, as its own contiguous tensor.</summary>
    static Tensor Materialise(Tensor storage, TorchPickle.TensorView v, bool shared, string path, string key)
    {
        long numel = 1, last = v.Offset;
        foreach (var d in v.Size) numel = checked(numel * d);
        for (int i = 0; i < v.Size.Length; i++)
            if (v.Size[i] > 0) last = checked(last + (v.Size[i] - 1) * v.Stride[i]);
        if (numel > 0 && last >= v.Storage.Numel)
            throw DistilException.BadInput(
                $"{path}: tensor '{key}' (size [{string.Join(", ", v.Size)}], stride [{string.Join(", ", v.Stride)}], offset {v.Offset}) reaches element {last} of a storage of {v.Storage.Numel}; the file is corrupt");
        if (numel == 0) return torch.zeros(v.Size, storage.dtype);
        var view = storage.as_strided(v.Size, v.Stride, v.Offset);
        // A view of the whole storage that no other tensor uses is the tensor itself; anything else is copied out, so
        // that tensors never alias each other and a slice does not keep its whole storage alive.
        if (!shared && numel == v.Storage.Numel && view.is_contiguous()) return view;
        using (view) return view.is_contiguous() ? view.clone() : view.contiguous();
    }
}
