using System.Security.Cryptography;
using Distil.Checkpoints;
using Distil.Data;
using Distil.Models;
using Distil.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Distil.Training;

/// <summary>
/// Teacher logits computed once per (teacher, dataset) and reused across runs (EasyNLP-style offline KD).
/// The file is keyed by a content hash of the teacher's weights and config and of the encoded examples, so editing
/// either invalidates it; it lives in a .distil-cache folder next to the data (or the user cache when that is
/// read-only) as safetensors with one tensor "logits" (N, C).
/// </summary>
public static class TeacherLogitsCache
{
    public static Tensor GetOrCompute(string teacherDir, EncoderClassifier teacher, IReadOnlyList<EncodedExample> examples,
        string dataPath, int batchSize, long padId, Device device, Action<string>? log = null)
    {
        string key = Key(teacherDir, examples);
        string path = Path.Combine(CacheDir(dataPath), $"teacher-logits-{key}.safetensors");
        if (File.Exists(path))
        {
            try
            {
                var cached = SafeTensors.Read(path);
                if (cached.TryGetValue("logits", out var hit) && hit.shape[0] == examples.Count)
                {
                    log?.Invoke($"teacher logits from cache {path}");
                    return hit;
                }
            }
            catch (DistilException) { } // a damaged cache file is recomputed, never trusted
        }
        var probs = Classifier.PredictLogits(teacher, examples, batchSize, padId, device);
        var logits = tensor(probs.SelectMany(r => r).ToArray()).view(examples.Count, -1);
        if (WriteFault.TryWriteCache(path, "teacher logits", () =>
                SafeTensors.Write(path, new[] { KeyValuePair.Create("logits", logits) }, new Dictionary<string, string> { ["format"] = "pt", ["teacher"] = Path.GetFullPath(teacherDir) }), log))
            log?.Invoke($"teacher logits cached in {path}");
        return logits;
    }

    /// <summary>SHA-256 of the teacher's config.json and model.safetensors and of every example's ids.</summary>
    public static string Key(string teacherDir, IReadOnlyList<EncodedExample> examples)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (string f in new[] { "config.json", "model.safetensors" })
        {
            using var s = File.OpenRead(Path.Combine(teacherDir, f));
            var buffer = new byte[1 << 20];
            int n;
            while ((n = s.Read(buffer, 0, buffer.Length)) > 0) sha.AppendData(buffer, 0, n);
        }
        foreach (var e in examples)
        {
            foreach (long id in e.InputIds) sha.AppendData(BitConverter.GetBytes(id));
            foreach (long t in e.TokenTypeIds) sha.AppendData(BitConverter.GetBytes(t));
            sha.AppendData(BitConverter.GetBytes(-1L)); // example separator
        }
        return Convert.ToHexString(sha.GetHashAndReset())[..16].ToLowerInvariant();
    }

    /// <summary>The .distil-cache folder next to the data file (the user cache folder when that is read-only).</summary>
    public static string CacheDir(string dataPath)
    {
        string beside = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(dataPath))!, ".distil-cache");
        try
        {
            Directory.CreateDirectory(beside);
            string probe = Path.Combine(beside, $".probe-{Environment.ProcessId}");
            File.WriteAllText(probe, "");
            File.Delete(probe);
            return beside;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            string user = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData), "distil", "teacher-cache");
            Directory.CreateDirectory(user);
            return user;
        }
    }
}
