using System.Security.Cryptography;
using Distil.Data;

namespace Distil.Checkpoints;

/// <summary>
/// Where derived files of a data set live (.distil-cache next to it, or the user cache folder when that is read-only),
/// and the content key of a teacher + encoded examples that names such a file (the teacher hidden-state cache, the
/// teacher probes; the default label store lives there too).
/// </summary>
public static class DataCache
{
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
