using System.Diagnostics;
using Distil.Checkpoints;

namespace Distil.Bench;

/// <summary>
/// `load-formats DIR...`: the wall time of <see cref="WeightFiles.Read"/> on each model folder (median of 3 after
/// nothing else: the OS file cache is warm from the writer), one Markdown table row per folder (bench/load-formats.sh).
/// </summary>
static class LoadFormats
{
    public static int Run(string[] folders)
    {
        if (folders.Length == 0) { Console.Error.WriteLine("usage: load-formats FOLDER..."); return 2; }
        Console.WriteLine("| folder | tensors | parameters | median s (3 reads) | all reads s |");
        Console.WriteLine("|---|---:|---:|---:|---|");
        foreach (string folder in folders)
        {
            var times = new List<double>();
            long parameters = 0; int count = 0;
            for (int i = 0; i < 3; i++)
            {
                var sw = Stopwatch.StartNew();
                var (tensors, _) = WeightFiles.Read(folder);
                sw.Stop();
                times.Add(sw.Elapsed.TotalSeconds);
                parameters = tensors.Values.Sum(t => t.numel());
                count = tensors.Count;
                foreach (var t in tensors.Values) t.Dispose();
                GC.Collect();
            }
            var sorted = times.Order().ToList();
            Console.WriteLine($"| {Path.GetFileName(folder)} | {count} | {parameters:N0} | {sorted[1]:F2} | {string.Join(", ", times.Select(t => t.ToString("F2")))} |");
        }
        return 0;
    }
}
