// The CPU a benchmark ran on, from /proc/cpuinfo: model name, logical cores and the vector extensions that decide
// which kernels libtorch (oneDNN, MKL) and ONNX Runtime pick. Every bench result header starts with Header()
// (docs/quantization.md §Targets per ISA says why: int8 speed-ups differ by a factor ~1.4 between AVX2 and VNNI).
// bench/lib/machine.sh prints the same line for the shell scripts.
namespace Distil.Native;

/// <param name="Model">"model name" of the first processor.</param>
/// <param name="LogicalCores">Count of "processor" entries (the cores this process may see can be fewer).</param>
/// <param name="Flags">The first processor's "flags".</param>
public sealed record MachineInfo(string Model, int LogicalCores, IReadOnlySet<string> Flags)
{
    /// <summary>The extensions named in headers, in order: cpuinfo flag -> printed name.</summary>
    public static readonly (string Flag, string Name)[] Extensions =
    [
        ("avx2", "AVX2"), ("fma", "FMA"), ("avx_vnni", "AVX-VNNI"), ("avx512f", "AVX-512F"), ("avx512bw", "AVX-512BW"),
        ("avx512_vnni", "AVX-512 VNNI"), ("avx512_bf16", "AVX-512 BF16"), ("amx_tile", "AMX"), ("amx_int8", "AMX-INT8"), ("amx_bf16", "AMX-BF16"),
    ];

    /// <summary>The printed names of the extensions this CPU has, in <see cref="Extensions"/> order.</summary>
    public IReadOnlyList<string> VectorExtensions => Extensions.Where(e => Flags.Contains(e.Flag)).Select(e => e.Name).ToList();

    /// <summary>The widest int8 dot-product path: "AMX", "AVX-512 VNNI", "AVX-VNNI", "AVX-512", "AVX2" or "none".</summary>
    public string Int8Isa =>
        Flags.Contains("amx_int8") ? "AMX" :
        Flags.Contains("avx512_vnni") ? "AVX-512 VNNI" :
        Flags.Contains("avx_vnni") ? "AVX-VNNI" :
        Flags.Contains("avx512bw") ? "AVX-512" :
        Flags.Contains("avx2") ? "AVX2" : "none";

    /// <summary>One Markdown line: "CPU: AMD EPYC, 2 logical cores; AVX2, FMA, ..., AVX-512 VNNI (int8 path: AVX-512 VNNI)".</summary>
    public string Header()
    {
        var ext = VectorExtensions;
        return $"CPU: {Model}, {LogicalCores} logical cores; vector extensions: {(ext.Count > 0 ? string.Join(", ", ext) : "none of AVX2/AVX-512/VNNI/AMX")} (int8 path: {Int8Isa})";
    }

    /// <summary>Parses the text of /proc/cpuinfo (x86 Linux layout: "key\t: value" lines, a blank line between processors).</summary>
    public static MachineInfo Parse(string cpuinfo)
    {
        string? model = null, flags = null;
        int processors = 0;
        foreach (var raw in cpuinfo.Split('\n'))
        {
            int colon = raw.IndexOf(':');
            if (colon < 0) continue;
            string key = raw[..colon].Trim(), value = raw[(colon + 1)..].Trim();
            if (key == "processor") processors++;
            else if (key == "model name") model ??= value;
            else if (key == "flags") flags ??= value;
        }
        return new MachineInfo(model ?? "unknown CPU", processors,
            (flags ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal));
    }

    static readonly Lazy<MachineInfo> current = new(() =>
    {
        try
        {
            if (File.Exists("/proc/cpuinfo"))
            {
                var info = Parse(File.ReadAllText("/proc/cpuinfo"));
                return info.LogicalCores > 0 ? info : info with { LogicalCores = Environment.ProcessorCount };
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        return new MachineInfo("unknown CPU (no /proc/cpuinfo)", Environment.ProcessorCount, new HashSet<string>());
    });

    /// <summary>This machine (read once).</summary>
    public static MachineInfo Current => current.Value;
}
