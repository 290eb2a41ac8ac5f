using System.CommandLine;
using System.Text.Json;
using Distil.Baselines;
using Distil.Reports;
using Spectre.Console;

namespace Distil.Cli.Commands;

/// <summary>`distil baseline`: non-neural baselines on a task's files, scored as `eval` scores models (docs/baselines.md).</summary>
public static class BaselineCommand
{
    public static Command Create()
    {
        var common = new CommonOptions();
        var output = OptionMeanings.Create<string?>("--out", ": a new folder for config.resolved.json, result.json and report.md (each written atomically); without it the table is only printed");
        var cmd = new Command("baseline", """
            Non-neural baselines on the same files and with the same metrics as finetune / eval, so their numbers can sit
            beside the models' (docs/baselines.md). Per task:
              sequence (texts or pairs): majority class; tf-idf (word unigrams + bigrams) logistic regression, C chosen on dev
                (pairs: each side's terms apart, a:/b:, plus word-overlap features)
              token (CoNLL / JSONL): each word's most frequent training tag, unknown words O (entity P/R/F1 as seqeval)
              regression: the mean training score; ridge regression on tf-idf (Pearson / Spearman)
              multi-label: each label's training frequency; one-vs-rest logistic regression at --threshold (micro / macro F1)
              SQuAD JSON (found from the data): a word-overlap sliding-window span baseline (EM / F1, official normalisation)
            Fits are full-batch L-BFGS with a fixed iteration budget: the same files give the same figures.

            Examples:
              distil baseline --train data/uci-sentiment/train.domain.tsv --dev data/uci-sentiment/dev.domain.tsv --test data/uci-sentiment/test.domain.tsv --out runs/base-uci
              distil baseline --task token --train data/wordnet-supersense/train.conll --dev data/wordnet-supersense/dev.conll --test data/wordnet-supersense/test.conll
              distil baseline --train data/wordnet-qa/train.json --dev data/wordnet-qa/dev.json --test data/wordnet-qa/test.json
            """);
        cmd.Options.Add(common.Config);
        cmd.Options.Add(output);
        common.Map(output, "out");
        common.AddDataOptions(cmd, sequenceLength: false);
        common.AddTaskOptions(cmd, "; the baselines follow it (sequence texts or pairs, token, regression, multi-label; SQuAD JSON is found from the data)");
        RetiredNames.AddTo(cmd);
        cmd.SetAction(r =>
        {
            var (config, resolved) = ConfigResolver.Resolve<BaselineConfig>(r.GetValue(common.Config), common.Overrides(r));
            config.Validate();
            BaselineResult result;
            if (config.Out is string dir)
            {
                var run = RunFolder.Create(dir, "baseline", resolved, resume: false);
                result = run.Run(() =>
                {
                    var res = BaselinePipeline.Run(config, m => AnsiConsole.MarkupLineInterpolated($"[grey]{m}[/]"));
                    RunFolder.WriteAtomic(Path.Combine(run.Dir, "result.json"), JsonSerializer.Serialize(res, new JsonSerializerOptions { WriteIndented = true }));
                    RunFolder.WriteAtomic(run.ReportPath, BaselinePipeline.Report(res, config));
                    return res;
                });
                Print(result);
                AnsiConsole.MarkupLineInterpolated($"report: {run.ReportPath}");
            }
            else
            {
                result = BaselinePipeline.Run(config, m => AnsiConsole.MarkupLineInterpolated($"[grey]{m}[/]"));
                Print(result);
            }
            return ExitCodes.Ok;
        });
        return cmd;
    }

    static void Print(BaselineResult r)
    {
        var cols = BaselinePipeline.Columns(r);
        var table = new Table().AddColumns(["baseline", "split", "examples", .. cols]);
        foreach (var run in r.Baselines)
            foreach (var s in run.Splits)
            {
                double n = s.Metrics.GetValueOrDefault("examples", s.Metrics.GetValueOrDefault("questions"));
                table.AddRow([run.Name, s.Split, $"{n:F0}", .. cols.Select(k => s.Metrics.TryGetValue(k, out var v) ? BaselinePipeline.Format(r.Task, k, v) : "")]);
            }
        AnsiConsole.Write(table);
        foreach (var run in r.Baselines.Where(x => x.Setting != null))
            AnsiConsole.MarkupLineInterpolated($"{run.Name}: {run.Setting}");
    }
}
