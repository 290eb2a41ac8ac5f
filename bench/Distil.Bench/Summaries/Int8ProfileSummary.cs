using System.Text.Json;
using System.Text.Json.Serialization;

namespace Distil.Bench.Summaries;

/// <summary>
/// The GEMM / non-GEMM split of ort-profile JSON files (`ort-profile --out ...`, OrtProfile.cs): linear-layer GEMMs
/// (fp32 MatMul minus the attention MatMul that int8 leaves in float, + Gemm; int8 DynamicQuantizeMatMul +
/// MatMulIntegerToFloat + DynamicQuantizeLinear + Split) against the rest, and the GEMM speed-up that 1.8x / 2x
/// overall would need with that rest. Lines on stdout (bench/results/int8-speed.md quotes them).
/// </summary>
public static class Int8ProfileSummary
{
    public sealed record ProfileFile([property: JsonPropertyName("load_average_before")] string LoadAverageBefore,
        [property: JsonPropertyName("shapes")] IReadOnlyList<ProfileShape> Shapes);

    public sealed record ProfileShape([property: JsonPropertyName("batch")] int Batch, [property: JsonPropertyName("seq")] int Seq,
        [property: JsonPropertyName("models")] IReadOnlyList<ProfileModel> Models);

    public sealed record ProfileModel([property: JsonPropertyName("name")] string Name, [property: JsonPropertyName("run_ms_median")] double RunMsMedian,
        [property: JsonPropertyName("kernel_ms_per_run")] double KernelMsPerRun, [property: JsonPropertyName("ops")] IReadOnlyDictionary<string, double> Ops);

    static readonly string[] Int8Gemm = ["DynamicQuantizeMatMul", "MatMulIntegerToFloat", "DynamicQuantizeLinear", "Split"];

    public static IEnumerable<string> Lines(string path, ProfileFile j)
    {
        string load = j.LoadAverageBefore;
        yield return $"## {path.Split('/')[^1]} {load[..Math.Min(14, load.Length)]}";
        foreach (var sh in j.Shapes)
        {
            var ms = new Dictionary<string, ProfileModel>();
            var order = new List<string>();
            foreach (var m in sh.Models) { if (!ms.ContainsKey(m.Name)) order.Add(m.Name); ms[m.Name] = m; }
            var fp = ms["fp32"];
            foreach (string name in order)
            {
                if (name == "fp32" || name.Contains("fused")) continue;
                var m = ms[name];
                double Op(ProfileModel x, string k) => x.Ops.GetValueOrDefault(k, 0);
                double av = Op(m, "MatMul");
                double g8 = Int8Gemm.Aggregate(0.0, (s, k) => s + Op(m, k));
                double gf = Op(fp, "MatMul") - av + Op(fp, "Gemm");
                double nf = fp.KernelMsPerRun - gf, n8 = m.KernelMsPerRun - g8;
                double Need(double factor) => fp.KernelMsPerRun / factor > n8 ? gf / (fp.KernelMsPerRun / factor - n8) : double.PositiveInfinity;
                yield return $"b{sh.Batch} s{sh.Seq} {name}: linear GEMMs fp32 {Py.Fixed(gf, 2)} int8 {Py.Fixed(g8, 2)} -> {Py.Fixed(gf / g8, 2)}x; " +
                    $"rest fp32 {Py.Fixed(nf, 2)} int8 {Py.Fixed(n8, 2)} ({Py.Fixed(100 * n8 / m.KernelMsPerRun, 0)}% of int8); total {Py.Fixed(fp.KernelMsPerRun / m.KernelMsPerRun, 2)}x " +
                    $"(wall {Py.Fixed(fp.RunMsMedian / m.RunMsMedian, 2)}x); needed GEMM speed-up for 1.8x/2x with this rest: {Py.Fixed(Need(1.8), 2)}x / {Py.Fixed(Need(2), 2)}x";
            }
        }
    }

    public static int Summarize(string[] args)
    {
        foreach (string f in args)
            foreach (string line in Lines(f, JsonSerializer.Deserialize<ProfileFile>(File.ReadAllText(f), RunFiles.Options)!))
                Console.WriteLine(line);
        return 0;
    }
}
