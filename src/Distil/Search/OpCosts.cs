using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Distil.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Distil.Search;

/// <summary>
/// Measured batch-1 latency of each candidate op at the student's shape (1, H, T) on this CPU, in ms, in op order
/// (beyond the paper: it used parameter and FLOP counts). `zero` costs 0 by definition (it is never run in a
/// derived model). <see cref="Normalised"/> turns them into the c_o of L_E (docs/adabert.md §Efficiency loss).
/// </summary>
public sealed record OpCosts(
    [property: JsonPropertyName("milliseconds")] double[] Milliseconds,
    [property: JsonPropertyName("hidden_size")] int Hidden,
    [property: JsonPropertyName("seq_len")] int SeqLen,
    [property: JsonPropertyName("threads")] int Threads,
    [property: JsonPropertyName("machine")] string Machine)
{
    /// <summary>
    /// The c_o of L_E. "softmax" (default) is the paper's normalisation (docs/adabert.md §Efficiency loss, c_o = softmax_o(SIZE_o/1e5),
    /// the scale putting the costliest ops near 1) with the measured latency divided by the costliest op's in the role
    /// of SIZE/1e5: c_o = softmax_o(t_o / t_max), so the costs sum to 1 and the costliest op costs at most e (2.7x) times
    /// a free one. The paper's own vector differs by 14% between ops; here the convolutions that matter cost
    /// 0.09-0.11 against 0.07 for identity, dil_conv7 0.19. "max" is t_o / t_max: costs from 0 to 1, identity 0, and
    /// beta 4 then outweighs the CE/KD gain of any convolution; every seed of bench/results/adabert-maxnorm.json collapsed to
    /// identity cells with it (kept to show that, `search.cost_normalisation`).
    /// </summary>
    public double[] Normalised(string mode = "softmax")
    {
        double max = Milliseconds.Max();
        var x = Milliseconds.Select(m => m / max).ToArray();
        if (mode == "max") return x;
        if (mode != "softmax") throw DistilException.Usage($"search.cost_normalisation '{mode}' must be 'softmax' or 'max'");
        var e = x.Select(Math.Exp).ToArray();
        return e.Select(v => v / e.Sum()).ToArray();
    }

    /// <summary>Given costs (tests, or a cost table from another machine).</summary>
    public static OpCosts Fixed(double[] ms, int hidden = 0, int seqLen = 0)
    {
        if (ms.Length != SearchSpace.Ops.Count || ms.Any(m => m < 0 || !double.IsFinite(m)) || ms.Max() <= 0)
            throw DistilException.Usage($"op costs need {SearchSpace.Ops.Count} non-negative numbers, not all zero");
        return new OpCosts(ms, hidden, seqLen, get_num_threads(), MachineId());
    }

    /// <summary>Median of <paramref name="runs"/> timed forwards per op after warm-up, in eval mode.</summary>
    public static OpCosts Measure(int hidden, int seqLen, int runs = 40, int warmup = 5)
    {
        var ms = new double[SearchSpace.Ops.Count];
        using var x = randn(1, hidden, seqLen);
        using var mask = ones(1, 1, seqLen);
        using var _ = no_grad();
        for (int o = 0; o < ms.Length; o++)
        {
            if (SearchSpace.Ops[o] == "zero") continue;
            using var op = CellOps.Create(SearchSpace.Ops[o], hidden, affine: true);
            op.eval();
            var times = new List<double>();
            for (int i = 0; i < warmup + runs; i++)
            {
                using var scope = NewDisposeScope();
                var clock = Stopwatch.StartNew();
                op.forward(x, mask);
                if (i >= warmup) times.Add(clock.Elapsed.TotalMilliseconds);
            }
            times.Sort();
            ms[o] = times[times.Count / 2];
        }
        return new OpCosts(ms, hidden, seqLen, get_num_threads(), MachineId());
    }

    /// <summary>Measured once per (machine, threads, hidden, length) and cached in the user's cache folder.</summary>
    public static OpCosts GetOrMeasure(int hidden, int seqLen, string? cacheDir = null, Action<string>? log = null)
    {
        cacheDir ??= Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData), "distil", "op-costs");
        string machine = MachineId();
        string id = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(machine)))[..12].ToLowerInvariant();
        // "k2": convolutions time ShiftedConv1d's no-grad kernel (conv1d where verified); costs cached before are stale.
        string path = Path.Combine(cacheDir, $"op-costs-k2-{id}-t{get_num_threads()}-h{hidden}-l{seqLen}.json");
        if (File.Exists(path))
        {
            try
            {
                var cached = JsonSerializer.Deserialize<OpCosts>(File.ReadAllText(path));
                if (cached is { Milliseconds.Length: 10 } && cached.Machine == machine)
                {
                    log?.Invoke($"op costs from cache {path}");
                    return cached;
                }
            }
            catch (JsonException) { } // a damaged cache file is measured again
        }
        var costs = Measure(hidden, seqLen);
        try
        {
            Directory.CreateDirectory(cacheDir);
            Reports.RunFolder.WriteAtomic(path, JsonSerializer.Serialize(costs, new JsonSerializerOptions { WriteIndented = true }));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { log?.Invoke($"op costs not cached ({e.Message})"); }
        log?.Invoke("op costs measured (ms, batch 1): " + string.Join(", ", SearchSpace.Ops.Select((o, i) => $"{o} {costs.Milliseconds[i]:F3}")));
        return costs;
    }

    /// <summary>CPU model, core count and the torch thread count: what the timings depend on.</summary>
    public static string MachineId()
    {
        string cpu = "unknown cpu";
        try
        {
            if (File.Exists("/proc/cpuinfo"))
                cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name"))?.Split(':', 2)[1].Trim() ?? cpu;
        }
        catch (IOException) { }
        return $"{cpu}; {Environment.ProcessorCount} cores; {get_num_threads()} torch threads; {Environment.OSVersion}";
    }
}
