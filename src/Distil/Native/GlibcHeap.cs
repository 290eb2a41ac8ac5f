using System.Runtime.InteropServices;

namespace Distil.Native;

/// <summary>
/// Returns freed memory to the OS. Tensors of varying sizes are freed with free(); glibc keeps much of it in its arenas,
/// so RSS creeps up over a long run without any leak (bench/results/memory-diagnosis.md: +18-27% from step 100 to
/// step 1,000). A collection plus malloc_trim every 100 steps keeps it flat (bench/results/memory-trainer.md: 0.97).
/// malloc_trim is glibc-only; elsewhere only the collection runs.
/// </summary>
public static class GlibcHeap
{
    static bool unavailable = !OperatingSystem.IsLinux();

    [DllImport("libc", EntryPoint = "malloc_trim")]
    static extern int MallocTrim(nuint pad);

    /// <summary>A full managed collection first (its freed native buffers then go back too), then malloc_trim.</summary>
    public static void Trim()
    {
        GC.Collect();
        if (unavailable) return;
        try { MallocTrim(0); }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { unavailable = true; } // musl, no glibc
    }
}
