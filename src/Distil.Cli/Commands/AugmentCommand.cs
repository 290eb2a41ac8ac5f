using System.CommandLine;
using Distil.Augment;
using Distil.Checkpoints;
using Distil.Data;
using Distil.Labels;
using Distil.Text;
using Spectre.Console;
using TorchSharp;

namespace Distil.Cli.Commands;

/// <summary>`distil augment`: TinyBERT word-replacement augmentation of a data file, labelled by a teacher.</summary>
public static class AugmentCommand
{
    public static Command Create()
    {
        var teacher = new Option<string>("--teacher") { Description = OptionMeanings.Describe("--teacher", "; it labels the copies, its MLM head or word embeddings propose words"), Required = true };
        var data = new Option<string>("--data") { Description = OptionMeanings.Describe("--data", ": the file to augment (.tsv, .csv, .jsonl)"), Required = true };
        var output = new Option<string>("--out") { Description = OptionMeanings.Describe("--out", ": the augmented set (.tsv)"), Required = true };
        var copies = new Option<int>("--augment") { Description = OptionMeanings.Describe("--augment", "; copies equal to the original or to each other are dropped unless --keep-duplicates (default 4; TinyBERT uses 20-30)"), DefaultValueFactory = _ => 4 };
        var p = new Option<double>("--augment-p") { Description = OptionMeanings.Describe("--augment-p", "(default 0.4)"), DefaultValueFactory = _ => 0.4 };
        var candidates = new Option<int>("--augment-candidates") { Description = OptionMeanings.Describe("--augment-candidates", "(default 15)"), DefaultValueFactory = _ => 15 };
        var seed = new Option<int>("--augment-seed") { Description = OptionMeanings.Describe("--augment-seed", "(default 42)"), DefaultValueFactory = _ => 42 };
        var all = new Option<bool>("--keep-duplicates") { Description = "Keep all N copies, also those equal to the original or to each other" };
        var noMlm = new Option<bool>("--no-mlm") { Description = "Use embedding neighbours even when the teacher has a masked-LM head" };
        var format = OptionMeanings.Create<string?>("--format");
        var text = OptionMeanings.Create<string?>("--text-column");
        var pair = OptionMeanings.Create<string?>("--text-pair-column", "(kept as is)");
        var domain = OptionMeanings.Create<string?>("--domain-column", "(copied to each augmented row)");
        var maxLen = new Option<int>("--max-seq-len") { Description = OptionMeanings.Describe("--max-seq-len", "for the teacher (default 128)"), DefaultValueFactory = _ => 128 };
        var batch = new Option<int>("--batch-size") { Description = OptionMeanings.Describe("--batch-size", "of the teacher (default 64)"), DefaultValueFactory = _ => 64 };
        var skip = OptionMeanings.Create<bool>("--skip-bad-rows");
        var threads = OptionMeanings.Create<int?>("--threads", "of Torch (default: all cores)");
        var device = OptionMeanings.Create<string?>("--device");
        var store = OptionMeanings.Create<string?>("--label-store");
        var cmd = new Command("augment", """
            TinyBERT data augmentation: replace words by candidates from the teacher's masked-LM head (single-piece words,
            when the checkpoint has one) or by nearest neighbours in its word-embedding table (cosine), N copies per
            example, each word replaced with probability p; every copy is labelled by the teacher. The output TSV has
            the columns row, original, augmented, text_pair, teacher_label, teacher_probs, domain.
            `distil distill --augment N` (and --augment-p, --augment-candidates, --augment-seed) does the same on its training set (labelled through the same label store).

            Example:
              distil augment --teacher runs/ft/best --data data/uci-sentiment/train.domain.tsv --out runs/train.aug.tsv --augment 4
            """);
        foreach (var o in new Option[] { teacher, data, output, copies, p, candidates, seed, all, noMlm, format, text, pair, domain, maxLen, batch, skip, threads, device, store })
            cmd.Options.Add(o);
        RetiredNames.AddTo(cmd);
        cmd.SetAction(r =>
        {
            var options = new AugmentOptions
            {
                Copies = r.GetValue(copies), P = r.GetValue(p), Candidates = r.GetValue(candidates), Seed = r.GetValue(seed),
                Distinct = !r.GetValue(all), UseMlm = !r.GetValue(noMlm),
            };
            options.Validate();
            if (options.Copies == 0) throw DistilException.Usage("--augment 0 makes no copies; give N >= 1");
            var dev = CommonOptions.Setup(r.GetValue(device), r.GetValue(threads));
            string dir = r.GetValue(teacher)!;
            var (model, _) = ModelFolder.LoadForClassification(dir);
            model.to(dev);
            var tokenizer = BertTextTokenizer.FromFolder(dir);
            Column? C(Option<string?> o) => r.GetValue(o) is string s ? Column.Parse(s) : null;
            string? fmt = r.GetValue(format);
            var file = DatasetReader.Read(r.GetValue(data)!, new ColumnMapping(C(text), C(pair), null, C(domain)),
                fmt != null ? DataFormats.Parse(fmt) : null, skipBadRows: r.GetValue(skip));
            var augmenter = TeacherAugmentation.Augmenter(dir, model.bert.embeddings.word_embeddings.weight!, tokenizer, options, r.GetValue(maxLen), dev, Console.WriteLine);
            var labels = TeacherLabels.Open(r.GetValue(store), r.GetValue(data)!, new TorchLabelTeacher(dir, model, tokenizer, r.GetValue(maxLen), dev), r.GetValue(batch), Console.WriteLine);
            var rows = TeacherAugmentation.Create(augmenter, labels, model.Config.Labels, file.Examples, Console.WriteLine);
            string path = r.GetValue(output)!;
            AugmentedSet.Write(path, model.Config.Labels, rows);

            var table = new Table().AddColumns("original", "augmented", "teacher");
            foreach (var row in rows.Take(5)) table.AddRow(Markup.Escape(row.Original), Markup.Escape(row.Augmented), Markup.Escape(row.TeacherLabel));
            AnsiConsole.Write(table);
            int changed = rows.Select(x => x.Row).Distinct().Count();
            AnsiConsole.MarkupLineInterpolated($"{rows.Count} augmented rows from {changed} of {file.Count} examples written to {path}");
            return ExitCodes.Ok;
        });
        return cmd;
    }
}
