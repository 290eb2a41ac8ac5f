using Distil.Checkpoints;
using Distil.Data;
using Distil.Deploy;
using Distil.Models;
using Distil.Onnx;
using Distil.Training;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Distil.Tests;

/// <summary>ONNX export of the QA head: ONNX Runtime against TorchSharp on the same weights, answers through both
/// engines, and the int8 copy.</summary>
public class QaOnnxTests
{
    static readonly string[] Vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "what", "is", "?", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"];
    const string Ten = "one two three four five six seven eight nine ten";

    public QaOnnxTests() => torch.set_num_threads(1);

    [Fact]
    public void Export_matches_torchsharp_and_the_onnx_predictor_gives_torchsharps_answers()
    {
        using var t = new TempDir("qa-onnx");
        t.File("vocab.txt", string.Join("\n", Vocab) + "\n");
        manual_seed(9);
        var config = new BertConfig { VocabSize = Vocab.Length, HiddenSize = 16, NumHiddenLayers = 2, NumAttentionHeads = 2, IntermediateSize = 32, MaxPositionEmbeddings = 64 };
        string dir = Path.Combine(t.Path, "qa"), onnxDir = Path.Combine(t.Path, "qa-onnx"), int8Dir = Path.Combine(t.Path, "qa-int8");
        using (var model = new BertForQuestionAnswering(config))
        {
            using (no_grad()) foreach (var (_, p) in model.named_parameters()) p.add_(randn_like(p) * 0.3);
            QaFolder.Save(dir, model, t.Path);
        }

        var report = QaOnnxExport.Export(dir, onnxDir, new ExportOptions());
        Assert.All(report.Checks, c => Assert.True(c.Passes(ExportCheck.DefaultAtol), $"{c.Set}: max diff {c.MaxAbsDiff}"));
        Assert.True(report.Checks.Sum(c => c.Examples) >= 40);
        Assert.True(OrtSpanModel.IsSpanModel(Path.Combine(onnxDir, OnnxExport.OnnxFile)));
        Assert.True(File.Exists(Path.Combine(onnxDir, OnnxExport.ReportFile)));

        // The same questions through TorchSharp (best/ folder) and ONNX Runtime (export folder): same answers and spans.
        var inputs = new List<(string, string)> { ("what is?", Ten), ("what?", "three four five"), ("is?", Ten + " " + Ten) };
        var settings = new QaSettings { DocStride = 2 };
        var (torchModel, _) = QaFolder.Load(dir);
        QaAnswer[] torchAnswers;
        using (torchModel)
        {
            torchModel.eval();
            torchAnswers = QaAnswering.Answer(torchModel, Distil.Text.TokenizerFolder.Load(dir), inputs, settings.Windowing(12), settings.Decoding(false), CPU);
        }
        using (var predictor = DistilQaPredictor.Load(onnxDir, new PredictorOptions { MaxSeqLen = 12 }, settings))
        {
            var onnxAnswers = predictor.Answers(inputs);
            for (int i = 0; i < inputs.Count; i++)
            {
                Assert.Equal((torchAnswers[i].Text, torchAnswers[i].Start, torchAnswers[i].End), (onnxAnswers[i].Text, onnxAnswers[i].Start, onnxAnswers[i].End));
                Assert.Equal(torchAnswers[i].Score, onnxAnswers[i].Score, 3);
                Assert.Equal(inputs[i].Item2[onnxAnswers[i].Start..onnxAnswers[i].End], onnxAnswers[i].Text);
            }
        }

        // int8: smaller, runs, and its answers are spans of the context.
        var (quantization, comparison, fp32Bytes, int8Bytes) = QaOnnxExport.Quantize(onnxDir, int8Dir, new QuantizeOptions());
        Assert.True(quantization.MatMuls > 0);
        Assert.True(int8Bytes < fp32Bytes, $"int8 {int8Bytes} bytes, fp32 {fp32Bytes}");
        Assert.Equal(40, comparison.Examples);
        Assert.True(comparison.MaxAbsDiff < 1, $"int8 moved a logit by {comparison.MaxAbsDiff}");
        using var int8 = DistilQaPredictor.Load(int8Dir, new PredictorOptions { MaxSeqLen = 12 }, settings);
        var a = int8.Answer("what is?", Ten);
        Assert.Equal(Ten[a.Start..a.End], a.Text);
    }
}
