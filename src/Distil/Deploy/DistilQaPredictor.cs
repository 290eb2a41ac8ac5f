using Distil.Data;
using Distil.Onnx;
using Distil.Text;

namespace Distil.Deploy;

/// <summary>
/// Extractive QA from an export folder (`distil export` of a QA model, or its `distil quantize` int8 copy) in ONNX
/// Runtime: (question, context) in, the answer's text, character span and score out, with the same windows (doc
/// stride) and post-processing as training and `distil eval`. No TorchSharp involved.
/// <code>
/// using var qa = DistilQaPredictor.Load("runs/qa/onnx");
/// var a = qa.Answer("a young cat", "The kitten slept on the mat.");  // a.Text, a.Start, a.End, a.Probability
/// </code>
/// </summary>
public sealed class DistilQaPredictor : IDisposable
{
    readonly OrtSpanModel model;
    readonly TextTokenizer tokenizer;
    readonly QaWindowing windowing;
    readonly QaDecoding decoding;
    readonly int batchSize;

    DistilQaPredictor(OrtSpanModel model, TextTokenizer tokenizer, QaWindowing windowing, QaDecoding decoding, int batchSize) =>
        (this.model, this.tokenizer, this.windowing, this.decoding, this.batchSize) = (model, tokenizer, windowing, decoding, batchSize);

    /// <param name="settings">Windows and answer reading (default: doc stride a quarter of MaxSeqLen, answers up to 30 tokens, SQuAD 1.1 style: always a span).</param>
    /// <param name="allowNoAnswer">SQuAD 2.0 style: answer "" when the null score wins.</param>
    public static DistilQaPredictor Load(string folder, PredictorOptions? options = null, QaSettings? settings = null, bool allowNoAnswer = false)
    {
        options ??= new PredictorOptions();
        settings ??= new QaSettings();
        settings.Validate();
        string onnx = Path.Combine(folder, options.OnnxFile);
        if (!File.Exists(onnx)) throw DistilException.NotFound($"{onnx}: not found; make the folder with `distil export --model DIR --out {folder}`");
        var tokenizer = TokenizerFolder.Load(folder);
        var ort = new OrtSpanModel(onnx, options.Threads);
        return new DistilQaPredictor(ort, tokenizer, settings.Windowing(options.MaxSeqLen), settings.Decoding(allowNoAnswer), options.BatchSize);
    }

    public QaAnswer Answer(string question, string context) => Answers([(question, context)])[0];

    public IReadOnlyList<QaAnswer> Answers(IReadOnlyList<(string Question, string Context)> inputs)
    {
        var features = new List<QaFeature>();
        for (int i = 0; i < inputs.Count; i++)
            features.AddRange(QaFeatures.Build(tokenizer, inputs[i].Question, inputs[i].Context, null, i, windowing, $"input {i + 1}"));
        var logits = model.RunRows(features.Select(f => (f.InputIds, f.TokenTypeIds)).ToList(), batchSize, tokenizer.Pad);
        var byQuestion = features.Select((f, k) => new QaWindowLogits(f, logits[k].Start, logits[k].End)).GroupBy(w => w.Feature.Example).ToDictionary(g => g.Key, g => g.ToList());
        return inputs.Select((x, i) => QaPostProcessing.Answer(x.Context, byQuestion[i], decoding)).ToArray();
    }

    public void Dispose() => model.Dispose();
}
