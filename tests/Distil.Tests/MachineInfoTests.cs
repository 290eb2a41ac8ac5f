using System.Diagnostics;
using Distil.Native;
using Xunit;

namespace Distil.Tests;

/// <summary>
/// The bench header's CPU line (<see cref="MachineInfo"/>) from hand-written /proc/cpuinfo text: an AVX2-only desktop
/// part and an AVX-512 VNNI server part (abridged flag lists as Linux prints them), and bench/lib/machine.sh (awk) must
/// print the same line as the C# parser for the same file.
/// </summary>
public sealed class MachineInfoTests : IDisposable
{
    readonly TempDir tmp = new();
    public void Dispose() => tmp.Dispose();

    // Two logical processors, as /proc/cpuinfo lists them: "key<TAB>: value", a blank line between processors.
    const string Avx2Only = """
        processor	: 0
        vendor_id	: GenuineIntel
        model name	: Intel(R) Core(TM) i7-8700 CPU @ 3.20GHz
        flags		: fpu vme de pse tsc msr pae mce cx8 sse sse2 ssse3 fma cx16 sse4_1 sse4_2 popcnt aes xsave avx f16c rdrand avx2 bmi1 bmi2 erms

        processor	: 1
        vendor_id	: GenuineIntel
        model name	: Intel(R) Core(TM) i7-8700 CPU @ 3.20GHz
        flags		: fpu vme de pse tsc msr pae mce cx8 sse sse2 ssse3 fma cx16 sse4_1 sse4_2 popcnt aes xsave avx f16c rdrand avx2 bmi1 bmi2 erms

        """;

    // Four processors; AVX-512 with VNNI and BF16 but no AMX (the flags of a Zen 4 EPYC).
    const string Avx512Vnni = """
        processor	: 0
        model name	: AMD EPYC 9454 48-Core Processor
        flags		: fpu sse sse2 ssse3 fma sse4_1 sse4_2 avx f16c avx2 bmi2 avx512f avx512dq avx512ifma avx512cd avx512bw avx512vl avx512_bf16 avx512vbmi avx512_vnni avx512_bitalg

        processor	: 1
        model name	: AMD EPYC 9454 48-Core Processor
        flags		: fpu sse sse2 ssse3 fma sse4_1 sse4_2 avx f16c avx2 bmi2 avx512f avx512dq avx512ifma avx512cd avx512bw avx512vl avx512_bf16 avx512vbmi avx512_vnni avx512_bitalg

        processor	: 2
        model name	: AMD EPYC 9454 48-Core Processor
        flags		: fpu sse sse2 ssse3 fma sse4_1 sse4_2 avx f16c avx2 bmi2 avx512f avx512dq avx512ifma avx512cd avx512bw avx512vl avx512_bf16 avx512vbmi avx512_vnni avx512_bitalg

        processor	: 3
        model name	: AMD EPYC 9454 48-Core Processor
        flags		: fpu sse sse2 ssse3 fma sse4_1 sse4_2 avx f16c avx2 bmi2 avx512f avx512dq avx512ifma avx512cd avx512bw avx512vl avx512_bf16 avx512vbmi avx512_vnni avx512_bitalg

        """;

    [Fact]
    public void Avx2OnlyCpuHasNoAvx512AndTheAvx2Int8Path()
    {
        var m = MachineInfo.Parse(Avx2Only);
        Assert.Equal("Intel(R) Core(TM) i7-8700 CPU @ 3.20GHz", m.Model);
        Assert.Equal(2, m.LogicalCores);
        Assert.Equal(["AVX2", "FMA"], m.VectorExtensions);
        Assert.Equal("AVX2", m.Int8Isa);
        Assert.Equal("CPU: Intel(R) Core(TM) i7-8700 CPU @ 3.20GHz, 2 logical cores; vector extensions: AVX2, FMA (int8 path: AVX2)", m.Header());
    }

    [Fact]
    public void Avx512VnniCpuNamesVnniAndNoAmx()
    {
        var m = MachineInfo.Parse(Avx512Vnni);
        Assert.Equal("AMD EPYC 9454 48-Core Processor", m.Model);
        Assert.Equal(4, m.LogicalCores);
        Assert.Equal(["AVX2", "FMA", "AVX-512F", "AVX-512BW", "AVX-512 VNNI", "AVX-512 BF16"], m.VectorExtensions);
        Assert.DoesNotContain("AMX", m.VectorExtensions);
        Assert.Equal("AVX-512 VNNI", m.Int8Isa);
        // avx512vnni-like substrings must not count: "avx512vbmi" is not "avx512_vnni", "avx512f" is not "avx512fp16".
        Assert.Equal("AVX-512", MachineInfo.Parse(Avx512Vnni.Replace(" avx512_vnni", "")).Int8Isa);
    }

    [Fact]
    public void AmxFlagsGiveTheAmxInt8Path()
    {
        var m = MachineInfo.Parse(Avx512Vnni.Replace("avx512_bitalg", "avx512_bitalg amx_bf16 amx_tile amx_int8"));
        Assert.Equal("AMX", m.Int8Isa);
        Assert.Equal(["AMX", "AMX-INT8", "AMX-BF16"], m.VectorExtensions.TakeLast(3));
    }

    [Fact]
    public void TextWithoutCpuLinesGivesAnUnknownCpuAndNoExtensions()
    {
        var m = MachineInfo.Parse("Processor\t: ARMv7 Processor rev 4 (v7l)\nFeatures\t: half thumb fastmult vfp edsp neon\n");
        Assert.Equal("unknown CPU", m.Model);
        Assert.Equal("none", m.Int8Isa);
        Assert.Contains("none of AVX2/AVX-512/VNNI/AMX", m.Header());
    }

    [Theory]
    [InlineData("avx2")]
    [InlineData("avx512")]
    public void MachineShPrintsTheSameLineAsTheParser(string which)
    {
        string text = which == "avx2" ? Avx2Only : Avx512Vnni;
        string file = Path.Combine(tmp.Path, "cpuinfo");
        File.WriteAllText(file, text);
        string script = Path.Combine(PythonReference.Folder, "..", "..", "bench", "lib", "machine.sh");
        var psi = new ProcessStartInfo("bash", ["-c", "source \"$0\" && machine_header \"$1\"", script, file]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        string stdout = p.StandardOutput.ReadToEnd(), stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, stderr);
        Assert.Equal(MachineInfo.Parse(text).Header(), stdout.TrimEnd('\n'));
    }
}
