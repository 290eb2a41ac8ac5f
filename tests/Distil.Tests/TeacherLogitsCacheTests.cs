using Distil.Checkpoints;
using Distil.Data;
using Distil.Training;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Distil.Tests;

public class TeacherLogitsCacheTests
{
    public TeacherLogitsCacheTests() => torch.set_num_threads(1);

    static EncodedExample Ex(params long[] ids) => new(ids, new long[ids.Length], 0, DomainSet.None);

    [Fact]
    public void LogitsAreComputedOnceAndInvalidatedWhenDataOrTeacherChange()
    {
        string teacherDir = TinyBert.TeacherFolder();
        var (teacher, _) = ModelFolder.LoadForClassification(teacherDir, new[] { "0", "1" });
        string data = Path.Combine(TempDir.Scratch("cache"), "train.tsv");
        File.WriteAllText(data, "text\tlabel\n");
        var examples = new[] { Ex(2, 7, 8, 3), Ex(2, 9, 3), Ex(2, 10, 11, 12, 3) };
        var log = new List<string>();

        var first = TeacherLogitsCache.GetOrCompute(teacherDir, teacher, examples, data, 2, 0, CPU, log.Add);
        var second = TeacherLogitsCache.GetOrCompute(teacherDir, teacher, examples, data, 2, 0, CPU, log.Add);
        Assert.Contains("from cache", log[1]);
        Assert.True(first.allclose(second, rtol: 0, atol: 0));
        // The cached values are the teacher's own logits for each example, in order.
        var direct = Classifier.PredictLogits(teacher, examples, 1, 0, CPU);
        Assert.True(first.allclose(tensor(direct.SelectMany(r => r).ToArray()).view(3, 2), atol: 1e-5));

        string k = DataCache.Key(teacherDir, examples);
        Assert.NotEqual(k, DataCache.Key(teacherDir, new[] { Ex(2, 7, 8, 3), Ex(2, 9, 3) }));
        Assert.NotEqual(k, DataCache.Key(teacherDir, new[] { Ex(2, 7, 8, 3), Ex(2, 9, 3), Ex(2, 10, 11, 13, 3) }));
        File.AppendAllText(Path.Combine(teacherDir, "config.json"), " ");
        Assert.NotEqual(k, DataCache.Key(teacherDir, examples));
    }
}
