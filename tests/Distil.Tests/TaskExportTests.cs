using Distil.Cli.Commands;
using Distil.Deploy;
using Distil.Models;
using Distil.Onnx;
using TorchSharp;
using Xunit;

namespace Distil.Tests;

/// <summary>
/// ONNX export of the token, regression and multi-label heads: the exporter's own parity check passes, and outside it
/// ONNX Runtime (DistilPredictor) gives TorchSharp's outputs on the same texts: the same entities (type, text,
/// character span) with the same scores for a token head, the same scores / probabilities for the sequence heads.
/// int8 quantisation keeps the task and stays close to fp32.
/// </summary>
public sealed class TaskExportTests
{
    public TaskExportTests() => torch.set_num_threads(1);

    static readonly string[] Texts = ["the movie was great .", "bad phone", "I love the food , it is fine !", "awful"];

    [Theory]
    [InlineData(TaskKind.Token)]
    [InlineData(TaskKind.Regression)]
    [InlineData(TaskKind.MultiLabel)]
    public void Export_reproduces_each_head_in_onnx_runtime(TaskKind task)
    {
        string[] labels = task switch
        {
            TaskKind.Token => ["O", "B-POS", "I-POS", "B-NEG"],
            TaskKind.Regression => ["score"],
            _ => ["a", "b", "c"],
        };
        string model = TaskKindTests.HandModel(task, labels, bias: null);
        string onnx = Path.Combine(TempDir.Scratch("task-onnx"), "onnx");
        var report = OnnxExport.Export(model, onnx, new ExportOptions { RandomRows = 16, MaxSeqLen = 32 });
        Assert.True(report.Passed);

        using var predictor = DistilPredictor.Load(onnx, new PredictorOptions { MaxSeqLen = 32, BatchSize = 3 });
        Assert.Equal(task, predictor.Task);
        if (task == TaskKind.Token)
        {
            var torchEntities = PredictCommand.PredictEntities(model, Texts, 32);
            var ortEntities = predictor.Entities(Texts);
            Assert.True(torchEntities.Sum(t => t.Entities.Count) > 0, "a random head should tag some words, or the comparison says little");
            for (int i = 0; i < Texts.Length; i++)
            {
                Assert.Equal(torchEntities[i].Entities.Select(e => (e.Type, e.Text, e.Start, e.End)), ortEntities[i].Select(e => (e.Type, e.Text, e.Start, e.End)));
                for (int k = 0; k < ortEntities[i].Count; k++) Assert.Equal(torchEntities[i].Entities[k].Score, ortEntities[i][k].Score, 4);
                Assert.All(ortEntities[i], e => Assert.Equal(e.Text, Texts[i][e.Start..e.End]));
            }
        }
        else
        {
            var torchLogits = PredictCommand.Predict(model, Texts.Select(t => (t, (string?)null)).ToArray(), 32).Select(p => p.Logits).ToArray();
            var ortLogits = predictor.Logits(Texts.Select(t => (t, (string?)null)).ToArray());
            for (int i = 0; i < Texts.Length; i++)
            {
                Assert.Equal(labels.Length, ortLogits[i].Length);
                for (int k = 0; k < labels.Length; k++) Assert.Equal(torchLogits[i][k], ortLogits[i][k], 4);
            }
        }

        string int8 = Path.Combine(TempDir.Scratch("task-int8"), "int8");
        var q = Int8Export.QuantizeFolder(onnx, int8, new QuantizeOptions(), maxSeqLen: 32);
        Assert.True(q.Quantization.MatMuls > 0);
        using var quantized = DistilPredictor.Load(int8, new PredictorOptions { MaxSeqLen = 32, BatchSize = 3 });
        Assert.Equal(task, quantized.Task);
        var a = predictor.Logits(Texts.Select(t => (t, (string?)null)).ToArray());
        var b = quantized.Logits(Texts.Select(t => (t, (string?)null)).ToArray());
        double max = a.Zip(b).Max(p => p.First.Zip(p.Second).Max(x => Math.Abs(x.First - x.Second)));
        Assert.True(max < 0.2, $"int8 logits {max} away from fp32");
    }
}
