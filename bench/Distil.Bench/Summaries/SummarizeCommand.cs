namespace Distil.Bench.Summaries;

/// <summary>
/// `dotnet run --project bench/Distil.Bench -c Release -- summarize KIND ARGS...`: the tables of bench/results/ from
/// the run folders the bench scripts leave (each KIND's usage is printed when its arguments are missing). The output
/// files are the ones the bench's former Python scripts wrote, byte for byte (numbers formatted as Python did).
/// </summary>
public static class SummarizeCommand
{
    /// <summary>The teacher every bench uses by default (bench/make-teacher.sh makes it).</summary>
    public const string DefaultTeacher = "runs/bench-teacher/finetune/best";

    static readonly (string Kind, string Usage, Func<string[], int> Main)[] Kinds =
    [
        ("kd-presets", "WORK OUT_PREFIX [SETTINGS] [--teacher-dir DIR]: bench/kd-presets.sh runs -> OUT_PREFIX.{md,json}", KdPresetsSummary.Summarize),
        ("albert", "[WORK] [--teacher-dir DIR]: bench/albert.sh runs -> bench/results/albert.{md,json}", AlbertSummary.Summarize),
        ("l2a", "WORK OUT_PREFIX: bench/l2a.sh runs -> OUT_PREFIX.{md,json}", L2aSummary.Summarize),
        ("adabert", "RUN...: bench/adabert/run.sh seeds -> $RESULTS.{json,table.md} (RESULTS default bench/results/adabert)", AdaBertSummary.Summarize),
        ("adabert-variant", "NAME RUN: one line of bench/adabert/retrain-variants.sh (dev, test, retrain s, genotype)", AdaBertVariant.Summarize),
        ("metakd", "OUT_DIR [RESULTS_PREFIX]: bench/metakd/run.sh runs -> RESULTS_PREFIX.{md,json} (default bench/results/metakd)", MetaKdTable.Summarize),
        ("metakd-partial", "OUT_DIR SEED: `distil eval` of the students that finished in unfinished runs -> RUN/results-partial.json", MetaKdPartial.Summarize),
        ("metakd-teachers", "EVAL_DIR: teacher rows on the whole test file from `distil eval --json` files (markdown on stdout)", MetaKdTeachers.Summarize),
        ("memory-estimate", "ROW... [--out PREFIX]: bench/memory-estimate.sh rows (name|args|estimate MB|peak MB|line) -> PREFIX.{md,json}", MemoryEstimateSummary.Summarize),
        ("int8-profile", "FILE.json...: the GEMM / non-GEMM split of ort-profile files (stdout)", Int8ProfileSummary.Summarize),
    ];

    public static int Run(string[] args)
    {
        var kind = args.Length > 0 ? Kinds.FirstOrDefault(k => k.Kind == args[0]) : default;
        if (kind.Main is null)
        {
            Console.Error.WriteLine(args.Length > 0 ? $"summarize: unknown kind '{args[0]}'" : "summarize: which table?");
            foreach (var k in Kinds) Console.Error.WriteLine($"  summarize {k.Kind} {k.Usage}");
            return 2;
        }
        return kind.Main(args[1..]);
    }

    /// <summary>Splits off --teacher-dir DIR (the teacher folder the table names; the bench scripts pass their TEACHER).</summary>
    public static (List<string> Positional, string TeacherDir) TeacherDir(string[] args)
    {
        var rest = new List<string>();
        string teacher = DefaultTeacher;
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] == "--teacher-dir" && i + 1 < args.Length) teacher = args[++i];
            else rest.Add(args[i]);
        }
        return (rest, teacher);
    }

    public static string UtcNow() => DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture);
}
