using System.CommandLine;
using System.Globalization;
using Distil.Cluster;
using Distil.Data;
using Distil.Deploy;
using Distil.Labels;
using Spectre.Console;

namespace Distil.Cli.Commands;

/// <summary>`distil label`: a teacher labels a corpus into a label store (docs/labelling.md).</summary>
public static class LabelCommand
{
    public static Command Create()
    {
        var teacher = new Option<string>("--teacher") { Description = OptionMeanings.Describe("--teacher", ", or its checked ONNX folder from `distil export` / `distil quantize` (run in ONNX Runtime)"), Required = true };
        var data = new Option<string>("--data") { Description = OptionMeanings.Describe("--data", ": the corpus (.txt a sentence per line, or .tsv/.csv/.jsonl with a text column); its labels are never read"), Required = true };
        var output = new Option<string>("--out") { Description = OptionMeanings.Describe("--out", ": the label store folder (created, or added to when it holds the same teacher's labels)"), Required = true };
        var format = OptionMeanings.Create<string?>("--format");
        var text = OptionMeanings.Create<string?>("--text-column");
        var pair = OptionMeanings.Create<string?>("--text-pair-column", "(labels sentence pairs)");
        var skip = OptionMeanings.Create<bool>("--skip-bad-rows", "(counted in the summary)");
        var resume = OptionMeanings.Create<bool>("--resume", "(finished shards are kept)");
        var maxLen = new Option<int>("--max-seq-len") { Description = OptionMeanings.Describe("--max-seq-len", "for the teacher (default 128)"), DefaultValueFactory = _ => 128 };
        var batch = new Option<int>("--batch-size") { Description = OptionMeanings.Describe("--batch-size", "of the teacher; rows are bucketed by length within a shard (default 64, the batch every command labels with, so the logits are the same bits)"), DefaultValueFactory = _ => ShardLabeller.DefaultBatchSize };
        var shardRows = new Option<int>("--rows-per-shard") { Description = $"Rows per shard file, the unit of resume and of cluster work (default {LabelJob.DefaultRowsPerShard})", DefaultValueFactory = _ => LabelJob.DefaultRowsPerShard };
        var hidden = new Option<string?>("--hidden-layers") { Description = "Also keep these teacher hidden states (fp16, every token), e.g. 0,2,4 (0 = embedding output; layer l-1 is layer l's attention input); TorchSharp teacher only" };
        var engine = new Option<string>("--engine") { Description = "Teacher engine: auto (ONNX Runtime for an ONNX folder, TorchSharp for a classifier folder), torch or onnx", DefaultValueFactory = _ => "auto" };
        var threads = OptionMeanings.Create<int?>("--threads", "of Torch or ONNX Runtime (default: all cores)");
        var cluster = OptionMeanings.Create<string?>("--cluster", "(default: label here); shards go to the cluster's workers, which need the teacher folder at the same path, and their results come back to this process, the only writer of the store");
        var lease = WorkerCommand.LeaseOption();
        var cmd = new Command("label", """
            Label a corpus with a teacher into a label store: shards of fp32 logits (and, with --hidden-layers, fp16
            hidden states), addressed by teacher + tokenizer + text, so a sentence the store holds is never labelled
            again. Streamed shard by shard; an interrupted run continues with --resume. `distil search --transfer STORE`
            trains on the store's rows.

            With --cluster the shards are labelled by the workers of an Orleans cluster (`distil worker`); see docs/cluster.md.

            Examples:
              distil label --teacher runs/ft/best --data data/wordnet-sentences/sentences.txt --out runs/labels
              distil label --teacher runs/ft/best --data sentences.txt --out runs/labels --cluster redis://10.0.0.5:6379
            """);
        foreach (var o in new Option[] { teacher, data, output, format, text, pair, skip, resume, maxLen, batch, shardRows, hidden, engine, threads, cluster, lease })
            cmd.Options.Add(o);
        RetiredNames.AddTo(cmd);
        cmd.SetAction(async (r, cancel) =>
        {
            var layers = ParseLayers(r.GetValue(hidden));
            int? n = r.GetValue(threads);
            CommonOptions.Setup("cpu", n);
            using var t = LabelTeachers.Open(r.GetValue(teacher)!, r.GetValue(engine)!, r.GetValue(maxLen), layers, n ?? Environment.ProcessorCount);
            Column? C(Option<string?> o) => r.GetValue(o) is string s ? Column.Parse(s) : null;
            string? fmt = r.GetValue(format);
            string corpus = r.GetValue(data)!;
            var job = new LabelJob(corpus, t.Spec, r.GetValue(shardRows), new ColumnMapping(C(text), C(pair)), fmt != null ? DataFormats.Parse(fmt) : null, r.GetValue(skip));
            job.Validate();
            var store = LabelStore.OpenOrCreate(r.GetValue(output)!, t.Spec);
            LabelRun.CheckResume(store, job, r.GetValue(resume));
            long total = EstimateRows(corpus);
            AnsiConsole.MarkupLineInterpolated($"label: {t.Spec.Engine} teacher {t.Spec.TeacherPath}, about {total} rows of {corpus} into {store.Dir}");
            LabelResult result;
            if (r.GetValue(cluster) is { } url)
            {
                var (client, grains) = await WorkerCommand.ConnectAsync(url, cancel);
                using (client)
                    result = LabelProgressBar.Run(total, report => ClusterLabelRun.Run(grains, job, store, r.GetValue(teacher)!, r.GetValue(engine)!, layers,
                        r.GetValue(resume), r.GetValue(batch), r.GetValue(lease), m => Console.WriteLine(m), report, cancel));
            }
            else result = LabelProgressBar.Run(total, report => LabelRun.Run(job, store, t, r.GetValue(resume), r.GetValue(batch), report));
            AnsiConsole.MarkupLineInterpolated($"{result.RowsLabelled} rows labelled in {result.Seconds:F1} s ({result.RowsPerSecond:F1} rows/s); {result.Shards} shards ({result.ShardsSkipped} done before); {result.Duplicates} rows already in the store or repeated; {result.BadRows} bad rows skipped");
            return ExitCodes.Ok;
        });
        return cmd;
    }

    static int[] ParseLayers(string? s)
    {
        if (string.IsNullOrWhiteSpace(s)) return [];
        return s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(x =>
            int.TryParse(x, NumberStyles.None, CultureInfo.InvariantCulture, out int l) ? l : throw DistilException.Usage($"--hidden-layers {s}: '{x}' is not a layer number (e.g. 0,2,4)")).ToArray();
    }

    /// <summary>Non-blank lines (less a header for tabular files): the progress bar's total, read at disk speed before labelling.</summary>
    static long EstimateRows(string path)
    {
        if (!File.Exists(path)) return 0;
        long lines = 0;
        foreach (var l in File.ReadLines(path)) if (!string.IsNullOrWhiteSpace(l)) lines++;
        bool header = !Path.GetExtension(path).Equals(".txt", StringComparison.OrdinalIgnoreCase) && !Path.GetExtension(path).Equals(".jsonl", StringComparison.OrdinalIgnoreCase);
        return Math.Max(0, header ? lines - 1 : lines);
    }
}

/// <summary>Labelling progress: a bar with rows/s and ETA on a terminal, a line per few shards otherwise.</summary>
static class LabelProgressBar
{
    public static LabelResult Run(long totalRows, Func<Action<LabelProgress>, LabelResult> work)
    {
        if (!TrainingProgress.Interactive)
        {
            var last = DateTime.MinValue;
            return work(p =>
            {
                if ((DateTime.UtcNow - last).TotalSeconds < 10) return;
                last = DateTime.UtcNow;
                Console.WriteLine(Line(p, totalRows));
            });
        }
        LabelResult result = null!;
        AnsiConsole.Progress().AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask("label", maxValue: Math.Max(1, totalRows));
                result = work(p => { task.Value = Math.Min(p.RowsSeen, task.MaxValue); task.Description = Markup.Escape(Line(p, totalRows)); });
                task.Value = task.MaxValue;
            });
        return result;
    }

    public static string Line(LabelProgress p, long total)
    {
        double rate = p.Elapsed.TotalSeconds > 0 ? p.RowsLabelled / p.Elapsed.TotalSeconds : 0;
        double seenRate = p.Elapsed.TotalSeconds > 0 ? p.RowsSeen / p.Elapsed.TotalSeconds : 0;
        string eta = seenRate > 0 && total > p.RowsSeen ? TimeSpan.FromSeconds((total - p.RowsSeen) / seenRate).ToString(@"hh\:mm\:ss", CultureInfo.InvariantCulture) : "-";
        return $"label: {p.RowsSeen}/{total} rows, {p.ShardsDone} shards, {rate:F1} rows/s, ETA {eta}";
    }
}
