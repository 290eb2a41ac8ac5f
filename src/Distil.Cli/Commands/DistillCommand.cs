using System.CommandLine;
using Distil.Distillation;
using Distil.Pipelines;
using Distil.Reports;
using Spectre.Console;

namespace Distil.Cli.Commands;

/// <summary>`distil distill`: distil a fine-tuned teacher into a smaller BERT student.</summary>
public static class DistillCommand
{
    public static Command Create()
    {
        var common = new CommonOptions();
        var cmd = new Command("distill", $"""
            Distil a fine-tuned teacher (a model folder such as runs/ft/best) into a smaller BERT student.
            Presets: {string.Join(", ", DistillationPresets.Names)} (tinybert and minilm run two stages in one command).
            Or give explicit matches in the config file: "matches": [{"{"}"teacher_layer": 6, "student_layer": 2, "feature": "hidden", "loss": "mse", "projection": "linear"{"}"}].

            Examples:
              distil distill --teacher runs/ft/best --student L2-H384 --init teacher --preset kd --train data/uci-sentiment/train.domain.tsv --dev data/uci-sentiment/dev.domain.tsv --out runs/kd
              distil distill --teacher runs/ft/best --student L4-H312 --preset tinybert --config kd.json --out runs/tinybert
              distil distill --teacher runs/ft/best --student L3-H312-A12-I1200 --preset tinybert --augment 4 --train data/uci-sentiment/train.domain.tsv --dev data/uci-sentiment/dev.domain.tsv --out runs/tinybert-aug
              distil distill --teacher runs/ft/best --student albert-L6-H384-E128 --preset tinybert --train data/uci-sentiment/train.domain.tsv --dev data/uci-sentiment/dev.domain.tsv --out runs/albert
              distil distill --teacher runs/ft/best --student L2-H384 --transfer data/wordnet-sentences/sentences.txt --transfer-max-rows 20000 --train data/uci-sentiment/train.domain.tsv --dev data/uci-sentiment/dev.domain.tsv --out runs/kd-transfer
              distil distill --out runs/kd --resume
            """);
        common.AddTo(cmd);
        void Add<T>(Option<T> o, string path) { cmd.Options.Add(o); common.Map(o, path); }
        Add(OptionMeanings.Create<string?>("--teacher"), "teacher");
        Add(OptionMeanings.Create<string?>("--student", "(default L4-H312), or ALBERT albert-L<layers>-H<hidden>-E<embedding>[-A<heads>][-I<ffn>][-G<groups>] (e.g. albert-L6-H384-E128: 6 layers sharing one layer's weights)"), "student");
        Add(new Option<string?>("--student-tokenizer") { Description = "Folder with the student's own tokenizer (e.g. a BERT vocab.txt) when it differs from the teacher's: each side tokenises the text itself; only logits, labels and cls_hidden matches (default: the teacher's tokenizer)" }, "student_tokenizer");
        Add(OptionMeanings.Create<string?>("--init", "; here random (default) or teacher"), "init");
        Add(new Option<string?>("--preset") { Description = $"{string.Join(", ", DistillationPresets.Names)} (default kd)" }, "preset");
        Add(OptionMeanings.Create<double>("--temperature", "(default 2)"), "temperature");
        Add(new Option<double>("--alpha") { Description = "Weight of the hard-label CE: alpha*CE + (1-alpha)*T^2*soft_CE (default 0.5)" }, "alpha");
        Add(OptionMeanings.Create<int>("--augment", "; TinyBERT word replacement, labelled by the teacher through the label store; distils on the rows plus the copies (default 0 = off)"), "augment.copies");
        Add(OptionMeanings.Create<double>("--augment-p", "(default 0.4)"), "augment.p");
        Add(OptionMeanings.Create<int>("--augment-candidates", "(default 15)"), "augment.candidates");
        Add(OptionMeanings.Create<int>("--augment-seed", "(default 42)"), "augment.seed");
        Add(OptionMeanings.Create<string?>("--transfer", "; distils on them too, the teacher's logits as targets and its argmax as the hard label"), "transfer.path");
        Add(OptionMeanings.Create<int>("--transfer-max-rows", "(default 0)"), "transfer.max_rows");
        Add(OptionMeanings.Create<string?>("--label-store"), "label_store");
        common.AddDataOptions(cmd, new DistillConfig().Data);
        common.AddTaskOptions(cmd, "; default: the teacher's (a token classifier, or config.json's problem_type), which a given --task must equal");
        common.AddTrainingOptions(cmd, new DistillConfig().Training);
        QaOptions.AddTo(cmd, common);
        cmd.SetAction(r =>
        {
            var (result, run) = PipelineCommand.Run<DistillConfig, DistillResult>(r, common, "distill", DistillPipeline.Run);
            Print(result, run);
            return ExitCodes.Ok;
        });
        return cmd;
    }

    public static void Print(DistillResult r, RunFolder run)
    {
        ModelTable.Print([r.Teacher, r.Student]);
        AnsiConsole.MarkupLineInterpolated($"student: {run.BestDir}   report: {run.ReportPath}");
    }
}
