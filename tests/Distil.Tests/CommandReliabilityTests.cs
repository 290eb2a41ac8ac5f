using System.Text.Json.Nodes;
using Distil.Cli;
using Spectre.Console;
using TorchSharp;
using Xunit;

namespace Distil.Tests;

/// <summary>A tiny encoder, three-domain data (a: movies, b: phones, c: food) and a teacher fine-tuned on it by the real
/// command, shared by the tests of <see cref="CommandReliabilityTests"/>.</summary>
public sealed class ReliabilityFixture : IDisposable
{
    readonly TempDir dir = new("reliability");
    public string Dir => dir.Path;
    public string Encoder { get; }
    public string Train => Path.Combine(Dir, "train.tsv");
    public string Dev => Path.Combine(Dir, "dev.tsv");
    public string Test => Path.Combine(Dir, "test.tsv");
    public string Teacher => Path.Combine(Dir, "ft", "best");

    public ReliabilityFixture()
    {
        torch.set_num_threads(1);
        Data(Train, 16, 1); Data(Dev, 8, 2); Data(Test, 8, 3);
        Encoder = TinyBert.TeacherFolder(layers: 2);
        Assert.Equal(ExitCodes.Ok, CliApp.Run(["finetune", "--model", Encoder, "--train", Train, "--dev", Dev, "--out", Path.Combine(Dir, "ft"),
            "--epochs", "3", "--batch-size", "8", "--lr", "3e-3", "--max-seq-len", "16", "--pooling", "mean", "--threads", "1"]));
    }

    /// <summary>Rows "the NOUN was WORD .", label 1 for a positive word, in three domains with their own noun.</summary>
    static void Data(string path, int perDomain, int seed)
    {
        var rng = new Random(seed);
        var w = TinyBert.Words;
        var lines = new List<string> { "text\tlabel\tdomain" };
        foreach (var (domain, noun) in new[] { ("a", "movie"), ("b", "phone"), ("c", "food") })
            for (int i = 0; i < perDomain; i++)
                lines.Add($"the {noun} was {(i % 2 == 1 ? w[rng.Next(4)] : w[4 + rng.Next(4)])} .\t{i % 2}\t{domain}");
        File.WriteAllLines(path, lines);
    }

    public void Dispose() => dir.Dispose();
}

/// <summary>
/// Issue 16: every training command, driven through the CLI, (a) resumes an interrupted run to the weights and numbers of
/// the uninterrupted one without rerunning finished stages, (b) refuses up front a run whose memory estimate does not
/// fit, and (c) stops on a non-finite step unless --skip-nonfinite lets it skip (and log) such steps.
/// </summary>
public class CommandReliabilityTests(ReliabilityFixture f) : IClassFixture<ReliabilityFixture>
{
    // ---- the commands, small ----------------------------------------------------------------------------------------

    string[] Finetune(string run, params string[] extra) => [.. new[] { "finetune", "--model", f.Encoder, "--train", f.Train, "--dev", f.Dev, "--test", f.Test,
        "--out", run, "--epochs", "2", "--batch-size", "8", "--lr", "3e-3", "--max-seq-len", "16", "--pooling", "mean", "--threads", "1",
        "--save-every", "4", "--eval-every", "2", "--seed", "5" }, .. extra];

    string[] Distill(string run, params string[] extra) => [.. new[] { "distill", "--teacher", f.Teacher, "--student", "L1-H8-A2-I16", "--preset", "tinybert",
        "--train", f.Train, "--dev", f.Dev, "--test", f.Test, "--out", run, "--epochs", "2", "--batch-size", "8", "--lr", "1e-3", "--max-seq-len", "16",
        "--threads", "1", "--save-every", "4", "--eval-every", "2", "--seed", "5" }, .. extra];

    string[] MetaKd(string run, params string[] extra) => [.. new[] { "metakd", "--model", f.Encoder, "--domains", "a,b", "--train", f.Train, "--dev", f.Dev,
        "--test", f.Test, "--student", "L1-H16-A2-I32", "--out", run, "--epochs", "1", "--stage1-epochs", "1", "--stage2-epochs", "3", "--batch-size", "8",
        "--lr", "3e-3", "--stage1-lr", "1e-3", "--stage2-lr", "1e-3", "--max-seq-len", "16", "--threads", "1", "--save-every", "2", "--seed", "5" }, .. extra];

    /// <summary>search has no --save-every or --eval-every: its config file carries them (<paramref name="training"/>: more
    /// keys of both search_training and retrain.training).</summary>
    string[] Search(string run, string training = "", params string[] extra)
    {
        string config = Path.Combine(Path.GetDirectoryName(run)!, Path.GetFileName(run) + ".json");
        File.WriteAllText(config, $$"""
            { "search": { "op_costs_ms": [1.0, 1.4, 1.8, 1.1, 1.5, 2.0, 0.3, 0.3, 0.02, 0], "arch_learning_rate": 0.03 },
              "search_training": { "save_every_steps": 2 {{training}} },
              "retrain": { "training": { "save_every_steps": 4, "eval_every_steps": 2 {{training}} } } }
            """);
        return [.. new[] { "search", "--teacher", f.Teacher, "--train", f.Train, "--dev", f.Dev, "--test", f.Test, "--config", config, "--out", run,
            "--k-max", "2", "--hidden", "8", "--search-epochs", "1", "--retrain-epochs", "2", "--batch-size", "8", "--max-seq-len", "16", "--threads", "1",
            "--seed", "5" }, .. extra];
    }

    string[] L2a(string run, params string[] extra) => [.. new[] { "l2a", "--teacher", f.Teacher, "--target", "a", "--sources", "b,c", "--arms", "none,l2a",
        "--train", f.Train, "--dev", f.Dev, "--test", f.Test, "--data-portion", "0.5", "--student", "L1-H16-A2-I32", "--max-seq-len", "16",
        "--max-steps", "8", "--eval-every", "2", "--save-every", "3", "--batch-size", "8", "--lr", "1e-3", "--selector-steps", "4", "--augment", "2",
        "--generator-steps", "3", "--generator-rl-steps", "2", "--threads", "1", "--seed", "5", "--out", run }, .. extra];

    string NewRun(string name) => Path.Combine(f.Dir, $"{name}-{Guid.NewGuid():N}");

    // ---- (a) resume ---------------------------------------------------------------------------------------------------

    [Fact]
    public void FinetuneResumesToTheUninterruptedWeights()
    {
        string run = NewRun("ft");
        // Fine-tuning is one training in the run folder itself; its final weights are the last checkpoint's.
        ResumeMatches(Finetune(run), run, train: run, best: Path.Combine(run, "best"), finished: [],
            finalWeights: ["checkpoints/step-0000012/model.dat", "best/model.safetensors"]);
    }

    [Fact]
    public void DistillResumesItsLastStageWithoutRerunningTheFirst()
    {
        string run = NewRun("kd");
        ResumeMatches(Distill(run), run, train: Path.Combine(run, "stage-2"), best: Path.Combine(run, "best"), finished: ["stage-1"],
            finalWeights: ["stage-2/student.safetensors", "best/model.safetensors"], unwritten: ["stage-2/done.json", "stage-2/student.safetensors"]);
    }

    [Fact]
    public void MetaKdResumesTheLastStudentWithoutRerunningTheEarlierStages()
    {
        string run = NewRun("metakd");
        string last = Path.Combine(run, "students", "b");
        ResumeMatches(MetaKd(run), run, train: Path.Combine(last, "stage-2"), best: Path.Combine(last, "best"),
            finished: ["prototypes", "teacher", "lambda", "students/a", "students/b/stage-1"],
            finalWeights: ["students/b/stage-2/student.safetensors", "students/b/best/model.safetensors", "students/a/best/model.safetensors"],
            unwritten: ["students/b/done.json", "students/b/stage-2/done.json", "students/b/stage-2/student.safetensors"]);
    }

    [Fact]
    public void SearchResumesTheRetrainingWithoutSearchingAgain()
    {
        string run = NewRun("search");
        ResumeMatches(Search(run), run, train: Path.Combine(run, "retrain"), best: Path.Combine(run, "best"), finished: ["search"],
            finalWeights: ["retrain/checkpoints/step-0000012/student.dat", "best/model.safetensors"], unwritten: ["retrain/done.json"]);
    }

    [Fact]
    public void L2aResumesTheLastArmWithoutRerunningTheFinishedOne()
    {
        string run = NewRun("l2a");
        string arm = Path.Combine(run, "arms", "l2a");
        ResumeMatches(L2a(run), run, train: Path.Combine(arm, "stage-1"), best: Path.Combine(arm, "best"), finished: ["arms/none"],
            finalWeights: ["arms/l2a/stage-1/student.safetensors", "arms/l2a/best/model.safetensors", "arms/none/best/model.safetensors"],
            unwritten: ["arms/l2a/done.json", "arms/l2a/stage-1/done.json", "arms/l2a/stage-1/student.safetensors", "arms/l2a/result.json", "arms/l2a/report.md"]);
    }

    /// <summary>
    /// Runs <paramref name="args"/> to the end, keeps what it produced, then leaves the run as a SIGKILL right after the
    /// second-newest checkpoint S of the last training (in <paramref name="train"/>) would have: the newest checkpoint,
    /// everything written after the training (<paramref name="unwritten"/>, result.json, report.md) and best/ when it was
    /// written after S are gone. (A kill before that evaluation leaves an older best/, which the resumed run overwrites
    /// just the same; one after S with no better evaluation leaves best/ as it is.) Then --resume must reproduce the
    /// weights and result numbers, retrain from S, and not touch the <paramref name="finished"/> stage folders.
    /// </summary>
    static void ResumeMatches(string[] args, string run, string train, string best, string[] finished, string[] finalWeights, string[]? unwritten = null)
    {
        var (code, output) = CliCapture.Run(args);
        Assert.True(code == ExitCodes.Ok, $"exit {code}:\n{output}");
        var weights = finalWeights.ToDictionary(w => w, w => File.ReadAllBytes(Path.Combine(run, w)));
        string result = Numbers(Path.Combine(run, "result.json"));
        var stamps = finished.SelectMany(s => Directory.EnumerateFiles(Path.Combine(run, s), "*", SearchOption.AllDirectories))
            .ToDictionary(p => p, File.GetLastWriteTimeUtc);
        Assert.True(finished.Length == 0 || stamps.Count > 0, "the finished stages wrote nothing");

        var checkpoints = Directory.GetDirectories(Path.Combine(train, "checkpoints"), "step-*").Order(StringComparer.Ordinal).ToArray();
        Assert.True(checkpoints.Length >= 2, $"{train}: {checkpoints.Length} checkpoints; the test needs one to resume from before the last");
        long resumeFrom = State(checkpoints[^2])["global_step"]!.GetValue<long>(), end = State(checkpoints[^1])["global_step"]!.GetValue<long>();
        long? bestStep = State(checkpoints[^1])["best_step"]?.GetValue<long>();
        var resumedFrom = File.GetLastWriteTimeUtc(Path.Combine(checkpoints[^2], "trainer_state.json"));
        Directory.Delete(checkpoints[^1], recursive: true);
        if (bestStep is null || bestStep > resumeFrom) Directory.Delete(best, recursive: true);
        foreach (string gone in (unwritten ?? []).Append("result.json").Append("report.md").Select(u => Path.Combine(run, u)))
            if (File.Exists(gone)) File.Delete(gone);
            else Assert.Fail($"{gone} was not written by the uninterrupted run");

        (code, output) = CliCapture.Run([.. args, "--resume"]);
        Assert.True(code == ExitCodes.Ok, $"resume exit {code}:\n{output}");
        foreach (var (w, bytes) in weights)
            Assert.True(bytes.SequenceEqual(File.ReadAllBytes(Path.Combine(run, w))), $"{w} differs from the uninterrupted run's");
        Assert.Equal(result, Numbers(Path.Combine(run, "result.json")));
        Assert.Equal(end, State(checkpoints[^1])["global_step"]!.GetValue<long>()); // trained again from S to the end ...
        Assert.Equal(resumedFrom, File.GetLastWriteTimeUtc(Path.Combine(checkpoints[^2], "trainer_state.json"))); // ... and not up to S
        foreach (var (p, t) in stamps) Assert.True(File.Exists(p) && File.GetLastWriteTimeUtc(p) == t, $"{p} of a finished stage was written again");
        Assert.Equal(stamps.Keys.Order(), finished.SelectMany(s => Directory.EnumerateFiles(Path.Combine(run, s), "*", SearchOption.AllDirectories)).Order());

        // Every step of the resumed training is logged exactly once (the rows after S were dropped, then written again).
        string metrics = new[] { Path.Combine(train, "..", "metrics.jsonl"), Path.Combine(train, "metrics.jsonl"), Path.Combine(run, "metrics.jsonl") }.First(File.Exists);
        var rows = File.ReadAllLines(metrics).Select(l => JsonNode.Parse(l)!).Where(r => r["type"]!.GetValue<string>() == "train").ToArray();
        var lastStage = rows.Select(r => r["stage"]?.GetValue<int>()).Max();
        var steps = rows.Where(r => r["stage"]?.GetValue<int>() == lastStage).Select(r => r["step"]!.GetValue<long>()).ToArray();
        Assert.Equal(steps.Distinct().Count(), steps.Length);
        Assert.Contains(end, steps);
    }

    static JsonNode State(string checkpoint) => JsonNode.Parse(File.ReadAllText(Path.Combine(checkpoint, "trainer_state.json")))!;

    /// <summary>result.json without what a clock measures (seconds, latency): the numbers two runs must share.</summary>
    static string Numbers(string path)
    {
        static JsonNode? Strip(JsonNode? n)
        {
            if (n is JsonObject o)
                foreach (var k in o.Select(p => p.Key).ToArray())
                    if (k.Contains("second", StringComparison.OrdinalIgnoreCase) || k.Contains("latency", StringComparison.OrdinalIgnoreCase)) o.Remove(k);
                    else Strip(o[k]);
            if (n is JsonArray a) foreach (var x in a) Strip(x);
            return n;
        }
        return Strip(JsonNode.Parse(File.ReadAllText(path)))!.ToJsonString();
    }

    // ---- (b) memory ---------------------------------------------------------------------------------------------------

    [Fact]
    public void FinetuneRefusesARunThatWillNotFitInMemory() => RefusedForMemory(Finetune, "finetune");

    [Fact]
    public void DistillRefusesARunThatWillNotFitInMemory() => RefusedForMemory(Distill, "distill");

    [Fact]
    public void MetaKdRefusesARunThatWillNotFitInMemory() => RefusedForMemory(MetaKd, "metakd");

    /// <summary>l2a: before generating, and before the selector's scout student takes a step.</summary>
    [Fact]
    public void L2aRefusesARunThatWillNotFitInMemory() => RefusedForMemory(L2a, "l2a");

    /// <summary>search: --memory-limit-mb sets both of its trainings' limits; refused before the search.</summary>
    [Fact]
    public void SearchRefusesARunThatWillNotFitInMemory() => RefusedForMemory((run, extra) => Search(run, "", extra), "search");

    void RefusedForMemory(Func<string, string[], string[]> command, string named)
    {
        string run = NewRun("refused");
        var (code, output) = CliCapture.Run(command(run, ["--memory-limit-mb", "1"]));
        Assert.True(code == ExitCodes.InvalidUsage, $"exit {code}:\n{output}");
        Assert.Contains($"distil {named} would not fit in memory: it needs about", output);
        Assert.Contains("only 1.0 MB is available (training.memory_limit_mb 1)", output);
        Assert.Matches(@"use --batch-size \d+ or smaller|even batch size 1 does not fit", output); // what to change
        // Refused before anything trained: no step logged, no checkpoint, no stage finished, no selection made.
        if (Directory.Exists(run))
            foreach (string trace in new[] { "metrics.jsonl", "done.json", "trainer_state.json", "selector.jsonl", "candidates.tsv" })
                Assert.Empty(Directory.GetFiles(run, trace, SearchOption.AllDirectories));
    }

    // ---- (c) non-finite steps -----------------------------------------------------------------------------------------

    // An lr of 1e30 makes the first AdamW update ~1e30 per weight; the next forward overflows, so every later step is non-finite.

    [Fact]
    public void FinetuneStopsOnANonFiniteStepUnlessSkipping() =>
        SkipsNonFinite(o => Set(Finetune(o), "--lr", "1e30"), "metrics.jsonl");

    [Fact]
    public void DistillStopsOnANonFiniteStepUnlessSkipping() =>
        SkipsNonFinite(o => Set(Distill(o), "--lr", "1e30"), "metrics.jsonl");

    /// <summary>Only the students' prediction stage diverges: the teacher, λ and stage 1 train as usual.</summary>
    [Fact]
    public void MetaKdStopsOnANonFiniteStepUnlessSkipping() =>
        SkipsNonFinite(o => Set(MetaKd(o), "--stage2-lr", "1e30"), "students/a/metrics.jsonl");

    /// <summary>--skip-nonfinite sets both of search's trainings' max_bad_steps; only the retraining diverges here.</summary>
    [Fact]
    public void SearchRetrainingStopsOnANonFiniteStepUnlessSkipping() =>
        SkipsNonFinite(o => Search(o, "", "--retrain-lr", "1e30"), "metrics.jsonl");

    /// <summary>The selector diverges first (its scout student steps at --lr, so the reward is non-finite): skipped under --skip-nonfinite
    /// like the Trainer's, then the arms' students diverge and are skipped too.</summary>
    [Fact]
    public void L2aStopsOnANonFiniteStepUnlessSkipping() =>
        // Fixed generators, so that the selector is the first to meet the blown-up student (the learned ones' scout would be: next test).
        SkipsNonFinite(o => Set(L2a(o, "--generator", "fixed"), "--lr", "1e30"), "arms/none/metrics.jsonl", diverged: "L2A selector (REINFORCE step) diverged: reward is");

    [Fact]
    public void L2aLearnedGeneratorStopsOnANonFiniteScoutReward()
    {
        // The default generators train a scout student for their REINFORCE reward: at lr 1e30 its gain is the first non-finite value.
        var (code, output) = CliCapture.Run(Set(L2a(NewRun("nan-generator")), "--lr", "1e30"));
        Assert.True(code == ExitCodes.NumericalFault, $"exit {code}:\n{output}");
        Assert.Contains("L2A generator (scout reward) diverged", output);
        Assert.Contains("--skip-nonfinite N", output);
    }

    /// <param name="skipping">The same run with up to 1000 skipped steps (default: with --skip-nonfinite 1000).</param>
    /// <param name="diverged">What the first run's error says.</param>
    void SkipsNonFinite(Func<string, string[]> command, string metrics, Func<string, string[]>? skipping = null, string diverged = "training diverged:")
    {
        string run = NewRun("nan");
        var (code, output) = CliCapture.Run(command(run));
        Assert.True(code == ExitCodes.NumericalFault, $"exit {code}:\n{output}");
        Assert.Contains(diverged, output);
        Assert.Contains("--skip-nonfinite N", output);

        string skipped = NewRun("skip");
        (code, output) = CliCapture.Run(skipping?.Invoke(skipped) ?? [.. command(skipped), "--skip-nonfinite", "1000"]);
        Assert.True(code == ExitCodes.Ok, $"exit {code}:\n{output}");
        Assert.True(File.Exists(Path.Combine(skipped, "result.json")));
        var rows = File.ReadAllLines(Path.Combine(skipped, metrics)).Select(l => JsonNode.Parse(l)!).ToArray();
        var skips = rows.Where(r => r["type"]!.GetValue<string>() == "skipped").ToArray();
        Assert.NotEmpty(skips);
        // Once the weights are ~1e30 no later step is finite: in each stage that diverged, every step from the first or
        // second to the stage's last is logged as skipped, once, counted 1..n.
        foreach (var stage in skips.GroupBy(r => r["stage"]?.GetValue<int>()))
        {
            var steps = stage.Select(r => r["step"]!.GetValue<long>()).ToArray();
            long last = rows.Where(r => r["stage"]?.GetValue<int>() == stage.Key).Max(r => r["step"]!.GetValue<long>());
            Assert.InRange(steps[0], 1, 2);
            Assert.Equal(Enumerable.Range((int)steps[0], (int)(last - steps[0] + 1)).Select(i => (long)i), steps);
            Assert.Equal(Enumerable.Range(1, steps.Length).Select(i => (long)i), stage.Select(r => r["skipped_steps"]!.GetValue<long>()));
            Assert.All(stage, r => Assert.Matches(@"^(loss|gradient norm) is (NaN|-?Infinity)", r["reason"]!.GetValue<string>()));
        }
    }

    /// <summary>The arguments with <paramref name="option"/>'s value replaced (an option may be given once).</summary>
    static string[] Set(string[] args, string option, string value)
    {
        var copy = args.ToArray();
        copy[Array.IndexOf(copy, option) + 1] = value;
        return copy;
    }
}
