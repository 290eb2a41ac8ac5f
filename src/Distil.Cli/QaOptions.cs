using System.CommandLine;
using System.Text.Json;
using Distil.Checkpoints;
using Distil.Data;
using Distil.FineTune;
using Distil.Reports;
using Distil.Text;
using Distil.Training;
using Spectre.Console;
using TorchSharp;

namespace Distil.Cli;

/// <summary>The extractive-QA flags (docs/tasks.md §Extractive QA) and how finetune/eval/predict show QA results.</summary>
public static class QaOptions
{
    public static Option<int?> DocStride() => OptionMeanings.Create<int?>("--doc-stride", "(default: a quarter of --max-seq-len)");
    public static Option<int?> MaxAnswerLength() => OptionMeanings.Create<int?>("--max-answer-length", "(default 30)");
    public static Option<double?> NullThreshold() => OptionMeanings.Create<double?>("--null-threshold", "(default 0)");

    /// <summary>The flags of a training command, mapped to its "qa" section.</summary>
    public static void AddTo(Command c, CommonOptions common)
    {
        void Add<T>(Option<T> o, string path) { c.Options.Add(o); common.Map(o, path); }
        Add(DocStride(), "qa.doc_stride");
        Add(MaxAnswerLength(), "qa.max_answer_length");
        Add(NullThreshold(), "qa.null_threshold");
    }

    public static void Print(IReadOnlyList<SplitMetrics> splits, RunFolder run)
    {
        var table = new Table().AddColumns("split", "questions", "exact match", "F1");
        foreach (var (split, m) in splits)
            table.AddRow(split, $"{m.GetValueOrDefault("questions"):F0}", $"{m["exact"]:F2}", $"{m["f1"]:F2}");
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLineInterpolated($"best model: {run.BestDir}   report: {run.ReportPath}");
    }

    /// <summary>`distil eval` on a SQuAD file: EM/F1 (and HasAns/NoAns for 2.0) of a QA folder.</summary>
    public static Dictionary<string, double> Eval(string modelDir, string dataPath, QaSettings qa, int maxSeqLen, int batchSize, bool skipBadRows, TorchSharp.torch.Device device)
    {
        var (model, _) = QaFolder.Load(modelDir);
        using (model)
        {
            model.to(device);
            var tokenizer = TokenizerFolder.Load(modelDir);
            var split = QaSplit.Load(dataPath, tokenizer, qa.Windowing(maxSeqLen), skipBadRows);
            model.eval();
            var (_, metrics) = QuestionAnswering.Evaluate(i => { var o = model.forward(i); return (o.StartLogits, o.EndLogits); },
                split, qa.Decoding(split.File.HasImpossible), batchSize, tokenizer.Pad, device);
            var table = new Table().AddColumns("metric", "value");
            foreach (var (k, v) in metrics) table.AddRow(k, k is "questions" ? $"{v:F0}" : $"{v:F2}");
            AnsiConsole.Write(table);
            if (split.File.Skipped > 0) AnsiConsole.MarkupLineInterpolated($"[yellow]{split.File.Skipped} bad questions skipped[/]");
            return metrics;
        }
    }

    /// <summary>`distil predict` on a QA folder: --text is the question, --pair its context.</summary>
    public static void Predict(string modelDir, IReadOnlyList<(string Text, string? Pair)> inputs, QaSettings qa, int maxSeqLen, bool json)
    {
        if (inputs.Any(x => x.Pair == null))
            throw DistilException.Usage($"{modelDir} answers questions: give each --text (the question) a --pair (its context), or --input lines 'question<TAB>context'");
        var pairs = inputs.Select(x => (x.Text, x.Pair!)).ToList();
        IReadOnlyList<QaAnswer> answers;
        // An export folder (distil export / quantize of a QA model) runs in ONNX Runtime.
        if (File.Exists(Path.Combine(modelDir, "model.onnx")) && !File.Exists(Path.Combine(modelDir, ModelFolder.WeightsFile)))
        {
            using var onnx = Distil.Deploy.DistilQaPredictor.Load(modelDir, new Distil.Deploy.PredictorOptions { MaxSeqLen = maxSeqLen }, qa);
            answers = onnx.Answers(pairs);
        }
        else
        {
            var (model, _) = QaFolder.Load(modelDir);
            using (model)
            {
                model.eval();
                answers = QaAnswering.Answer(model, TokenizerFolder.Load(modelDir), pairs, qa.Windowing(maxSeqLen), qa.Decoding(allowNoAnswer: false), TorchSharp.torch.CPU);
            }
        }
        if (json)
            foreach (var (x, a) in inputs.Zip(answers))
                Console.WriteLine(JsonSerializer.Serialize(new { question = x.Text, answer = a.Text, start = a.Start, end = a.End, score = Math.Round(a.Probability, 6), logit_score = a.Score }));
        else
        {
            var table = new Table().AddColumns("question", "answer", "span", "score");
            foreach (var (x, a) in inputs.Zip(answers))
                table.AddRow(Markup.Escape(x.Text), Markup.Escape(a.Text), $"[{a.Start}, {a.End})", $"{a.Probability:F3}");
            AnsiConsole.Write(table);
        }
    }
}
