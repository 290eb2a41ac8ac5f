using System.CommandLine;
using Distil.Augment.L2A;
using Distil.Pipelines;
using Distil.Reports;
using Spectre.Console;

namespace Distil.Cli.Commands;

/// <summary>`distil l2a`: learning to augment for KD into a data-scarce target domain (docs/l2a.md).</summary>
public static class L2aCommand
{
    public static Command Create()
    {
        var common = new CommonOptions();
        var cmd = new Command("l2a", """
            L2A (Feng et al. 2021, reconstructed; docs/l2a.md): distil a teacher into a student for a target domain with
            little labelled data. Keeps --data-portion of the target's training rows, generates candidates (a
            corrupt-and-reconstruct chain on the target, words borrowed into source-domain examples), labels them with
            the teacher, rejects the least target-like by a discriminator, trains a reinforced selector whose reward is
            the student's held-out target improvement, and compares KD students trained on: none (target only), eda
            (random edits), tinybert (word replacement, no selection), pool (all candidates) and l2a (selected).
            Writes selected.tsv, candidates.tsv, selector-reward.png, report.md, result.json and arms/NAME/.

            Example:
              distil l2a --teacher runs/ft/best --target imdb --sources amazon,yelp --train data/uci-sentiment/train.domain.tsv --dev data/uci-sentiment/dev.domain.tsv --test data/uci-sentiment/test.domain.tsv --data-portion 0.05 --out runs/l2a
            """);
        common.AddTo(cmd);
        void Add<T>(Option<T> o, string path) { cmd.Options.Add(o); common.Map(o, path); }
        Add(OptionMeanings.Create<string?>("--teacher"), "teacher");
        Add(OptionMeanings.Create<string?>("--label-store"), "label_store");
        Add(new Option<string?>("--target") { Description = "The data-scarce target domain (a value of the domain column)" }, "target");
        Add(new Option<string?>("--sources") { Description = "Source domains, comma-separated (e.g. amazon,yelp)" }, "sources");
        Add(OptionMeanings.Create<double>("--data-portion", ", of the target domain, per label (default 0.05)"), "data_portion");
        Add(new Option<string?>("--arms") { Description = "Arms to compare: none,eda,tinybert,pool,l2a (default all)" }, "arms");
        Add(OptionMeanings.Create<string?>("--student", "(default L2-H384)"), "student");
        Add(OptionMeanings.Create<string?>("--init", "; here random or teacher (default)"), "init");
        Add(OptionMeanings.Create<int>("--augment", ", of the target domain, for eda, tinybert and the corrupt-and-reconstruct chain (default 4)"), "augment_copies");
        Add(OptionMeanings.Create<int>("--augment-candidates", "(default 10)"), "augment_candidates");
        Add(new Option<string?>("--generator") { Description = "Generators: learned (default: a masked-LM head on the frozen teacher, trained on source + target text, then by REINFORCE from the discriminator and the student's dev gain; a teacher that is not BERT-family falls back to fixed) or fixed (parameter-free refills from the teacher, the ablation)" }, "generator");
        Add(new Option<int>("--generator-steps") { Description = "Masked-LM steps of the learned generator's head (default 150)" }, "generator_mlm_steps");
        Add(new Option<int>("--generator-rl-steps") { Description = "REINFORCE steps of the learned generator (default 40; 0 = masked-LM only)" }, "generator_rl_steps");
        Add(new Option<int>("--selector-steps") { Description = "REINFORCE steps of the selector (default 60)" }, "selector_steps");
        common.AddDataOptions(cmd, new L2aConfig().Data);
        common.AddTrainingOptions(cmd, new L2aConfig().Training);
        cmd.SetAction(r =>
        {
            // RunFolder.Run keeps the folder once anything resumable exists (arms/NAME/ of a finished arm).
            var (result, run) = PipelineCommand.Run<L2aConfig, L2aResult>(r, common, "l2a", L2aPipeline.Run);
            var table = new Table().AddColumns("arm", "train rows", "dev acc", "test acc", "teacher test acc");
            foreach (var a in result.Arms)
                table.AddRow(a.Name, $"{a.TargetRows} + {a.AugmentedRows}", $"{100 * a.DevAccuracy:F2}%", double.IsNaN(a.TestAccuracy) ? "-" : $"{100 * a.TestAccuracy:F2}%",
                    double.IsNaN(a.TeacherTestAccuracy) ? "-" : $"{100 * a.TeacherTestAccuracy:F2}%");
            AnsiConsole.Write(table);
            AnsiConsole.MarkupLineInterpolated($"selected {result.Selected} of {result.PoolSize} candidates: {Path.Combine(run.Dir, "selected.tsv")}   report: {run.ReportPath}");
            return ExitCodes.Ok;
        });
        return cmd;
    }
}
