using System.Text.Json;
using Distil.Sweeps;
using Xunit;

namespace Distil.Tests;

public class SweepTests
{
    static SweepFile Parse(string json, string root) =>
        JsonSerializer.Deserialize<SweepFile>(json.Replace("ROOT", root.Replace("\\", "/")))!;

    const string Grid = """
        {
          "command": "distill",
          "run_root": "ROOT",
          "args": ["--teacher", "t", "--epochs", "2"],
          "axes": {
            "preset": { "kd": ["--preset", "kd"], "tinybert+augment": ["--preset", "tinybert", "--augment", "2"] },
            "--lr": ["1e-4", 2e-4]
          },
          "seeds": [1, 2],
          "metric": "student.test.accuracy",
          "cost": "student.parameters"
        }
        """;

    [Fact]
    public void TheGridIsEveryCombinationTimesEverySeedSeedMajor()
    {
        using var dir = new TempDir();
        var trials = SweepPlan.Expand(Parse(Grid, dir.Path));
        Assert.Equal(8, trials.Count);
        Assert.Equal("preset-kd_lr-1e-4_seed1", trials[0].Name);
        Assert.Equal("preset-tinybert-augment_lr-2e-4_seed1", trials[3].Name);
        Assert.Equal("preset-kd_lr-1e-4_seed2", trials[4].Name);
        Assert.Equal(["--teacher", "t", "--epochs", "2", "--preset", "tinybert", "--augment", "2", "--lr", "2e-4", "--seed", "1", "--out", Path.Combine(dir.Path, trials[3].Name)], trials[3].Args);
        Assert.Equal("preset=tinybert+augment, lr=2e-4", trials[3].Group);
        Assert.Equal(trials[3].Group, trials[7].Group);
    }

    [Fact]
    public void ABadSweepFileIsAClearError()
    {
        using var dir = new TempDir();
        string f = dir.File("s.json", """{"command": "distill", "run_root": "r", "args": ["--out", "x"]}""");
        Assert.Contains("sets each trial's own", Assert.Throws<DistilException>(() => SweepFile.Read(f)).Message);
        string g = dir.File("g.json", """{"command": "distill", "run_root": "r", "axes": {"preset": ["kd"]}}""");
        Assert.Contains("axis \"preset\" must be an object", Assert.Throws<DistilException>(() => SweepFile.Read(g)).Message);
    }

    static void WriteResult(SweepTrial t, double accuracy, long parameters)
    {
        Directory.CreateDirectory(t.RunDir);
        File.WriteAllText(Path.Combine(t.RunDir, SweepTrial.ResultFile),
            $"{{\"Student\": {{\"Parameters\": {parameters}, \"Test\": {{\"accuracy\": {accuracy.ToString(System.Globalization.CultureInfo.InvariantCulture)}}}}}}}");
    }

    [Fact]
    public void DoneTrialsAreSkippedUnfinishedOnesStartCleanAndFailuresAreReported()
    {
        using var dir = new TempDir();
        var trials = SweepPlan.Expand(Parse(Grid, dir.Path));
        WriteResult(trials[0], 0.9, 100);                          // done before
        Directory.CreateDirectory(trials[1].RunDir);
        File.WriteAllText(Path.Combine(trials[1].RunDir, "stale.txt"), "left by a killed run");
        var ran = new List<string>();
        var runs = SweepRunner.Run(trials, t =>
        {
            ran.Add(t.Name);
            Assert.False(File.Exists(Path.Combine(t.RunDir, "stale.txt")));
            if (t.Name.StartsWith("preset-tinybert-augment_lr-2e-4", StringComparison.Ordinal)) return 4; // fails
            WriteResult(t, 0.8, 100);
            return 0;
        });
        Assert.Equal(trials.Skip(1).Select(t => t.Name), ran);
        Assert.Equal(TrialOutcome.Skipped, runs[0].Outcome);
        Assert.Equal(2, runs.Count(r => r.Outcome == TrialOutcome.Failed));
        // A rerun runs only the failed ones.
        ran.Clear();
        SweepRunner.Run(trials, t => { ran.Add(t.Name); WriteResult(t, 0.8, 100); return 0; });
        Assert.Equal(["preset-tinybert-augment_lr-2e-4_seed1", "preset-tinybert-augment_lr-2e-4_seed2"], ran);
    }

    [Fact]
    public void TheSummaryIsMeanAndSampleSdOverSeedsWithTheParetoFront()
    {
        using var dir = new TempDir();
        string json = """
            {"command": "finetune", "run_root": "ROOT", "axes": {"--student": ["small", "mid", "big", "worse"]}, "seeds": [1, 2, 3],
             "metric": "student.test.accuracy", "cost": "student.parameters"}
            """;
        var trials = SweepPlan.Expand(Parse(json, dir.Path));
        var values = new Dictionary<string, (double[] Acc, long Params)>
        {
            ["small"] = ([0.80, 0.90, 1.00], 10),   // mean 0.9, sd sqrt((0.01 + 0 + 0.01) / 2) = 0.1
            ["mid"] = ([0.85, 0.85, 0.85], 20),     // sd 0; costs more, scores less than small: dominated
            ["big"] = ([0.95, 0.96, 0.94], 40),     // mean 0.95, sd 0.01
            ["worse"] = ([0.5, 0.6, 0.7], 5),       // cheapest: on the front
        };
        foreach (var t in trials)
        {
            var (acc, p) = values[t.Settings[0].Value];
            WriteResult(t, acc[t.Seed!.Value - 1], p);
        }
        File.Delete(Path.Combine(trials[^1].RunDir, SweepTrial.ResultFile)); // worse, seed 3 not done: mean of 0.5, 0.6
        var groups = SweepSummary.Summarise(trials, "student.test.accuracy", "student.parameters").ToDictionary(g => g.Group);
        Assert.Equal(0.9, groups["student=small"].Mean!.Value, 12);
        Assert.Equal(0.1, groups["student=small"].Sd!.Value, 12);
        Assert.Equal(0.0, groups["student=mid"].Sd!.Value, 12);
        Assert.Equal(0.95, groups["student=big"].Mean!.Value, 12);
        Assert.Equal(0.01, groups["student=big"].Sd!.Value, 12);
        Assert.Equal((2, 3), (groups["student=worse"].Done, groups["student=worse"].Trials));
        Assert.Equal(0.55, groups["student=worse"].Mean!.Value, 12);
        Assert.Equal(Math.Sqrt(0.005), groups["student=worse"].Sd!.Value, 12);
        Assert.Equal(["student=small", "student=big", "student=worse"], groups.Values.Where(g => g.OnFront).Select(g => g.Group));
        string table = SweepSummary.Markdown(groups.Values.ToList(), "student.test.accuracy", "student.parameters");
        Assert.Contains("| student=small | 3/3 | 0.9000 ± 0.1000 | 10 | yes |", table);
        Assert.Contains("| student=mid | 3/3 | 0.8500 ± 0.0000 | 20 |  |", table);
    }

    /// <summary>The bench grid of bench/kd-presets.sh as a sweep: the script's 6 presets x 3 seeds, the same command lines.</summary>
    [Fact]
    public void TheKdPresetsSweepFileIsTheBenchScriptsGrid()
    {
        string root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "Distil.sln"))) root = Path.GetDirectoryName(root)!;
        var sweep = SweepFile.Read(Path.Combine(root, "bench", "sweeps", "kd-presets.json"));
        var trials = SweepPlan.Expand(sweep);
        Assert.Equal(18, trials.Count);
        var aug = trials.Single(t => t.Name == "preset-tinybert-augment_seed3");
        Assert.Equal("distill", aug.Command);
        foreach (var (o, v) in new[] { ("--preset", "tinybert"), ("--augment", "2"), ("--seed", "3"), ("--student", "L2-H384-A12-I1472"), ("--lr", "2e-4") })
            Assert.Equal(v, aug.Args[aug.Args.ToList().IndexOf(o) + 1]);
        var (code, output) = CliCapture.Run("sweep", Path.Combine(root, "bench", "sweeps", "kd-presets.json"), "--dry-run");
        Assert.Equal(0, code);
        Assert.Equal(18, output.Split('\n').Count(l => l.StartsWith("todo", StringComparison.Ordinal) || l.StartsWith("done", StringComparison.Ordinal)));
    }
}
