using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Distil.Reliability;
using TorchSharp;

// bash bench/kill-resume.sh [--seeds N] [--kills N] [--commands finetune,distill,search,metakd,l2a] [--work DIR] [--out bench/results/kill-resume]
// Builds the CLI, then kills real runs and resumes them; prints a table and writes .json/.md. See bench/README.md.
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
torch.set_num_threads(1);

string Arg(string name, string fallback) { int i = Array.IndexOf(args, name); return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback; }
string repo = Path.GetFullPath(Arg("--repo", "."));
string cli = Path.Combine(repo, "src/Distil.Cli/bin/Release/net10.0/linux-x64/Distil.Cli.dll");
if (!File.Exists(cli)) { Console.Error.WriteLine($"{cli} not found: build it first (dotnet build src/Distil.Cli -c Release), or use bench/kill-resume.sh"); return 3; }
int seeds = int.Parse(Arg("--seeds", "3")), kills = int.Parse(Arg("--kills", "2"));
string[] only = Arg("--commands", "finetune,distill,search,metakd,l2a").Split(',', StringSplitOptions.RemoveEmptyEntries);
string work = Path.GetFullPath(Arg("--work", Path.Combine(Path.GetTempPath(), $"distil-kill-resume-{Environment.ProcessId}")));
string outBase = Arg("--out", Path.Combine(repo, "bench/results/kill-resume"));
Directory.CreateDirectory(work);

// Real data, copied so that caches written next to it stay in the work folder.
string data = Path.Combine(work, "data");
Directory.CreateDirectory(data);
foreach (var split in new[] { "train", "dev", "test" })
    File.Copy(Path.Combine(repo, $"data/uci-sentiment/{split}.domain.tsv"), Path.Combine(data, $"{split}.tsv"), overwrite: true);
string teacher = KillResume.TinyTeacher(work);
string train = Path.Combine(data, "train.tsv"), dev = Path.Combine(data, "dev.tsv"), test = Path.Combine(data, "test.tsv");
string[] Common(string outDir) => new[] { "--train", train, "--dev", dev, "--out", outDir, "--max-seq-len", "32", "--batch-size", "16",
    "--save-every", "10", "--eval-every", "40", "--threads", "1", "--seed", "7" };

// search checkpoints through its config (its search loop and the retrain each save every 10 steps).
string searchConfig = Path.Combine(work, "search.json");
File.WriteAllText(searchConfig, """
    { "search": { "k_max": 3, "probe_epochs": 1 },
      "search_training": { "epochs": 1, "save_every_steps": 10, "eval_every_steps": 40 },
      "retrain": { "training": { "epochs": 1, "save_every_steps": 10, "eval_every_steps": 40 } } }
    """);

var harness = new KillResume(cli, work, Console.Out);
var commands = new List<HarnessCommand>
{
    new("finetune", o => new[] { "finetune", "--model", teacher, "--pooling", "mean", "--epochs", "2", "--lr", "1e-3" }.Concat(Common(o)).ToArray(),
        "best/model.safetensors"),
    // Two stages (intermediate layers, then logits) from one command: kills land in either stage or between them.
    new("distill (tinybert, 2 stages)", o => new[] { "distill", "--teacher", Path.Combine(work, "finetune-reference", "best"), "--student", "L1-H64-A2-I128",
        "--preset", "tinybert", "--epochs", "1", "--lr", "1e-3" }.Concat(Common(o)).ToArray(), "best/model.safetensors"),
    // Probes, search, derive and retrain from one command: kills land in any of them.
    new("search (probes, search, derive, retrain)", o => new[] { "search", "--config", searchConfig, "--teacher", Path.Combine(work, "finetune-reference", "best"),
        "--train", train, "--dev", dev, "--out", o, "--max-seq-len", "32", "--batch-size", "16", "--threads", "1", "--seed", "7" }, "best/model.safetensors"),
    // Prototype scores, meta-teacher, domain-expertise weights, then per domain a student in two stages (λ-weighted
    // intermediate layers, then predictions): kills land in any of them. The tiny teacher is the pre-trained encoder.
    new("metakd (prototypes, meta-teacher, lambda, 3 students x 2 stages)", o => new[] { "metakd", "--model", teacher, "--test", test, "--student", "L1-H64-A2-I128", "--data-portion", "0.5", "--epochs", "1", "--stage1-epochs", "1", "--stage2-epochs", "1",
        "--lr", "1e-3", "--stage1-lr", "1e-3", "--stage2-lr", "1e-3" }.Concat(Common(o)).ToArray(),
        "teacher/best/model.safetensors;students/*/best/model.safetensors"),
    // Generators, discriminator and selector (not a stage: redone on --resume, so they must repeat exactly), then one
    // distill run per arm in arms/ARM: kills land in the selection or in either arm.
    new("l2a (generate, select, 2 arms)", o => new[] { "l2a", "--teacher", Path.Combine(work, "finetune-reference", "best"), "--target", "imdb", "--sources", "amazon,yelp",
        "--data-portion", "0.05", "--arms", "none,l2a", "--student", "L1-H64-A2-I128", "--max-steps", "40", "--selector-steps", "20", "--augment", "2",
        "--lr", "1e-3" }.Concat(Common(o)).ToArray(), "arms/*/best/model.safetensors"),
};
var rows = new List<HarnessRow>();
foreach (var c in commands.Where(c => only.Any(o => c.Name.StartsWith(o, StringComparison.Ordinal))))
{
    if ((c.Name.StartsWith("distill") || c.Name.StartsWith("search") || c.Name.StartsWith("l2a")) && !Directory.Exists(Path.Combine(work, "finetune-reference", "best")))
        harness.RunToEnd(commands[0].Args(Path.Combine(work, "finetune-reference")));
    rows.Add(harness.Test(c, seeds, kills));
}

var md = new StringBuilder();
md.AppendLine($"Kill-and-resume, {seeds} seeds x up to {kills} SIGKILLs each (every other kill waits for a checkpoint write to be under way), then `--resume` to the end; final weights against an uninterrupted run of the same seed.").AppendLine();
md.AppendLine("| command | kill points tried | of them during a write | resumed OK | max weight difference | uninterrupted run |").AppendLine("|---|---|---|---|---|---|");
foreach (var r in rows)
    md.AppendLine($"| {r.Command} | {r.KillPoints} | {r.KillsDuringWrite} | {r.ResumedOk}/{r.Runs} | {r.MaxWeightDiff:E1} | {r.ReferenceSeconds:F1} s |");
foreach (var r in rows) foreach (var p in r.Problems) md.AppendLine($"- {r.Command}: {p}");
bool pass = rows.All(r => r.ResumedOk == r.Runs && r.Problems.Count == 0);
md.AppendLine().AppendLine(pass ? "**All rows pass** (weights equal to 1e-5, no partial checkpoint visible, no temp files left)." : "**FAILED**: see the problems above.");
Console.WriteLine();
Console.WriteLine(md);

var json = new JsonObject
{
    ["date_utc"] = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ"),
    ["command"] = "bash bench/kill-resume.sh " + string.Join(' ', args.Where((a, i) => a != "--repo" && (i == 0 || args[i - 1] != "--repo"))),
    ["machine"] = $"{Environment.ProcessorCount} logical cores ({Environment.OSVersion})",
    ["rows"] = new JsonArray(rows.Select(r => (JsonNode)new JsonObject
    {
        ["command"] = r.Command, ["kill_points"] = r.KillPoints, ["kills_during_write"] = r.KillsDuringWrite, ["resumed_ok"] = r.ResumedOk,
        ["runs"] = r.Runs, ["max_weight_diff"] = r.MaxWeightDiff, ["reference_seconds"] = r.ReferenceSeconds,
        ["problems"] = new JsonArray(r.Problems.Select(p => (JsonNode)p).ToArray()),
    }).ToArray()),
    ["pass"] = pass,
};
Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(outBase))!);
File.WriteAllText(outBase + ".json", json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
File.WriteAllText(outBase + ".md", md.ToString());
Console.WriteLine($"written: {outBase}.md, {outBase}.json; logs and runs in {work}");
return pass ? 0 : 1;
