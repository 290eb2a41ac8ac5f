using Distil.Checkpoints;
using Distil.Data;
using Distil.Distillation;
using Distil.Models;
using Distil.Training;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Distil.Tests;

/// <summary>Teacher hidden-state cache: what each preset needs, same losses as the online teacher, reuse and invalidation.</summary>
public class TeacherHiddenCacheTests
{
    public TeacherHiddenCacheTests() => torch.set_num_threads(1);

    static EncodedExample Ex(params long[] ids) => new(ids, new long[ids.Length], 0, DomainSet.None);

    static readonly EncodedExample[] Examples =
    {
        Ex(2, 7, 8, 3), Ex(2, 9, 3), Ex(2, 10, 11, 12, 13, 14, 3), Ex(2, 15, 16, 17, 3), Ex(2, 8, 8, 3),
    };

    [Fact]
    public void NeedsNameOnlyTheLayersTheMatchesRead()
    {
        var teacher = new BertConfig { NumHiddenLayers = 6, HiddenSize = 384, NumAttentionHeads = 12 };
        var student = new BertConfig { NumHiddenLayers = 3, HiddenSize = 312, NumAttentionHeads = 12 };
        // tinybert stage 1, uniform 6 -> 3: embedding (0), hidden 2 4 6, attention 2 4 6 (recomputed from inputs 1 3 5).
        var tiny = TeacherNeeds.For(DistillationPresets.Get("tinybert", teacher, student).Stages[0])!;
        Assert.Equal(new[] { 0, 1, 2, 3, 4, 5, 6 }, tiny.TokenLayers);
        Assert.Equal(new[] { 2, 4, 6 }, tiny.AttentionLayers);
        Assert.Empty(tiny.ClsLayers);
        // pkd: [CLS] of teacher layers 2 and 4 only (the top layer is taught through the logits).
        var pkd = TeacherNeeds.For(DistillationPresets.Get("pkd", teacher, student).Stages[0])!;
        Assert.Empty(pkd.TokenLayers);
        Assert.Equal(new[] { 2, 4 }, pkd.ClsLayers);
        // minilm stage 1: last-layer attention (from input 5) and value relation (values of layer 6 = Linear(hidden 5)).
        var minilm = TeacherNeeds.For(DistillationPresets.Get("minilm", teacher, student).Stages[0])!;
        Assert.Equal(new[] { 5 }, minilm.TokenLayers);
        Assert.Equal(new[] { 6 }, minilm.AttentionLayers);
        // Memory: fp16 rows (tokens + 1 padding row per layer), fp32 logits, int64 offsets.
        Assert.Equal(2L * 384 * (101 * 7) + 4L * 10 * 2 + 8L * 11, tiny.Bytes(10, 100, 384, 2));
        Assert.Null(TeacherNeeds.For(new[] { new IntermediateMatch(1, 1, "future_feature", "mse") }));
    }

    [Fact]
    public void CachedTeacherGivesTheLossesOfTheOnlineTeacher()
    {
        torch.manual_seed(11);
        var tc = TinyBert.Config(layers: 2, hidden: 16, heads: 2, vocab: 20);
        using var teacher = new BertForSequenceClassification(tc);
        teacher.eval();
        var student = StudentShapes.FromTeacher(tc, 1, 8, 2, 16);
        using var s = new BertForSequenceClassification(student);
        foreach (var preset in DistillationPresets.Names)
        {
            var matches = DistillationPresets.Get(preset, tc, student).Stages[0];
            var needs = TeacherNeeds.For(matches)!;
            using var cache = TeacherHiddenCache.Compute(teacher, Examples, needs, batchSize: 2, padId: 0, CPU);
            using var projections = new Projections(matches, student.HiddenSize, tc.HiddenSize);
            using var batch = Collator.CollateAt(Examples, new[] { 3, 0, 2 }, 0); // lengths 5, 4, 7: padding inside the batch
            var inputs = new BertInputs(batch.InputIds, batch.AttentionMask, batch.TokenTypeIds);
            using var _ = no_grad();
            var request = OutputRequest.All;
            var studentSide = DistillSide.From(s.forward(inputs, request), s.bert);
            var online = MatchLoss.Compute(matches, studentSide, DistillSide.From(teacher.forward(inputs, request), teacher.bert), batch.AttentionMask, batch.Labels, projections);
            var cached = MatchLoss.Compute(matches, studentSide, cache.Side(batch, teacher, batch.AttentionMask, CPU), batch.AttentionMask, batch.Labels, projections);
            foreach (var (term, value) in online.Terms)
                Assert.True(Math.Abs(value - cached.Terms[term]) <= 2e-3 * Math.Max(1, Math.Abs(value)), $"{preset} {term}: online {value}, cached {cached.Terms[term]}");
        }
    }

    [Fact]
    public void CacheFileIsReusedAndInvalidatedWhenDataOrTeacherChange()
    {
        string teacherDir = TinyBert.TeacherFolder(layers: 2);
        var (teacher, _) = ModelFolder.LoadForClassification(teacherDir, new[] { "0", "1" });
        using var __ = teacher;
        string data = Path.Combine(TempDir.Scratch("hidden"), "train.tsv");
        File.WriteAllText(data, "text\tlabel\n");
        var needs = new TeacherNeeds(new[] { 0, 2 }, new[] { 1 }, new[] { 1 });
        var log = new List<string>();
        string cacheDir = DataCache.CacheDir(data);

        using (var first = TeacherHiddenCache.GetOrCompute(teacherDir, teacher, Examples, data, needs, 2, 0, CPU, 1 << 20, log.Add)!)
        using (var second = TeacherHiddenCache.GetOrCompute(teacherDir, teacher, Examples, data, needs, 2, 0, CPU, 1 << 20, log.Add)!)
        {
            Assert.Contains("computed", log[0]);
            Assert.Contains("from cache", log[1]);
            Assert.True(first.Logits.allclose(second.Logits, rtol: 0, atol: 0));
            // The file is plain safetensors: the project's reader (fp16 widened to fp32) sees the teacher's own states.
            string file = Directory.GetFiles(cacheDir, "teacher-hidden-*.safetensors").Single();
            var tensors = SafeTensors.Read(file);
            Assert.Equal(new long[] { Examples.Sum(e => e.InputIds.Length) + 1, 16 }, tensors["tokens.2"].shape);
            Assert.Equal(new long[] { Examples.Length, 16 }, tensors["cls.1"].shape);
            using var batch = Collator.CollateAt(Examples, new[] { 2 }, 0); // example 2 = rows 7 .. 13 (after lengths 4, 3)
            using var _ = no_grad();
            teacher.eval();
            var states = teacher.forward(new BertInputs(batch.InputIds, batch.AttentionMask, batch.TokenTypeIds), new OutputRequest(HiddenStates: true)).Encoder.HiddenStates!;
            Assert.True(tensors["tokens.2"].narrow(0, 7, 7).allclose(states[2][0], rtol: 1e-3, atol: 1e-3));
            Assert.True(tensors["cls.1"][2].allclose(states[1][0, 0], rtol: 1e-3, atol: 1e-3));
            Assert.True(tensors["tokens.2"][^1].abs().sum().item<float>() == 0, "the padding row is zeros");
        }

        // Other data -> another key -> computed again; other teacher -> another key.
        using (TeacherHiddenCache.GetOrCompute(teacherDir, teacher, Examples.Take(4).ToArray(), data, needs, 2, 0, CPU, 1 << 20, log.Add)) { }
        Assert.Contains("computed", log[^1]);
        Assert.Equal(2, Directory.GetFiles(cacheDir, "teacher-hidden-*.safetensors").Length);
        string key = DataCache.Key(teacherDir, Examples);
        File.AppendAllText(Path.Combine(teacherDir, "config.json"), " ");
        Assert.NotEqual(key, DataCache.Key(teacherDir, Examples));
        using (TeacherHiddenCache.GetOrCompute(teacherDir, teacher, Examples, data, needs, 2, 0, CPU, 1 << 20, log.Add)) { }
        Assert.Contains("computed", log[^1]);

        // Over the memory limit: no cache, and the log says why.
        Assert.Null(TeacherHiddenCache.GetOrCompute(teacherDir, teacher, Examples, data, needs, 2, 0, CPU, 100, log.Add));
        Assert.Contains("not cached", log[^1]);
    }
}
