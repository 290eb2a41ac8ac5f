using System.Runtime.InteropServices;

namespace Distil.Native;

/// <summary>
/// Returns freed heap memory to the OS on glibc. Tensors of varying sizes are freed with free(); glibc keeps much of it
/// in its arenas, so RSS creeps up over a long run without any leak (bench/results/memory-diagnosis.md: +24% from
/// step 100 to step 1,000, back to flat with a trim every 100 steps at ~14 ms per call). Elsewhere this does nothing.
/// </summary>
public static class GlibcHeap
{
    static bool unavailable = !OperatingSystem.IsLinux();

    [DllImport("libc", EntryPoint = "malloc_trim")]
    static extern int MallocTrim(nuint pad);

    public static void Trim()
    {
        if (unavailable) return;
        try { MallocTrim(0); }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { unavailable = true; } // musl, no glibc
    }
}
