using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using TorchSharp;

namespace Distil.Cli;

/// <summary>Options every training command shares, and the mapping from given flags to config keys.</summary>
public sealed class CommonOptions
{
    public readonly Option<string?> Config = new("--config") { Description = "JSON config file; flags given on the command line override it" };
    public readonly Option<string?> Out = OptionMeanings.Create<string?>("--out", ": the run folder (config, metrics.jsonl, checkpoints/, best/, report.md)");
    public readonly Option<bool> Resume = OptionMeanings.Create<bool>("--resume", "from its last checkpoint");
    public readonly Option<string?> Device = OptionMeanings.Create<string?>("--device", "(cuda needs TorchSharp's CUDA runtime package)");
    public readonly Option<int?> Threads = OptionMeanings.Create<int?>("--threads", "of Torch (default: all cores)");

    readonly List<(Option Option, string Path)> mapped = new();

    public void AddTo(Command c)
    {
        foreach (var o in new Option[] { Config, Out, Resume, Device, Threads }) c.Options.Add(o);
        Map(Out, "out"); Map(Device, "device"); Map(Threads, "threads");
        RetiredNames.AddTo(c);
    }

    /// <summary>Declares that this flag overrides the config key at this JSON path.</summary>
    public void Map(Option option, string jsonPath) => mapped.Add((option, jsonPath));

    public Dictionary<string, JsonNode?> Overrides(ParseResult r)
    {
        var result = new Dictionary<string, JsonNode?>();
        foreach (var (option, path) in mapped)
        {
            var given = r.GetResult(option);
            if (given == null || given.Implicit) continue;
            object? value = given.GetValueOrDefault<object?>();
            result[path] = value switch
            {
                null => null,
                string s => JsonValue.Create(s),
                int i => JsonValue.Create(i),
                double d => JsonValue.Create(d),
                bool b => JsonValue.Create(b),
                _ => JsonValue.Create(value.ToString()),
            };
        }
        return result;
    }

    /// <summary>The data flags of every training command, mapped to the "data" section.</summary>
    /// <param name="defaults">The command's own defaults (its config's data section), shown in the help.</param>
    /// <param name="sequenceLength">False for a command that reads no tokens (baseline): no --max-seq-len.</param>
    public void AddDataOptions(Command c, Data.DataSettings? defaults = null, bool sequenceLength = true)
    {
        var d = defaults ?? new Data.DataSettings();
        void Add<T>(Option<T> o, string path) { c.Options.Add(o); Map(o, path); }
        Add(new Option<string?>("--train") { Description = "Training data (.tsv, .csv, .jsonl) or a GLUE folder with --glue-task" }, "data.train");
        Add(new Option<string?>("--dev") { Description = "Dev data: evaluated during training, picks best/" }, "data.dev");
        Add(new Option<string?>("--test") { Description = "Test data: evaluated once with best/ at the end" }, "data.test");
        Add(OptionMeanings.Create<string?>("--format"), "data.format");
        Add(new Option<string?>("--glue-task") { Description = "sst2, cola, mrpc, qqp, qnli, rte or mnli: that task's files and columns" }, "data.glue_task");
        Add(OptionMeanings.Create<string?>("--text-column"), "data.text_column");
        Add(OptionMeanings.Create<string?>("--text-pair-column"), "data.text_pair_column");
        Add(OptionMeanings.Create<string?>("--label-column"), "data.label_column");
        Add(OptionMeanings.Create<string?>("--domain-column", "(per-domain metrics)"), "data.domain_column");
        Add(OptionMeanings.Create<bool>("--skip-bad-rows", "(counted in the report)"), "data.skip_bad_rows");
        if (sequenceLength) Add(OptionMeanings.Create<int>("--max-seq-len", $"(default {d.MaxSeqLen})"), "data.max_seq_len");
    }

    /// <summary>--task and --threshold (docs/tasks.md), mapped to data.task and data.threshold.</summary>
    public void AddTaskOptions(Command c, string taskDetail)
    {
        void Add<T>(Option<T> o, string path) { c.Options.Add(o); Map(o, path); }
        Add(OptionMeanings.Create<string?>("--task", taskDetail), "data.task");
        Add(OptionMeanings.Create<double>("--threshold", "(default 0.5)"), "data.threshold");
    }

    /// <summary>The optimisation flags of every training command, mapped to the "training" section.</summary>
    /// <param name="defaults">The command's own defaults (its config's training section), shown in the help.</param>
    public void AddTrainingOptions(Command c, Training.TrainingOptions? defaults = null)
    {
        var t = defaults ?? new Training.TrainingOptions();
        static string Number(double v) => v < 1e-3 ? v.ToString("0.###E+0", CultureInfo.InvariantCulture).Replace("E+", "e").Replace("E", "e") : v.ToString(CultureInfo.InvariantCulture);
        static string Steps(int n) => n == 0 ? "default: each epoch" : $"default {n}";
        void Add<T>(Option<T> o, string path) { c.Options.Add(o); Map(o, path); }
        Add(OptionMeanings.Create<int>("--epochs", $"(default {t.Epochs})"), "training.epochs");
        Add(OptionMeanings.Create<int>("--batch-size", $"(default {t.BatchSize})"), "training.batch_size");
        Add(OptionMeanings.Create<double>("--lr", $"(default {Number(t.LearningRate)})"), "training.learning_rate");
        Add(OptionMeanings.Create<double>("--weight-decay", $"(default {Number(t.WeightDecay)})"), "training.weight_decay");
        Add(OptionMeanings.Create<double>("--warmup-ratio", $"(default {Number(t.WarmupRatio)})"), "training.warmup_ratio");
        Add(OptionMeanings.Create<int>("--seed", $": data order, dropout and new weights (default {t.Seed})"), "training.seed");
        Add(OptionMeanings.Create<int>("--eval-every", $"({Steps(t.EvalEverySteps)})"), "training.eval_every_steps");
        Add(OptionMeanings.Create<int>("--save-every", $"({Steps(t.SaveEverySteps)})"), "training.save_every_steps");
        Add(OptionMeanings.Create<int>("--max-steps", t.MaxSteps > 0 ? $"in all (default {t.MaxSteps})" : "in all"), "training.max_steps");
        AddRunOptions(c, "training");
    }

    /// <summary>
    /// What the one Trainer gives every command, whatever its own options: the memory check, checkpoint retention and
    /// the non-finite step policy, each mapped to every training section of the command's config (search has two).
    /// </summary>
    public void AddRunOptions(Command c, params string[] trainingSections)
    {
        void Add<T>(Option<T> o, string key)
        {
            c.Options.Add(o);
            foreach (string section in trainingSections) Map(o, $"{section}.{key}");
        }
        Add(new Option<int>("--memory-limit-mb") { Description = "Refuse the run up front when its memory estimate exceeds N MB (default: the available memory; 0: no check)" }, "memory_limit_mb");
        Add(new Option<int>("--keep-checkpoints") { Description = "Resumable checkpoints kept under checkpoints/, the newest (default 2)" }, "keep_checkpoints");
        Add(new Option<bool>("--drop-checkpoints") { Description = "Delete checkpoints/ when training ran to its end, keeping best/ (saves the disk; --resume then starts over)" }, "drop_checkpoints");
        Add(new Option<int>("--skip-nonfinite") { Description = "Skip up to N steps with a NaN/Inf loss or gradient (no update, logged) before stopping (default 0: stop at the first)" }, "max_bad_steps");
    }

    /// <summary>--config, or with --resume and no --config the run folder's own config.resolved.json (flags still override).</summary>
    public static string? ConfigOrRunConfig(ParseResult r, CommonOptions o, string? command = null)
    {
        if (r.GetValue(o.Config) is string given) return given;
        if (r.GetValue(o.Resume) && r.GetValue(o.Out) is string outDir)
        {
            string saved = Path.Combine(outDir, "config.resolved.json");
            if (File.Exists(saved))
            {
                // Refuse a damaged folder, or one of another command or version, before reading settings from it.
                if (command != null) Reports.RunFolder.ReadResolved(saved, command);
                return saved;
            }
        }
        return null;
    }

    /// <summary>Applies --threads and --device; returns the device to train on.</summary>
    public static torch.Device Setup(string? device, int? threads)
    {
        if (threads is int n)
        {
            if (n < 1) throw DistilException.Usage($"--threads must be at least 1 (got {n})");
            torch.set_num_threads(n);
        }
        string d = device ?? "cpu";
        if (d.StartsWith("cuda") && !torch.cuda.is_available())
            throw DistilException.Usage($"--device {d}: CUDA is not available here; install TorchSharp's CUDA runtime package (TorchSharp-cuda-linux) or use --device cpu");
        try { return torch.device(d); }
        catch (Exception e) { throw DistilException.Usage($"--device '{d}' is not a device ({e.Message}); use cpu or cuda[:i]"); }
    }
}
