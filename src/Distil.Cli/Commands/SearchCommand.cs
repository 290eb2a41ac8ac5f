using System.CommandLine;
using Distil.Pipelines;
using Distil.Reports;
using Distil.Search;
using Spectre.Console;

namespace Distil.Cli.Commands;

/// <summary>`distil search`: AdaBERT — search a CNN student for the task, derive it, retrain it, compare with the teacher.</summary>
public static class SearchCommand
{
    public static Command Create()
    {
        var common = new CommonOptions();
        var deriveOnly = new Option<string?>("--derive-only") { Description = "Print and write the genotype of the search in run folder RUN (no training)" };
        var cmd = new Command("search", """
            AdaBERT: differentiable architecture search of a small CNN student guided by the fine-tuned teacher
            (probe-based distillation + a measured-latency efficiency loss), then derive the architecture and retrain it.
            One run does all stages; each is resumable (--resume). best/ is a model folder that eval and predict load.

            Examples:
              distil search --teacher runs/ft/best --train data/uci-sentiment/train.domain.tsv --dev data/uci-sentiment/dev.domain.tsv --test data/uci-sentiment/test.domain.tsv --max-seq-len 64 --out runs/adabert
              distil search --out runs/adabert --resume
              distil search --derive-only runs/adabert
            """);
        common.AddTo(cmd);
        cmd.Options.Add(deriveOnly);
        void Add<T>(Option<T> o, string path) { cmd.Options.Add(o); common.Map(o, path); }
        Add(OptionMeanings.Create<string?>("--teacher"), "teacher");
        Add(new Option<int>("--k-max") { Description = "Most cells (default 8)" }, "search.k_max");
        Add(new Option<int>("--hidden") { Description = "Student width (default 128)" }, "search.hidden_size");
        Add(new Option<double>("--gamma") { Description = "KD weight in (1-gamma) CE + gamma KD + beta L_E (default 0.8)" }, "search.gamma");
        Add(new Option<double>("--beta") { Description = "Efficiency loss weight (default 4)" }, "search.beta");
        Add(new Option<string>("--cost-normalisation") { Description = "L_E op costs: softmax (default, the paper's form) or max (t/t_max, collapses to identity cells)" }, "search.cost_normalisation");
        Add(new Option<double>("--latency-budget-ms") { Description = "Make L_E a budget: penalise expected cell latency (batch 1) above this many ms" }, "search.latency_budget_ms");
        Add(new Option<double>("--arch-lr") { Description = "Adam learning rate of alpha (default 3e-3)" }, "search.arch_learning_rate");
        Add(new Option<int>("--search-epochs") { Description = "Search epochs (default 10)" }, "search_training.epochs");
        Add(new Option<double>("--search-lr") { Description = "Adam learning rate of the supernet weights (default 1e-3)" }, "search_training.learning_rate");
        Add(new Option<int>("--search-max-steps") { Description = "Stop the search after N steps" }, "search_training.max_steps");
        Add(new Option<int>("--retrain-epochs") { Description = "Retraining epochs of the derived student (default 5)" }, "retrain.training.epochs");
        Add(new Option<double>("--retrain-lr") { Description = "Peak learning rate of retraining (default 1e-3)" }, "retrain.training.learning_rate");
        Add(OptionMeanings.Create<int>("--augment", "; TinyBERT word replacement, labelled by the teacher through the label store; retrains on the rows plus the copies (default 0 = off)"), "retrain.augment.copies");
        Add(new Option<string>("--token-pooling") { Description = "CNN pooling over tokens before each head: mean (default, the paper's) or max (max over time)" }, "search.token_pooling");
        Add(new Option<string>("--cnn-head") { Description = "CNN classifier input: pooled (default, the paper's: all tokens in one vector) or pair (each text of a pair pooled apart, then [u, v, |u-v|, u*v])" }, "search.cnn_head");
        Add(new Option<string>("--retrain-cells") { Description = "Retrain the derived cells (derived, default) or the same depth and edges with identity ops only (identity: the ablation that shows what the searched operations add)" }, "retrain.cells");
        Add(new Option<double>("--retrain-temperature") { Description = "KD temperature of retraining (default 1)" }, "retrain.temperature");
        Add(OptionMeanings.Create<double>("--augment-p", "(default 0.4)"), "retrain.augment.p");
        Add(OptionMeanings.Create<int>("--augment-candidates", "(default 15)"), "retrain.augment.candidates");
        Add(OptionMeanings.Create<int>("--augment-seed", "(default 42)"), "retrain.augment.seed");
        Add(OptionMeanings.Create<string?>("--transfer", "; retrains also on them"), "retrain.transfer.path");
        Add(OptionMeanings.Create<int>("--transfer-max-rows", "(default 0)"), "retrain.transfer.max_rows");
        Add(OptionMeanings.Create<string?>("--label-store"), "label_store");
        Add(OptionMeanings.Create<int>("--batch-size", "of search and retraining (default 32)"), "search_training.batch_size");
        Add(OptionMeanings.Create<int>("--seed", ": search and retraining (default 42)"), "search_training.seed");
        common.AddDataOptions(cmd, new SearchConfig().Data);
        common.AddRunOptions(cmd, "search_training", "retrain.training");
        cmd.SetAction(r =>
        {
            if (r.GetValue(deriveOnly) is string runDir)
            {
                var g = SearchPipeline.DeriveOnly(runDir);
                AnsiConsole.MarkupLineInterpolated($"{g}");
                AnsiConsole.MarkupLineInterpolated($"written to {Path.Combine(runDir, "genotype.json")}");
                return ExitCodes.Ok;
            }
            var overrides = common.Overrides(r);
            // One --batch-size / --seed for both stages.
            if (overrides.TryGetValue("search_training.batch_size", out var bs)) overrides["retrain.training.batch_size"] = bs;
            if (overrides.TryGetValue("search_training.seed", out var seed)) overrides["retrain.training.seed"] = seed;
            var (result, run) = PipelineCommand.Run<SearchConfig, SearchRunResult>(r, common, "search", SearchPipeline.Run, overrides);
            ModelTable.Print([result.Teacher, result.Student], nonEmbedding: "outside tables", latencyDigits: 2);
            AnsiConsole.MarkupLineInterpolated($"genotype: {result.Genotype}");
            AnsiConsole.MarkupLineInterpolated($"search {result.Search.Seconds:F0} s, retrain {result.RetrainSeconds:F0} s; student: {run.BestDir}   report: {run.ReportPath}");
            return ExitCodes.Ok;
        });
        return cmd;
    }
}
