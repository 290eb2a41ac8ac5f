using System.Text.Json;
using System.Text.Json.Nodes;
using Distil.Augment.L2A;
using Distil.Bench.Summaries;
using Distil.Distillation;
using Distil.MetaKD;
using Distil.Pipelines;
using Xunit;

namespace Distil.Tests;

/// <summary>
/// `Distil.Bench summarize` on hand-made run folders, written the way the pipelines write them (the library's records
/// through System.Text.Json): the tables' mean ± sample sd against values computed by hand, and the Python number
/// formatting the summaries keep (ties to even, repr, exact mean) against Python's documented results.
/// </summary>
public sealed class BenchSummaryTests : IDisposable
{
    readonly TempDir tmp = new();
    public void Dispose() => tmp.Dispose();

    static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    static ModelSummary Model(string name, double test, double dev, long parameters = 1_000_000, long nonEmbedding = 300_000, double latency = 5) =>
        new(name, parameters, nonEmbedding, new Dictionary<string, double> { ["accuracy"] = dev }, new Dictionary<string, double> { ["accuracy"] = test }, latency);

    void DistillRun(string work, string preset, int seed, double test, double dev, double wall, double train)
    {
        string dir = Path.Combine(work, $"{preset}-seed{seed}");
        Directory.CreateDirectory(dir);
        // As DistillPipeline writes result.json and bench/kd-presets.sh writes wall.json.
        File.WriteAllText(Path.Combine(dir, "result.json"), JsonSerializer.Serialize(new
        {
            preset, student_shape = "L2-H384", student_model_type = "bert", train_examples = 100, augmented_examples = 0, train_seconds = train,
            teacher = Model("teacher", 0.9, 0.88, 22_713_986, 10_647_554, 100), student = Model("student", test, dev, 16_000_000, 3_450_000, 25),
        }, Indented));
        File.WriteAllText(Path.Combine(dir, "wall.json"), $"{{\"preset\": \"{preset}\", \"seed\": {seed}, \"wall_seconds\": {wall.ToString(System.Globalization.CultureInfo.InvariantCulture)}}}\n");
    }

    [Fact]
    public void KdPresetsTableIsTheMeanAndSampleSdOverSeeds()
    {
        string work = Path.Combine(tmp.Path, "work");
        // kd: test 0.81, 0.84, 0.90 -> mean 0.85, sd sqrt((0.04^2 + 0.01^2 + 0.05^2) / 2) = sqrt(0.0021) = 0.0458258;
        // dev 0.70, 0.72, 0.77 -> mean 0.73, sd sqrt((0.03^2 + 0.01^2 + 0.04^2) / 2) = sqrt(0.0013) = 0.0360555;
        // wall 100.5, 110.5, 130.5 -> mean 113.83, sd sqrt((13.33^2 + 3.33^2 + 16.67^2) / 2) = 15.275.
        DistillRun(work, "kd", 3, 0.90, 0.77, 130.5, 90);
        DistillRun(work, "kd", 1, 0.81, 0.70, 100.5, 80);
        DistillRun(work, "kd", 2, 0.84, 0.72, 110.5, 85);
        DistillRun(work, "pkd", 1, 0.75, 0.74, 99.25, 70); // one seed: sd 0
        File.WriteAllText(Path.Combine(work, "cli-commit"), "abc1234\n");
        string prefix = Path.Combine(tmp.Path, "kd-presets");
        Assert.Equal(0, KdPresetsSummary.Summarize([work, prefix, "EPOCHS=2", "--teacher-dir", "runs/t"]));

        var md = File.ReadAllLines(prefix + ".md");
        // retention 0.85 / 0.9 = 94.44%; non-embedding share 3,450,000 / 10,647,554 = 32.40%.
        Assert.Contains("| kd | 3 | 85.00 ± 4.58 | 73.00 ± 3.61 | 94.44 | 16.00M | 3.450M (32.40%) | 25.0 | 114 ± 15 | 85 | 100 |", md);
        Assert.Contains("| pkd | 1 | 75.00 ± 0.00 | 74.00 ± 0.00 | 83.33 | 16.00M | 3.450M (32.40%) | 25.0 | 99 ± 0 | 70 | 100 |", md);
        Assert.Contains(md, l => l.StartsWith("Teacher: teacher = `runs/t` (fine-tuned MiniLM, 6 layers, H384): test 90.00%, dev 88.00%"));
        Assert.Contains(md, l => l.StartsWith("**Best preset (of those with 3 seeds): kd**, 85.00% ± 4.58") && l.Contains("**not met**")); // 94.44% < 95%
        Assert.Contains("- kd: seed 1: 81.00 (100 s), seed 2: 84.00 (110 s), seed 3: 90.00 (130 s)", md); // seeds in order; 100.5 -> 100, 130.5 -> 130 (ties to even)
        Assert.Contains(md, l => l.StartsWith("**Incomplete**: fewer than 3 seeds for pkd (1)"));

        var kd = JsonNode.Parse(File.ReadAllText(prefix + ".json"))!["presets"]![0]!;
        Assert.Equal("kd", (string)kd["preset"]!);
        Assert.Equal(0.85, (double)kd["test_accuracy_mean"]!, 12);
        Assert.Equal(Math.Sqrt(0.0021), (double)kd["test_accuracy_sd"]!, 12);
        Assert.Equal(341.5 / 3, (double)kd["wall_seconds_mean"]!, 12);
        Assert.Equal([1, 2, 3], kd["seeds"]!.AsArray().Select(s => (int)s!));
    }

    [Fact]
    public void MetaKdCellsAreMeanAndSdPerDomainAndOfTheAverage()
    {
        string outDir = Path.Combine(tmp.Path, "metakd");
        void Run(int seed, double amazon, double imdb, double teacherSeconds)
        {
            var r = new MetaKdResult(["amazon", "imdb"],
                new MetaKdRow("Meta-teacher", "teacher", new Dictionary<string, double> { ["amazon"] = 0.9, ["imdb"] = 0.8 }, teacherSeconds),
                new MetaKdRow("Meta-teacher → KD", "student", new Dictionary<string, double> { ["amazon"] = amazon, ["imdb"] = imdb }, 50),
                new Dictionary<string, double> { ["seed"] = seed, ["train_rows"] = 2086 },
                new Dictionary<string, string> { ["teacher_mode"] = "meta", ["distill"] = "kd", ["teacher_source"] = "enc" }, 70);
            string dir = Path.Combine(outDir, $"s{seed}", "meta-kd");
            Directory.CreateDirectory(dir);
            File.WriteAllText(Path.Combine(dir, "results.json"), JsonSerializer.Serialize(r, Indented)); // as MetaKdPipeline writes it
        }
        Run(1, 0.80, 0.70, 0); // the teacher reused: 0 s
        Run(2, 0.86, 0.74, 0);
        string prefix = Path.Combine(tmp.Path, "table");
        Assert.Equal(0, MetaKdTable.Summarize([outDir, prefix, "--notes", Path.Combine(tmp.Path, "none.md")]));

        var md = File.ReadAllLines(prefix + ".md");
        // amazon 0.80, 0.86: mean 83.0, sd |0.06| / sqrt(2) = 4.24; imdb 0.70, 0.74: 72.0 ± 2.83;
        // per-seed averages 0.75, 0.80: 77.5 ± 3.54.
        Assert.Contains("| Meta-teacher → KD | 83.0 ± 4.2 | 72.0 ± 2.8 | 77.5 ± 3.5 | 1,2 | 50 |", md);
        Assert.Contains("| Meta-teacher (teacher) | 90.0 ± 0.0 | 80.0 ± 0.0 | 85.0 ± 0.0 | 1,2 | 0 |", md);
        Assert.Contains("| meta-kd | 2 | meta (enc) | kd | 2086 | 0 | 50 | 70 |", md);
        var rows = JsonNode.Parse(File.ReadAllText(prefix + ".json"))!["tables"]![0]!["rows"]!.AsArray();
        var amazon = rows[1]!["accuracy"]!["amazon"]!;
        Assert.Equal(0.83, (double)amazon["mean"]!, 12);
        Assert.Equal(0.06 / Math.Sqrt(2), (double)amazon["stdev"]!, 12);
        Assert.Equal(0.80, (double)amazon["min"]!);
        Assert.Equal(2, (int)amazon["n"]!);
        // Seconds 0 and 0 are ints in Python, so is their mean: "0", as the Python table wrote it.
        Assert.Contains("\"seconds_mean\": 0\n", File.ReadAllText(prefix + ".json"));
    }

    [Fact]
    public void L2aTableLeavesUnmeasuredArmsOut()
    {
        string work = Path.Combine(tmp.Path, "l2a");
        void Run(int seed, double none, double l2a)
        {
            string dir = Path.Combine(work, $"imdb-0.05-seed{seed}");
            Directory.CreateDirectory(dir);
            var arms = new[] { new L2aArm("none", 35, 0, 0.7, none, 0.92, 10), new L2aArm("l2a", 35, 20, 0.7, l2a, 0.92, 10) };
            File.WriteAllText(Path.Combine(dir, "result.json"), JsonSerializer.Serialize(new
            {
                target = "imdb", sources = "amazon,yelp", data_portion = 0.05, seed, target_rows = 35, generated = 100, pool = 80, selected = 20, seconds = 30.5, arms,
            }, L2aReport.Json)); // as L2aReport writes it (NaN as "NaN")
            File.WriteAllText(Path.Combine(dir, "wall_seconds"), "31\n");
        }
        Run(1, 0.60, double.NaN);
        Run(2, 0.64, 0.75);
        Run(3, 0.68, 0.80);
        string prefix = Path.Combine(tmp.Path, "l2a-table");
        Assert.Equal(0, L2aSummary.Summarize([work, prefix, "--notes", Path.Combine(tmp.Path, "none.md")]));
        var md = File.ReadAllLines(prefix + ".md");
        // none 0.60, 0.64, 0.68: 64.00 ± 4.00; l2a without the unmeasured seed: 0.75, 0.80 -> 77.50 ± 3.54; teacher 92.00 ± 0.00.
        Assert.Contains("| imdb | 0.05 | 3 | 35 | 64.00 ± 4.00 | - | - | - | 77.50 ± 3.54 | 92.00 ± 0.00 |", md);
        Assert.Contains("| imdb 0.05 | 2 | 100 | 80 | 20 | 31 |", md);
    }

    [Fact]
    public void NumbersAreFormattedAsPythonFormatsThem()
    {
        // format(x, ".Nf") rounds the exact binary value half to even; .NET's "F" rounds half away from zero.
        Assert.Equal("0.12", Py.Fixed(0.125, 2));
        Assert.Equal("0.38", Py.Fixed(0.375, 2));
        Assert.Equal("2", Py.Fixed(2.5, 0));
        Assert.Equal("4", Py.Fixed(3.5, 0));
        Assert.Equal("2.67", Py.Fixed(2.675, 2)); // 2.67499999... in binary
        Assert.Equal("-0.00", Py.Fixed(-0.001, 2));
        Assert.Equal("nan", Py.Fixed(double.NaN, 1));
        // repr(float)
        Assert.Equal("2.0", Py.Repr(2.0));
        Assert.Equal("1e-05", Py.Repr(1e-5));
        Assert.Equal("0.0001", Py.Repr(1e-4));
        Assert.Equal("1e+16", Py.Repr(1e16));
        Assert.Equal("1234567890123456.0", Py.Repr(1234567890123456.0));
        Assert.Equal("0.1", Py.Repr(0.1));
        // format(x, "g") and format(n, ",")
        Assert.Equal("0.0002", Py.G(2e-4));
        Assert.Equal("1e-05", Py.G(1e-5));
        Assert.Equal("1e+06", Py.G(1e6));
        Assert.Equal("123457", Py.G(123456.7));
        Assert.Equal("10,647,554", Py.Thousands(10_647_554));
        // statistics.mean is exact: (0.1 + 0.2 + 0.3) / 3 in floating point is 0.20000000000000004, the exact mean rounds to 0.2.
        Assert.Equal(0.2, Py.MeanValue([0.1, 0.2, 0.3]));
        Assert.Equal(1.0810874155219827, Py.Stdev([1.5, 2.5, 2.5, 2.75, 3.25, 4.75])); // the example in Python's documentation
        Assert.Equal(0.1, Py.Round(0.05, 1)); // 0.05 is 0.05000000000000000277 in binary
        Assert.Equal(2.6, Py.Round(2.65, 1)); // 2.65 is 2.649999... in binary: round(2.65, 1) == 2.6
    }
}
