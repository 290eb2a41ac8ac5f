using System.CommandLine;
using System.Text.Json;
using Distil.Checkpoints;
using Distil.Data;
using Distil.Models;
using Distil.Text;
using Distil.Training;
using Spectre.Console;

namespace Distil.Cli.Commands;

/// <summary>`distil predict`: label and class probabilities for texts (or text pairs).</summary>
public static class PredictCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = OptionMeanings.Describe("--model", ": a classifier folder (e.g. runs/ft/best), or an export folder (model.onnx: runs in ONNX Runtime)"), Required = true };
        var text = new Option<string[]>("--text") { Description = "Text to classify (repeat for several)", AllowMultipleArgumentsPerToken = false };
        var pair = new Option<string[]>("--pair") { Description = "Second text of a pair, one per --text" };
        var input = new Option<string?>("--input") { Description = "File with one text per line (a tab separates a pair)" };
        var maxLen = new Option<int>("--max-seq-len") { Description = OptionMeanings.Describe("--max-seq-len", "(default 128)"), DefaultValueFactory = _ => 128 };
        var json = new Option<bool>("--json") { Description = "Print JSON lines instead of a table" };
        var (stride, answerLen) = (QaOptions.DocStride(), QaOptions.MaxAnswerLength());
        var threshold = new Option<double>("--threshold") { Description = OptionMeanings.Describe("--threshold", "(default 0.5)"), DefaultValueFactory = _ => 0.5 };
        var cmd = new Command("predict", """
            Predict labels with a model folder; with a question-answering folder, the answer (text, character span,
            score) to each --text (the question) in its --pair (the context).

            Examples:
              distil predict --model runs/ft/best --text "Great phone, works perfectly." --text "Waste of money."
              distil predict --model runs/ft/best --input sentences.txt --json
              distil predict --model runs/ft-sst/best --text "The cat chased the mouse"     (a token classifier: entities with type, text, character span, score)
            A regression model gives its score as the label; a multi-label model the labels at or above --threshold.
              distil predict --model runs/qa/best --text "a domestic cat" --pair "The kitten slept. The dog barked."
            """);
        foreach (var o in new Option[] { model, text, pair, input, maxLen, json, threshold, stride, answerLen }) cmd.Options.Add(o);
        cmd.SetAction(r =>
        {
            var inputs = new List<(string Text, string? Pair)>();
            var texts = r.GetValue(text) ?? Array.Empty<string>();
            var pairs = r.GetValue(pair) ?? Array.Empty<string>();
            if (pairs.Length > 0 && pairs.Length != texts.Length)
                throw DistilException.Usage($"--pair was given {pairs.Length} times but --text {texts.Length} times; give one --pair per --text");
            for (int i = 0; i < texts.Length; i++) inputs.Add((texts[i], pairs.Length > 0 ? pairs[i] : null));
            if (r.GetValue(input) is string file)
            {
                if (!File.Exists(file)) throw DistilException.NotFound($"{file}: input file not found");
                foreach (string line in File.ReadLines(file).Where(l => l.Length > 0))
                {
                    var parts = line.Split('\t', 2);
                    inputs.Add((parts[0], parts.Length > 1 ? parts[1] : null));
                }
            }
            if (inputs.Count == 0) throw DistilException.Usage("nothing to predict: pass --text \"...\" or --input FILE");
            if (QaFolder.IsQa(r.GetValue(model)!) || Distil.Onnx.OrtSpanModel.IsSpanModel(Path.Combine(r.GetValue(model)!, "model.onnx")))
            {
                var qa = new QaSettings { DocStride = r.GetValue(stride), MaxAnswerLength = r.GetValue(answerLen) ?? 30 };
                qa.Validate();
                QaOptions.Predict(r.GetValue(model)!, inputs, qa, r.GetValue(maxLen), r.GetValue(json));
                return ExitCodes.Ok;
            }

            string dir = r.GetValue(model)!;
            if (!IsExport(dir) && TaskModels.KindOf(dir) == TaskKind.Token)
            {
                if (inputs.Any(x => x.Pair != null)) throw DistilException.Usage("a token classifier tags one text; leave out --pair and tabs in --input");
                var found = PredictEntities(dir, inputs.Select(x => x.Text).ToArray(), r.GetValue(maxLen));
                if (r.GetValue(json))
                    foreach (var (t, es) in found)
                        Console.WriteLine(JsonSerializer.Serialize(new { text = t, entities = es.Select(e => new { type = e.Type, text = e.Text, start = e.Start, end = e.End, score = e.Score }) }));
                else
                {
                    var t = new Table().AddColumns("text", "entities (type, text, [start, end), score)");
                    foreach (var (s, es) in found)
                        t.AddRow(Markup.Escape(s), Markup.Escape(string.Join("; ", es.Select(e => $"{e.Type} '{e.Text}' [{e.Start}, {e.End}) {e.Score:F3}"))));
                    AnsiConsole.Write(t);
                }
                return ExitCodes.Ok;
            }
            var predictions = Predict(dir, inputs, r.GetValue(maxLen), r.GetValue(threshold));
            if (r.GetValue(json))
                foreach (var p in predictions) Console.WriteLine(JsonSerializer.Serialize(new { text = p.Text, label = p.Label, probabilities = p.Probabilities, logits = p.Logits }));
            else
            {
                var table = new Table().AddColumns("text", "label", "probabilities");
                foreach (var p in predictions)
                    table.AddRow(Markup.Escape(p.Text), Markup.Escape(p.Label), Markup.Escape(string.Join("  ", p.Probabilities.Select(kv => $"{kv.Key} {kv.Value:F3}"))));
                AnsiConsole.Write(table);
            }
            return ExitCodes.Ok;
        });
        return cmd;
    }

    /// <param name="Logits">The raw logits in label order (what bench/fidelity.sh compares with transformers' semantics).</param>
    public sealed record Prediction(string Text, string Label, Dictionary<string, double> Probabilities, float[] Logits);

    static bool IsExport(string dir) => File.Exists(Path.Combine(dir, "model.onnx")) && !File.Exists(Path.Combine(dir, ModelFolder.WeightsFile));

    static Prediction FromLogits(string text, IReadOnlyList<string> labels, float[] logits, TaskKind task = TaskKind.Sequence, double threshold = 0.5)
    {
        if (task == TaskKind.Regression)
            return new Prediction(text, logits[0].ToString("G6", System.Globalization.CultureInfo.InvariantCulture), new Dictionary<string, double> { [labels[0]] = logits[0] }, logits);
        if (task == TaskKind.MultiLabel)
        {
            var p = logits.Select(v => 1 / (1 + Math.Exp(-v))).ToArray();
            return new Prediction(text, string.Join(TaskDataKinds.MultiLabelSeparator, labels.Where((_, k) => p[k] >= threshold)),
                labels.Select((l, k) => (l, k)).ToDictionary(x => x.l, x => Math.Round(p[x.k], 6)), logits);
        }
        var max = logits.Max();
        var e = logits.Select(v => Math.Exp(v - max)).ToArray();
        return new Prediction(text, labels[Array.IndexOf(logits, max)],
            labels.Select((l, k) => (l, k)).ToDictionary(p => p.l, p => Math.Round(e[p.k] / e.Sum(), 6)), logits);
    }

    /// <summary>Entities of each text by a token classifier folder (TorchSharp).</summary>
    public static IReadOnlyList<(string Text, IReadOnlyList<Entity> Entities)> PredictEntities(string modelDir, IReadOnlyList<string> texts, int maxSeqLen)
    {
        using var m = ClassifierFolder.Load(modelDir);
        var tokenizer = TokenizerFolder.Load(modelDir);
        var labels = LabelSet.FromNames(m.Labels);
        var words = texts.Select(TokenEntities.Words).ToArray();
        if (words.FirstOrDefault(w => w.Length == 0) is not null) throw DistilException.Usage("an empty text has no words to tag");
        var rows = words.Select(w => TaskDataKinds.EncodeSentence(tokenizer, w.Select(x => x.Word).ToArray(), null, labels, maxSeqLen, "input")).ToArray();
        var probs = Classifier.Predict(m.Module, m.Logits, rows, 64, tokenizer.Pad, TorchSharp.torch.CPU, task: TaskKind.Token);
        return texts.Select((t, i) => (t, TokenEntities.Decode(t, words[i], rows[i], probs[i], labels))).ToArray();
    }

    public static IReadOnlyList<Prediction> Predict(string modelDir, IReadOnlyList<(string Text, string? Pair)> inputs, int maxSeqLen, double threshold = 0.5)
    {
        // An export folder (distil export / quantize) runs in ONNX Runtime.
        if (File.Exists(Path.Combine(modelDir, "model.onnx")) && !WeightFiles.Exists(AtomicFolder.ResolveForReading(modelDir)))
        {
            using var predictor = Distil.Deploy.DistilPredictor.Load(modelDir, new Distil.Deploy.PredictorOptions { MaxSeqLen = maxSeqLen });
            var onnxLogits = predictor.Logits(inputs);
            return inputs.Select((x, i) => FromLogits(x.Text, predictor.Labels, onnxLogits[i])).ToArray();
        }
        using var m = ClassifierFolder.Load(modelDir); // any encoder family or an AdaBERT CNN folder, by config.json's model_type
        var tokenizer = TokenizerFolder.Load(modelDir);
        var labels = m.Labels;
        var encoded = inputs.Select(x =>
        {
            var t = tokenizer.Encode(x.Text, x.Pair, maxSeqLen);
            return new EncodedExample(t.InputIds, t.TokenTypeIds, 0, DomainSet.None);
        }).ToArray();
        var logits = Classifier.Predict(m.Module, m.Logits, encoded, 64, tokenizer.Pad, TorchSharp.torch.CPU, softmax: false);
        return inputs.Select((x, i) => FromLogits(x.Text, labels, logits[i], m.Task, threshold)).ToArray();
    }
}
