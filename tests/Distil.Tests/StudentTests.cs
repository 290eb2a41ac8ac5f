using Distil.Distillation;
using Distil.Models;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Distil.Tests;

public class StudentTests
{
    static readonly BertConfig MiniLm = new BertConfig { HiddenSize = 384, NumHiddenLayers = 6, NumAttentionHeads = 12, IntermediateSize = 1536 }.WithLabels(new[] { "0", "1" });

    [Fact]
    public void NamedShapesFollowThePublishedModels()
    {
        var tiny = StudentShapes.FromName("L4-H312", MiniLm);
        Assert.Equal((4, 312, 12, 1200), (tiny.NumHiddenLayers, tiny.HiddenSize, tiny.NumAttentionHeads, tiny.IntermediateSize));
        Assert.Equal(MiniLm.Labels, tiny.Labels); // labels and vocabulary come from the teacher
        Assert.Equal(MiniLm.VocabSize, tiny.VocabSize);
        var small = StudentShapes.FromName("l2-h384", MiniLm);
        Assert.Equal((2, 384, 12, 1536), (small.NumHiddenLayers, small.HiddenSize, small.NumAttentionHeads, small.IntermediateSize));
        var custom = StudentShapes.FromName("L4-H256-A4-I1024", MiniLm);
        Assert.Equal((4, 256, 4, 1024), (custom.NumHiddenLayers, custom.HiddenSize, custom.NumAttentionHeads, custom.IntermediateSize));
    }

    [Fact]
    public void BadShapesAreUsageErrors()
    {
        Assert.Contains("is not of the form", Assert.Throws<DistilException>(() => StudentShapes.FromName("tiny", MiniLm)).Message);
        Assert.Contains("multiple of the head count", Assert.Throws<DistilException>(() => StudentShapes.FromName("L2-H100-A3", MiniLm)).Message);
    }

    [Fact]
    public void TeacherLayersAreSpreadFromTheBottom()
    {
        Assert.Equal(new[] { 0, 3 }, StudentInit.TeacherLayersFor(2, 6));
        Assert.Equal(new[] { 0, 2, 4, 6, 8, 10 }, StudentInit.TeacherLayersFor(6, 12));
        Assert.Throws<DistilException>(() => StudentInit.TeacherLayersFor(8, 6));
    }

    [Fact]
    public void TeacherInitCopiesEmbeddingsChosenLayersAndHead()
    {
        torch.set_num_threads(1);
        var tc = TinyBert.Config(layers: 4);
        using var teacher = new BertForSequenceClassification(tc);
        using var student = StudentInit.Create(tc with { NumHiddenLayers = 2 }, teacher, "teacher", seed: 1);
        var s = student.state_dict(); var t = teacher.state_dict();
        Assert.True(s["bert.encoder.layer.1.output.dense.weight"].allclose(t["bert.encoder.layer.2.output.dense.weight"], rtol: 0, atol: 0));
        Assert.True(s["bert.encoder.layer.0.attention.self.query.bias"].allclose(t["bert.encoder.layer.0.attention.self.query.bias"], rtol: 0, atol: 0));
        Assert.True(s["bert.embeddings.word_embeddings.weight"].allclose(t["bert.embeddings.word_embeddings.weight"], rtol: 0, atol: 0));
        Assert.True(s["classifier.weight"].allclose(t["classifier.weight"], rtol: 0, atol: 0));
        long perLayer = teacher.bert.encoder.layer[0].parameters().Sum(p => p.numel());
        Assert.Equal(2 * perLayer, StudentShapes.NonEmbeddingParameters(teacher) - StudentShapes.NonEmbeddingParameters(student));
        // With mean pooling the pooler never runs, so it is not counted: layers + classifier only.
        using var meanPooled = new BertForSequenceClassification(tc with { ClassifierPooling = "mean" });
        Assert.Equal(4 * perLayer + 32 * 2 + 2, StudentShapes.NonEmbeddingParameters(meanPooled));
        var e = Assert.Throws<DistilException>(() => StudentInit.Create(tc with { HiddenSize = 16, NumAttentionHeads = 2, IntermediateSize = 32 }, teacher, "teacher", 1));
        Assert.Contains("--init teacher needs the teacher's width", e.Message);
    }

    [Fact]
    public void TeacherInitWithANarrowerFfnKeepsTheStrongestNeurons()
    {
        torch.set_num_threads(1);
        var tc = TinyBert.Config(layers: 2, hidden: 8, heads: 2); // FFN 16
        using var teacher = new BertForSequenceClassification(tc);
        var t = teacher.state_dict();
        using (torch.no_grad())
        {
            // Teacher layer 0 (the one a 1-layer student copies): make neurons 3, 9 and 12 the strongest by hand.
            t["bert.encoder.layer.0.intermediate.dense.weight"].mul_(0.01);
            foreach (int j in new[] { 12, 3, 9 })
            {
                t["bert.encoder.layer.0.intermediate.dense.weight"][j].fill_(1.0);
                t["bert.encoder.layer.0.output.dense.weight"][.., j].fill_(j / 10.0);
            }
        }
        using var student = StudentInit.Create(tc with { NumHiddenLayers = 1, IntermediateSize = 3 }, teacher, "teacher", seed: 1);
        var s = student.state_dict();
        var keep = torch.tensor(new long[] { 3, 9, 12 }); // in the teacher's order
        Assert.True(s["bert.encoder.layer.0.intermediate.dense.weight"].allclose(t["bert.encoder.layer.0.intermediate.dense.weight"].index_select(0, keep), rtol: 0, atol: 0));
        Assert.True(s["bert.encoder.layer.0.intermediate.dense.bias"].allclose(t["bert.encoder.layer.0.intermediate.dense.bias"].index_select(0, keep), rtol: 0, atol: 0));
        Assert.True(s["bert.encoder.layer.0.output.dense.weight"].allclose(t["bert.encoder.layer.0.output.dense.weight"].index_select(1, keep), rtol: 0, atol: 0));
        Assert.True(s["bert.encoder.layer.0.output.dense.bias"].allclose(t["bert.encoder.layer.0.output.dense.bias"], rtol: 0, atol: 0));
        Assert.True(s["bert.encoder.layer.0.attention.self.key.weight"].allclose(t["bert.encoder.layer.0.attention.self.key.weight"], rtol: 0, atol: 0));
        Assert.Throws<DistilException>(() => StudentInit.Create(tc with { NumHiddenLayers = 1, IntermediateSize = 32 }, teacher, "teacher", 1)); // wider FFN
    }
}
