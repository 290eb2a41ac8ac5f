namespace Distil.Bench.Summaries;

/// <summary>
/// Teacher rows on the whole test file (all three domains), from `distil eval --json` of each teacher, a markdown table
/// on stdout. The files are EVAL_DIR/{meta,mix,s-amazon,s-imdb,zs-meta}.json, e.g. for RUN = runs/metakd/s1:
/// <code>
/// for t in meta:RUN/meta-metakd/teacher/best mix:runs/bench-teacher/finetune/best s-amazon:RUN/single-tinybert/teacher-amazon/best \
///          s-imdb:RUN/single-tinybert/teacher-imdb/best zs-meta:RUN/zs-imdb-meta-metakd/teacher/best; do
///   distil eval --model ${t#*:} --data data/uci-sentiment/test.domain.tsv --max-seq-len 64 --threads 1 --metrics-json runs/metakd/teacher-eval/${t%%:*}.json; done
/// </code>
/// </summary>
public static class MetaKdTeachers
{
    static readonly (string Key, string Label)[] Names =
    [
        ("meta", "Meta-teacher (prototype weights + domain corruption, all 3 domains)"),
        ("mix", "BERT-mix (the bench teacher of bench/make-teacher.sh, all 3 domains)"),
        ("s-amazon", "BERT-s amazon (amazon only)"), ("s-imdb", "BERT-s imdb (imdb only)"),
        ("zs-meta", "Meta-teacher without imdb (1 epoch, amazon + yelp)"),
    ];

    public static int Summarize(string[] args)
    {
        if (args.Length < 1) { Console.Error.WriteLine("usage: summarize metakd-teachers EVAL_DIR"); return 2; }
        Console.WriteLine("| Teacher | amazon | imdb | yelp | all |\n|---|---|---|---|---|");
        foreach (var (key, label) in Names)
        {
            string p = Path.Combine(args[0], key + ".json");
            if (!File.Exists(p)) continue;
            var m = RunFiles.LoadEval(p);
            Console.WriteLine($"| {label} | " + string.Join(" | ", new[] { "amazon", "imdb", "yelp" }.Select(x => Py.Fixed(100 * m[$"accuracy_{x}"], 1))) + $" | {Py.Fixed(100 * m["accuracy"], 1)} |");
        }
        return 0;
    }
}
