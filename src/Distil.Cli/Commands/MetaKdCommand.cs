using System.CommandLine;
using Distil.MetaKD;
using Distil.Pipelines;
using Distil.Reports;
using Spectre.Console;

namespace Distil.Cli.Commands;

/// <summary>`distil metakd`: Meta-KD (meta-teacher across domains, meta-distillation into per-domain students) and its baselines.</summary>
public static class MetaKdCommand
{
    public static Command Create()
    {
        var common = new CommonOptions();
        var cmd = new Command("metakd", """
            Meta-KD: fine-tune a meta-teacher on all domains (prototype-score weights + domain-corruption loss), then distil it
            into one student per domain (stage 1: λ-weighted embedding/hidden/attention MSE + domain-knowledge term; stage 2:
            soft CE on the teacher's predictions). Baselines through the same code: --teacher-mode single|mix --distill tinybert.
            --model is the pre-trained encoder (with vocab.txt) every teacher is fine-tuned from; --teacher an already
            fine-tuned teacher to use instead of training one. Each stage resumes.

            Examples:
              distil metakd --model minilm --train data/uci-sentiment/train.domain.tsv --dev data/uci-sentiment/dev.domain.tsv --test data/uci-sentiment/test.domain.tsv --domains amazon,imdb,yelp --student L4-H312 --out runs/metakd
              distil metakd ... --teacher-mode single --distill tinybert --out runs/bert-s       (BERT-s -> TinyBERT-KD)
              distil metakd ... --teacher-mode mix --distill tinybert --teacher runs/ft/best --out runs/bert-mix
              distil metakd ... --data-portion 0.1 --out runs/metakd-10pct      distil metakd ... --holdout-domain imdb --out runs/metakd-zero-imdb
              distil metakd --out runs/metakd --resume
            """);
        common.AddTo(cmd);
        void Add<T>(Option<T> o, string path) { cmd.Options.Add(o); common.Map(o, path); }
        Add(OptionMeanings.Create<string?>("--model", ": the pre-trained encoder folder (config.json, model.safetensors, vocab.txt) every teacher is fine-tuned from; --init model copies its layers"), "model");
        Add(new Option<string?>("--domains") { Description = "Comma-separated domains (default: all in the training data)" }, "domains");
        Add(new Option<string?>("--teacher-mode") { Description = "meta (default), mix (BERT-mix) or single (BERT-s, one teacher per domain)" }, "teacher_mode");
        Add(OptionMeanings.Create<string?>("--teacher", "; used instead of training one (meta: RUN/teacher/best of a meta run; mix: any fine-tuned folder)"), "teacher");
        Add(new Option<string?>("--distill") { Description = "metakd (default), tinybert or kd" }, "distill");
        Add(new Option<string?>("--student-scope") { Description = "per-domain (default: one student per domain) or all (one student)" }, "student_scope");
        Add(OptionMeanings.Create<string?>("--student", "(default L4-H312)"), "student");
        Add(OptionMeanings.Create<string?>("--init", "; here model (default) or random"), "init");
        Add(OptionMeanings.Create<string?>("--pooling", "; of the teachers (default mean)"), "pooling");
        Add(new Option<double>("--gamma1") { Description = "Weight of the domain-corruption loss of the meta-teacher (default 0.5)" }, "gamma1");
        Add(new Option<double>("--gamma2") { Description = "Weight of the transferable domain knowledge term in stage 1 (default 0.5)" }, "gamma2");
        Add(OptionMeanings.Create<double>("--temperature", "(stage 2 soft CE, and --distill kd; default 1)"), "temperature");
        Add(OptionMeanings.Create<double>("--data-portion", ", per domain (few-shot; default 1)"), "data_portion");
        Add(new Option<string?>("--holdout-domain") { Description = "Train the teacher without this domain, then distil a student for it (zero-shot)" }, "holdout_domain");
        Add(new Option<int>("--stage1-epochs") { Description = "Epochs of stage 1, intermediate layers (default 3; 0 skips it)" }, "stage1_epochs");
        Add(new Option<int>("--stage2-epochs") { Description = "Epochs of stage 2, predictions (default 3)" }, "stage2_epochs");
        Add(new Option<double>("--stage1-lr") { Description = "Learning rate of stage 1 (default 5e-5)" }, "stage1_lr");
        Add(new Option<double>("--stage2-lr") { Description = "Learning rate of stage 2 (default 3e-5)" }, "stage2_lr");
        common.AddDataOptions(cmd, new MetaKdConfig().Data);
        common.AddTrainingOptions(cmd, new MetaKdConfig().Training);
        cmd.SetAction(r =>
        {
            var (result, run) = PipelineCommand.Run<MetaKdConfig, MetaKdResult>(r, common, "metakd", MetaKdPipeline.Run);
            var table = new Table().AddColumns(new[] { "teacher → student" }.Concat(result.Domains).Append("Avg").ToArray());
            foreach (var row in new[] { result.Teacher, result.Student })
            {
                var cells = MetaKdReport.Cells(row);
                table.AddRow(new[] { Markup.Escape(row.Name) }.Concat(result.Domains.Append("Avg").Select(d => cells.TryGetValue(d, out var v) ? v : "-")).ToArray());
            }
            AnsiConsole.Write(table);
            AnsiConsole.MarkupLineInterpolated($"report: {run.ReportPath}");
            return ExitCodes.Ok;
        });
        return cmd;
    }
}
