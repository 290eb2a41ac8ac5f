using System.CommandLine;
using System.Text.Json.Nodes;
using TorchSharp;

namespace Distil.Cli;

/// <summary>Options every training command shares, and the mapping from given flags to config keys.</summary>
public sealed class CommonOptions
{
    public readonly Option<string?> Config = new("--config") { Description = "JSON config file; flags given on the command line override it" };
    public readonly Option<string?> Out = new("--out") { Description = "Run folder (config, metrics.jsonl, checkpoints/, best/, report.md)" };
    public readonly Option<bool> Resume = new("--resume") { Description = "Continue the run in --out from its last checkpoint" };
    public readonly Option<string?> Device = new("--device") { Description = "cpu or cuda[:i] (cuda needs TorchSharp's CUDA runtime package)" };
    public readonly Option<int?> Threads = new("--threads") { Description = "Torch CPU threads (default: all cores)" };

    readonly List<(Option Option, string Path)> mapped = new();

    public void AddTo(Command c)
    {
        foreach (var o in new Option[] { Config, Out, Resume, Device, Threads }) c.Options.Add(o);
        Map(Out, "out"); Map(Device, "device"); Map(Threads, "threads");
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
    public void AddDataOptions(Command c)
    {
        void Add<T>(Option<T> o, string path) { c.Options.Add(o); Map(o, path); }
        Add(new Option<string?>("--train") { Description = "Training data (.tsv, .csv, .jsonl) or a GLUE folder with --glue-task" }, "data.train");
        Add(new Option<string?>("--dev") { Description = "Dev data: evaluated during training, picks best/" }, "data.dev");
        Add(new Option<string?>("--test") { Description = "Test data: evaluated once with best/ at the end" }, "data.test");
        Add(new Option<string?>("--format") { Description = "tsv, csv or jsonl (default: from the extension)" }, "data.format");
        Add(new Option<string?>("--glue-task") { Description = "sst2, cola, mrpc, qqp, qnli, rte or mnli: that task's files and columns" }, "data.glue_task");
        Add(new Option<string?>("--text-column") { Description = "Column of the text (name or 0-based index)" }, "data.text_column");
        Add(new Option<string?>("--text-pair-column") { Description = "Column of the second text of a pair" }, "data.text_pair_column");
        Add(new Option<string?>("--label-column") { Description = "Column of the label" }, "data.label_column");
        Add(new Option<string?>("--domain-column") { Description = "Column of the domain (per-domain metrics)" }, "data.domain_column");
        Add(new Option<bool>("--skip-bad-rows") { Description = "Skip malformed rows (counted in the report) instead of stopping" }, "data.skip_bad_rows");
        Add(new Option<int>("--max-seq-len") { Description = "Tokens per example incl. [CLS]/[SEP] (default 128)" }, "data.max_seq_len");
    }

    /// <summary>The optimisation flags of every training command, mapped to the "training" section.</summary>
    public void AddTrainingOptions(Command c)
    {
        void Add<T>(Option<T> o, string path) { c.Options.Add(o); Map(o, path); }
        Add(new Option<int>("--epochs") { Description = "Epochs (default 3)" }, "training.epochs");
        Add(new Option<int>("--batch-size") { Description = "Batch size (default 32)" }, "training.batch_size");
        Add(new Option<double>("--lr") { Description = "Peak learning rate of AdamW (default 5e-5)" }, "training.learning_rate");
        Add(new Option<double>("--weight-decay") { Description = "AdamW weight decay (default 0.01)" }, "training.weight_decay");
        Add(new Option<double>("--warmup-ratio") { Description = "Fraction of steps of linear warm-up (default 0.1)" }, "training.warmup_ratio");
        Add(new Option<int>("--seed") { Description = "Seed of data order, dropout and new weights (default 42)" }, "training.seed");
        Add(new Option<int>("--eval-every") { Description = "Evaluate every N steps (default: each epoch)" }, "training.eval_every_steps");
        Add(new Option<int>("--save-every") { Description = "Checkpoint every N steps (default: each epoch)" }, "training.save_every_steps");
        Add(new Option<int>("--max-steps") { Description = "Stop after N steps in all" }, "training.max_steps");
        Add(new Option<int>("--memory-limit-mb") { Description = "Refuse the run up front when its memory estimate exceeds N MB (default: the available memory; 0: no check)" }, "training.memory_limit_mb");
        Add(new Option<int>("--keep-checkpoints") { Description = "Resumable checkpoints kept under checkpoints/, the newest (default 2)" }, "training.keep_checkpoints");
        Add(new Option<bool>("--drop-checkpoints") { Description = "Delete checkpoints/ when training ran to its end, keeping best/ (saves the disk; --resume then starts over)" }, "training.drop_checkpoints");
        Add(new Option<int>("--skip-nonfinite") { Description = "Skip up to N steps with a NaN/Inf loss or gradient (no update, logged) before stopping (default 0: stop at the first)" }, "training.max_bad_steps");
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
