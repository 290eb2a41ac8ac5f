using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Distil.Augment.L2A;
using Distil.Data;
using Distil.Distillation;
using Distil.FineTune;
using Distil.MetaKD;
using Distil.Pipelines;
using Distil.Reports;
using Distil.Search;
using Distil.Training;
using Spectre.Console;
using static TorchSharp.torch;

namespace Distil.Cli.Commands;

/// <summary>
/// The demo's AdaBERT, Meta-KD, L2A and token-task steps: the same library pipelines as `distil search`, `distil metakd`,
/// `distil l2a`, `distil finetune` and `distil distill`, with settings short enough for a first look on a laptop (each
/// a few minutes on 2 cores). Each step is its own run folder under the demo folder and resumes with `distil demo --resume`.
/// </summary>
public static class DemoSteps
{
    /// <summary>
    /// AdaBERT (`distil search`) from the demo's fine-tuned teacher: a short differentiable search of the CNN cell and
    /// depth (K_max 8, hidden 128, the paper's loss with measured op latencies), derive, retrain on the training rows
    /// plus <see cref="AdaBertTransferRows"/> WordNet sentences labelled by the teacher (when data/wordnet-sentences
    /// sits next to the data folder). The setting was chosen by the tries in bench/results/adabert-demo.md; the full
    /// bench (a 15-epoch search, the whole 45k transfer set, 3 seeds) is bench/results/adabert.md.
    /// </summary>
    public static SearchRunResult AdaBert(string root, string teacher, DataSettings data, int? threads, int maxSteps, bool resume, Device device,
        string? transferFile)
    {
        bool transfer = transferFile != null && File.Exists(transferFile);
        var defaults = new SearchConfig();
        var c = new SearchConfig
        {
            Teacher = teacher, Data = data, Out = Path.Combine(root, "adabert"), Threads = threads, LogEverySteps = 5,
            Search = defaults.Search with { KMax = AdaBertKMax, HiddenSize = AdaBertHidden, ArchLearningRate = AdaBertArchLearningRate, Pooling = AdaBertTokenPooling },
            SearchTraining = defaults.SearchTraining with { Epochs = AdaBertSearchEpochs, MaxSteps = maxSteps },
            Retrain = defaults.Retrain with
            {
                Temperature = AdaBertRetrainTemperature,
                Training = defaults.Retrain.Training with { Epochs = AdaBertRetrainEpochs, MaxSteps = maxSteps },
                Transfer = transfer ? new Distil.Augment.TransferOptions { Path = transferFile, MaxRows = AdaBertTransferRows } : new(),
            },
        };
        c.Validate();
        bool resuming = resume && Directory.Exists(c.Out);
        var run = RunFolder.Create(c.Out!, "search", Resolved(c), resuming);
        var result = run.Run(() => TrainingProgress.Run("search", p => SearchPipeline.Run(c, new RunContext(run, resuming, device, p, Console.WriteLine))));
        var (t, s) = (result.Teacher, result.Student);
        AnsiConsole.MarkupLineInterpolated($"    derived {result.Genotype} ({CellKind(result.Genotype)})");
        AnsiConsole.MarkupLineInterpolated($"    {s.Name}: test {Pct(s.Test?["accuracy"] ?? double.NaN)} vs the teacher's {Pct(t.Test?["accuracy"] ?? double.NaN)}, {t.LatencyMs / s.LatencyMs:F1}x faster at batch 1; search {result.Search.Seconds:F0} s, retrain {result.RetrainSeconds:F0} s  ({run.ReportPath})");
        return result;
    }

    /// <summary>The demo's AdaBERT setting (bench/results/adabert-demo.md).</summary>
    public const int AdaBertKMax = 8, AdaBertHidden = 128, AdaBertSearchEpochs = 1, AdaBertRetrainEpochs = 2, AdaBertTransferRows = 4000;
    public const double AdaBertArchLearningRate = 1e-2, AdaBertRetrainTemperature = 4;
    public const string AdaBertTokenPooling = "mean";

    /// <summary>Whether a derived cell keeps any operation with weights or a pooling (not only identity edges).</summary>
    public static string CellKind(Distil.Models.Genotype g)
    {
        var ops = g.Edges.Select(e => e.Edge.Op).Where(o => o != "identity").Distinct().ToList();
        return ops.Count == 0 ? "identity edges only: a bag of projected embeddings" : "keeps " + string.Join(", ", ops);
    }

    public static void ReportAdaBert(ReportWriter w, SearchRunResult r)
    {
        w.Paragraph("## AdaBERT: a searched CNN student (short settings)\n\n" +
                    $"`distil search` from the fine-tuned teacher: a {AdaBertSearchEpochs}-epoch differentiable search of the cell and depth " +
                    $"(up to {AdaBertKMax} cells of width {AdaBertHidden}, 10 candidate ops, probe KD from every teacher layer, measured op latencies in the efficiency loss; " +
                    $"{r.Search.Seconds:F0} s, architecture kept from step {r.Search.Step}), then the derived CNN retrained {AdaBertRetrainEpochs} epochs with KD at temperature " +
                    $"{AdaBertRetrainTemperature} on the training rows plus {AdaBertTransferRows} WordNet sentences labelled by the teacher, when data/wordnet-sentences " +
                    $"is next to the data folder ({r.RetrainSeconds:F0} s). Derived architecture: **{r.Genotype}** ({CellKind(r.Genotype)}). " +
                    "`bench/results/adabert.md` has the longer search and the whole transfer set over 3 seeds; `bench/results/adabert-demo.md` the tries behind this setting.");
        w.Image("derived AdaBERT cell", "adabert/cell.png");
    }

    /// <summary>
    /// Meta-teacher fine-tuned from the pre-trained encoder on all three domains (prototype weights + domain-corruption
    /// loss), then one L2-H384 student for all domains by meta-distillation. One teacher epoch and one epoch per student
    /// stage: `bench/metakd/run.sh` has the full comparison with the baselines.
    /// </summary>
    public static MetaKdResult MetaKd(string root, string encoder, DataSettings data, int? threads, int maxSteps, bool resume, Device device)
    {
        var c = new MetaKdConfig
        {
            Teacher = encoder, Domains = "amazon,imdb,yelp", TeacherMode = "meta", Distill = "metakd", StudentScope = "all",
            Student = "L2-H384", Init = "model", Stage1Epochs = 1, Stage2Epochs = 1, Stage1LearningRate = 1e-4, Stage2LearningRate = 1e-4,
            Data = data with { DomainColumn = "domain" }, Out = Path.Combine(root, "metakd"), Threads = threads, LogEverySteps = 2,
            Training = new TrainingOptions { Epochs = 1, BatchSize = 32, LearningRate = 1e-4, WarmupRatio = 0.1, MaxSteps = maxSteps, EvalEverySteps = 22 },
        };
        c.Validate();
        bool resuming = resume && Directory.Exists(c.Out);
        var run = RunFolder.Create(c.Out!, "metakd", Resolved(c), resuming);
        var result = run.Run(() => TrainingProgress.Run("metakd", p => MetaKdPipeline.Run(c, new RunContext(run, resuming, device, p, Console.WriteLine))));
        AnsiConsole.MarkupLineInterpolated($"    {result.Teacher.Name}: {MetaKdReport.Pct(result.Teacher.Average)}% average test accuracy; {result.Student.Name}: {MetaKdReport.Pct(result.Student.Average)}%  ({run.ReportPath})");
        return result;
    }

    /// <summary>
    /// L2A with the demo's fine-tuned teacher: imdb keeps 5% of its training rows, amazon and yelp are the sources.
    /// Three arms (no augmentation, TinyBERT word replacement, L2A), 100 student steps each, a 30-step selector:
    /// `bench/l2a-learned.sh` runs every arm and both generators at 1, 5 and 20%. L2A's generators are the learned ones (a masked-LM head on the
    /// teacher, 150 MLM + 40 REINFORCE steps): in this setting they tie TinyBERT where the parameter-free refills fall
    /// 4.5 points below it (bench/results/l2a-learned.md §In the demo's setting), for about 2 more minutes of the demo
    /// (the step took 280 s against 164 s from a clean clone on 2 cores).
    /// </summary>
    public static L2aResult L2a(string root, string teacher, DataSettings data, int? threads, int maxSteps, bool resume, Device device)
    {
        var c = new L2aConfig
        {
            Teacher = teacher, Target = "imdb", Sources = "amazon,yelp", DataPortion = 0.05, Arms = "none,tinybert,l2a",
            Student = "L2-H384", Init = "teacher", SelectorSteps = 30, Generator = "learned", // the command's default, pinned: the demo's figures are for it
            GeneratorMlmSteps = maxSteps > 0 ? Math.Min(maxSteps, 150) : 150, GeneratorRlSteps = maxSteps > 0 ? Math.Min(maxSteps, 40) : 40,
            Data = data with { DomainColumn = "domain" }, Out = Path.Combine(root, "l2a"), Threads = threads,
            Training = new L2aConfig().Training with { MaxSteps = maxSteps > 0 ? Math.Min(maxSteps, 100) : 100 },
        };
        c.Validate();
        bool resuming = resume && Directory.Exists(c.Out);
        var run = RunFolder.Create(c.Out!, "l2a", Resolved(c), resuming);
        var result = run.Run(() => L2aPipeline.Run(c, new RunContext(run, resuming, device, null, Console.WriteLine)));
        foreach (var a in result.Arms)
            AnsiConsole.MarkupLineInterpolated($"    {a.Name}: imdb test {Pct(a.TestAccuracy)} ({a.TargetRows} rows + {a.AugmentedRows} augmented)");
        return result;
    }

    /// <summary>
    /// A token task: WordNet supersense tagging (data/wordnet-supersense). The pre-trained encoder gets a token head
    /// and one short fine-tuning pass over part of the training sentences, then a 2-layer student (layers copied from
    /// it) is distilled with per-token KD. 60 steps of 32 sentences each: about a minute per model on 2 cores.
    /// </summary>
    public static (FineTuneResult Teacher, DistillResult Kd) Supersense(string root, string encoder, string dataDir, int? threads, int maxSteps, bool resume, Device device)
    {
        int steps = maxSteps > 0 ? Math.Min(maxSteps, SupersenseSteps) : SupersenseSteps;
        var data = new DataSettings
        {
            Task = "token", Train = Path.Combine(dataDir, "train.conll"), Dev = Path.Combine(dataDir, "dev.conll"), Test = Path.Combine(dataDir, "test.conll"), MaxSeqLen = 64,
        };
        var ft = new FineTuneConfig
        {
            Model = encoder, Data = data, Out = Path.Combine(root, "supersense"), Threads = threads, LogEverySteps = 5,
            Training = new TrainingOptions { Epochs = 1, BatchSize = 32, LearningRate = 2e-4, WarmupRatio = 0.1, MaxSteps = steps },
        };
        ft.Validate();
        bool resuming = resume && Directory.Exists(ft.Out);
        var run = RunFolder.Create(ft.Out!, "finetune", Resolved(ft), resuming);
        var teacher = run.Run(() => TrainingProgress.Run("finetune", p => FineTunePipeline.Run(ft, new RunContext(run, resuming, device, p))));
        FinetuneCommand.Print(teacher, run);
        var kd = new DistillConfig
        {
            Teacher = run.BestDir, Student = "L2-H384", Init = "teacher", Preset = "kd", Temperature = 2, Alpha = 0.5,
            Data = data, Out = Path.Combine(root, "supersense-kd"), Threads = threads, LogEverySteps = 5,
            Training = new TrainingOptions { Epochs = 1, BatchSize = 32, LearningRate = 2e-4, WarmupRatio = 0.1, MaxSteps = steps },
        };
        kd.Validate();
        bool kdResuming = resume && Directory.Exists(kd.Out);
        var kdRun = RunFolder.Create(kd.Out!, "distill", Resolved(kd), kdResuming);
        var student = kdRun.Run(() => TrainingProgress.Run("distill", p => DistillPipeline.Run(kd, new RunContext(kdRun, kdResuming, device, p, Console.WriteLine))));
        DistillCommand.Print(student, kdRun);
        return (teacher, student);
    }

    /// <summary>Optimizer steps of each supersense model: one epoch of the 4,000 training sentences at batch 32 (the teacher
    /// reached entity F1 33% on dev at this step, 40% after two epochs: bench numbers in docs/tasks.md).</summary>
    public const int SupersenseSteps = 125;

    public static void ReportSupersense(ReportWriter w, DistillResult r)
    {
        string F1(IReadOnlyDictionary<string, double>? m) => m != null && m.TryGetValue("f1", out var f) ? (100 * f).ToString("F2", CultureInfo.InvariantCulture) : "-";
        var (t, s) = (r.Teacher, r.Student);
        string ratio = t.Test != null && s.Test != null && t.Test["f1"] > 0 ? (s.Test["f1"] / t.Test["f1"]).ToString("P1", CultureInfo.InvariantCulture) : "-";
        w.Paragraph("## A token task: WordNet supersense tagging (short settings)\n\n" +
                    "The pre-trained encoder with a token-classification head, fine-tuned for " + SupersenseSteps + " steps of 32 sentences on " +
                    "data/wordnet-supersense (the word each WordNet example sentence illustrates, tagged with its noun.* / verb.* supersense), " +
                    "then distilled into a 2-layer student with per-token KD for as many steps. Entity F1 (exact span and type, as seqeval):\n\n" +
                    "| model | dev entity F1 | test entity F1 | non-embedding parameters | batch-1 ms |\n|---|---|---|---|---|\n" +
                    string.Concat(new[] { t, s }.Select(m => $"| {m.Name} | {F1(m.Dev)} | {F1(m.Test)} | {m.NonEmbeddingParameters / 1e6:F2}M | {m.LatencyMs.ToString("F1", CultureInfo.InvariantCulture)} |\n")) +
                    $"\nThe student keeps {ratio} of the teacher's test F1 ([supersense/report.md](supersense/report.md), [supersense-kd/report.md](supersense-kd/report.md)).");
    }

    public static void ReportMetaKd(ReportWriter w, MetaKdResult r) =>
        w.Paragraph("## Meta-KD across domains (short settings)\n\n" +
                    "A meta-teacher fine-tuned on all three domains with prototype weights and the domain-corruption loss, " +
                    "meta-distilled into one L2-H384 student (1 epoch each; `bench/metakd/run.sh` compares it with " +
                    "BERT-s and BERT-mix teachers). Test accuracy per domain (%):\n\n" +
                    MetaKdReport.Table(r.Domains, new[] { (r.Teacher.Name + " (teacher)", MetaKdReport.Cells(r.Teacher)), (r.Student.Name, MetaKdReport.Cells(r.Student)) }));

    public static void ReportL2a(ReportWriter w, L2aResult r)
    {
        string table = "| arm | training rows | imdb test accuracy | teacher |\n|---|---|---|---|\n" + string.Concat(r.Arms.Select(a =>
            $"| {a.Name} | {a.TargetRows} + {a.AugmentedRows} | {Pct(a.TestAccuracy)} | {Pct(a.TeacherTestAccuracy)} |\n"));
        w.Paragraph("## L2A: a data-scarce target domain (short settings)\n\n" +
                    $"imdb keeps 5% of its training rows; amazon and yelp are the sources. " +
                    (r.Generator == "learned" ? "Learned generators (a masked-LM head on the teacher) " : "Parameter-free generators ") +
                    $"proposed the candidates; the selector kept {r.Selected} of " +
                    $"{r.PoolSize} generated candidates ([l2a/selected.tsv](l2a/selected.tsv)). One seed, the same number of steps for every arm: " +
                    "differences of a point or two are within seed noise here (`bench/l2a-learned.sh` runs 3 seeds of both generators).\n\n" + table);
    }

    static string Pct(double v) => double.IsNaN(v) ? "-" : (100 * v).ToString("F2", CultureInfo.InvariantCulture) + "%";

    static JsonNode Resolved<T>(T config) => JsonNode.Parse(JsonSerializer.Serialize(config))!;
}
