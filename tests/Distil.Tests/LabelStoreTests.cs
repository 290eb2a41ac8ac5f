using Distil.Checkpoints;
using Distil.Data;
using Distil.Deploy;
using Distil.Labels;
using Distil.Models;
using Distil.Onnx;
using Distil.Text;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Distil.Tests;

public class LabelStoreTests
{
    public LabelStoreTests() => torch.set_num_threads(1);

    static readonly string Teacher = DeployFixtures.ClassifierFolder(TempDir.Scratch("label-teacher"), seed: 11);

    /// <summary>The teacher's logits for one row, alone in its batch (no padding): the truth a labelled row must equal.</summary>
    static float[] Direct(string dir, string text, string? pair = null)
    {
        var (model, _) = ModelFolder.LoadForClassification(dir);
        model.eval();
        var t = BertTextTokenizer.FromFolder(dir).Encode(text, pair, 128);
        using var _ = no_grad();
        var ids = tensor(t.InputIds).view(1, -1);
        var logits = model.forward(new BertInputs(ids, ones_like(ids), tensor(t.TokenTypeIds).view(1, -1))).Logits;
        return logits.data<float>().ToArray();
    }

    static string Corpus(TempDir dir, string name, IEnumerable<string> lines) => dir.File(name, string.Join("\n", lines) + "\n");

    [Fact]
    public void EachDistinctSentenceIsLabelledOnceWithTheTeachersOwnLogits()
    {
        using var dir = new TempDir();
        using var teacher = new TorchLabelTeacher(Teacher, 128);
        var store = LabelStore.OpenOrCreate(Path.Combine(dir.Path, "store"), teacher.Spec);
        var s = DeployFixtures.Sentences;
        string first = Corpus(dir, "a.txt", [s[0], s[1], s[2], s[0], s[3], "", s[4]]); // s[0] twice, a blank line
        var r1 = LabelRun.Run(new LabelJob(first, teacher.Spec, RowsPerShard: 2), store, teacher, resume: false, batchSize: 3);
        Assert.Equal((5L, 1L, 3), (r1.RowsLabelled, r1.Duplicates, r1.Shards));

        // A second corpus shares three sentences with the store: only the two new ones are labelled.
        string second = Corpus(dir, "b.txt", [s[1], s[5], s[4], s[6], s[0]]);
        var r2 = LabelRun.Run(new LabelJob(second, teacher.Spec, RowsPerShard: 2), store, teacher, resume: false);
        Assert.Equal((2L, 3L), (r2.RowsLabelled, r2.Duplicates));

        var rows = store.Rows().ToList();
        Assert.Equal(s.Take(7).Order(), rows.Select(r => r.Row.Text).Order());
        // Length-bucketed, padded batches give each row the logits it has alone.
        foreach (var (row, logits) in rows)
        {
            var want = Direct(Teacher, row.Text);
            for (int c = 0; c < want.Length; c++) Assert.Equal(want[c], logits[c], 1e-5f);
        }
        Assert.Equal(LabelRow.KeyOf(s[0], null), rows.Single(r => r.Row.Text == s[0]).Row.Key);
        Assert.NotEqual(LabelRow.KeyOf("a", null), LabelRow.KeyOf("a", ""));
    }

    [Fact]
    public void PairsAndHiddenStatesAreStoredAsTheTeacherComputesThem()
    {
        using var dir = new TempDir();
        using var teacher = new TorchLabelTeacher(Teacher, 128, [0, 2]);
        var store = LabelStore.OpenOrCreate(Path.Combine(dir.Path, "store"), teacher.Spec);
        string tsv = dir.File("pairs.tsv", "sentence1\tsentence2\tlabel\nthe movie was great\tawful food\t1\nfine\tthe phone is fine , the food was bad\t0\n");
        LabelRun.Run(new LabelJob(tsv, teacher.Spec), store, teacher, resume: false);
        var shard = Assert.Single(store.ReadShards());
        Assert.Equal(("fine", "the phone is fine , the food was bad"), (shard.Rows[1].Text, shard.Rows[1].Pair));
        var want = Direct(Teacher, "fine", "the phone is fine , the food was bad");
        for (int c = 0; c < want.Length; c++) Assert.Equal(want[c], shard.LogitsOf(1)[c], 1e-5f);

        var (model, _) = ModelFolder.LoadForClassification(Teacher);
        model.eval();
        var t = teacher.Tokenizer.Encode("fine", "the phone is fine , the food was bad", 128);
        using var _ = no_grad();
        var ids = tensor(t.InputIds).view(1, -1);
        var states = model.forward(new BertInputs(ids, ones_like(ids), tensor(t.TokenTypeIds).view(1, -1)), new OutputRequest(HiddenStates: true)).Encoder.HiddenStates!;
        long start = shard.TokenOffsets[1], len = shard.TokenOffsets[2] - start;
        Assert.Equal(t.Length, len);
        foreach (int l in new[] { 0, 2 })
        {
            var expected = states[l][0].data<float>().ToArray(); // (T, H) of row 1
            var got = shard.Hidden[l].AsSpan((int)(start * shard.HiddenSize), (int)(len * shard.HiddenSize)).ToArray();
            Assert.Equal(expected.Length, got.Length);
            for (int i = 0; i < got.Length; i++) Assert.Equal(expected[i], (float)got[i], Math.Max(2e-3f, Math.Abs(expected[i]) * 1e-3f)); // fp16 rounding
        }
    }

    /// <summary>A teacher that fails at its n-th batch: an interrupted run.</summary>
    sealed class FailingTeacher(ILabelTeacher inner, int failAt) : ILabelTeacher
    {
        int calls;
        public LabelSpec Spec => inner.Spec;
        public TextTokenizer Tokenizer => inner.Tokenizer;
        public TeacherOutput Run(IReadOnlyList<TokenizedInput> batch) => ++calls == failAt ? throw new OperationCanceledException() : inner.Run(batch);
        public void Dispose() { }
    }

    [Fact]
    public void AnInterruptedRunResumesShardByShardAndEndsWithTheSameBytes()
    {
        using var dir = new TempDir();
        using var teacher = new TorchLabelTeacher(Teacher, 128);
        string corpus = Corpus(dir, "c.txt", Enumerable.Range(0, 10).Select(i => $"{DeployFixtures.Sentences[i % 8]} {i}"));
        var job = new LabelJob(corpus, teacher.Spec, RowsPerShard: 3);

        var whole = LabelStore.OpenOrCreate(Path.Combine(dir.Path, "whole"), teacher.Spec);
        LabelRun.Run(job, whole, teacher, resume: false, batchSize: 2);

        var cut = LabelStore.OpenOrCreate(Path.Combine(dir.Path, "cut"), teacher.Spec);
        // Batch size 2 and 3 rows per shard: two batches a shard, so the 5th batch is inside shard 3.
        Assert.Throws<OperationCanceledException>(() => LabelRun.Run(job, cut, new FailingTeacher(teacher, 5), resume: false, batchSize: 2));
        Assert.Equal(2, cut.ShardFiles().Count);
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(cut.Dir, LabelStore.ShardsDir), "*.tmp-*"));
        var refused = Assert.Throws<DistilException>(() => LabelRun.Run(job, cut, teacher, resume: false));
        Assert.Contains("--resume", refused.Message);

        var resumed = LabelRun.Run(job, cut, teacher, resume: true, batchSize: 2);
        Assert.Equal((4, 2, 4L), (resumed.Shards, resumed.ShardsSkipped, resumed.RowsLabelled));
        Assert.Equal(whole.ShardFiles().Select(Path.GetFileName), cut.ShardFiles().Select(Path.GetFileName));
        foreach (var (a, b) in whole.ShardFiles().Zip(cut.ShardFiles())) Assert.Equal(File.ReadAllBytes(a), File.ReadAllBytes(b));
    }

    [Fact]
    public void AShardIsAcceptedExactlyOnceAndOnlyWithItsOwnRows()
    {
        using var dir = new TempDir();
        using var teacher = new TorchLabelTeacher(Teacher, 128);
        var store = LabelStore.OpenOrCreate(Path.Combine(dir.Path, "store"), teacher.Spec);
        var a = new LabelShard("jtest", 0, [new LabelRow("the movie", null, "x:1")]);
        var b = new LabelShard("jtest", 1, [new LabelRow("the food", null, "x:2")]);
        byte[] bytes = ShardLabeller.Label(teacher, a);
        Assert.True(store.Accept(a, bytes));
        Assert.False(store.Accept(a, bytes));                   // a retry, or a second worker: dropped
        Assert.Single(store.ShardFiles());
        var e = Assert.Throws<DistilException>(() => store.Accept(b, bytes));
        Assert.Contains("came back as shard jtest-000000", e.Message);
        Assert.Single(store.ShardFiles());
        Assert.Equal(bytes, ShardLabeller.Label(teacher, a));   // deterministic: any worker makes the same bytes
    }

    [Fact]
    public void AnotherTeacherIsRefusedNotMixedIn()
    {
        using var dir = new TempDir();
        using var teacher = new TorchLabelTeacher(Teacher, 128);
        string path = Path.Combine(dir.Path, "store");
        LabelStore.OpenOrCreate(path, teacher.Spec);
        using var other = new TorchLabelTeacher(DeployFixtures.ClassifierFolder(dir.Path, seed: 12), 128);
        var e = Assert.Throws<DistilException>(() => LabelStore.OpenOrCreate(path, other.Spec));
        Assert.Contains("another teacher", e.Message);
        Assert.Contains("key " + other.Spec.TeacherKey, e.Message);
        var len = Assert.Throws<DistilException>(() => LabelStore.OpenOrCreate(path, teacher.Spec with { MaxSeqLen = 64 }));
        Assert.Contains("max_seq_len 64", len.Message);
        var dirty = Path.Combine(dir.Path, "dirty");
        Directory.CreateDirectory(dirty);
        File.WriteAllText(Path.Combine(dirty, "x"), "");
        Assert.Contains("not a label store", Assert.Throws<DistilException>(() => LabelStore.OpenOrCreate(dirty, teacher.Spec)).Message);
    }

    [Fact]
    public void BadRowsAreFileLineErrorsOrCountedAndAnEmptyCorpusIsAnError()
    {
        using var dir = new TempDir();
        string tsv = dir.File("bad.tsv", "text\tlabel\nthe movie\t1\nno label column\n\t0\nthe food\t0\n");
        var e = Assert.Throws<DistilException>(() => CorpusReader.Read(tsv, null, null, false, new CorpusCounts()).ToList());
        Assert.Contains($"{tsv}:3: has 1 columns, expected 2", e.Message);
        Assert.Contains("--skip-bad-rows", e.Message);
        var counts = new CorpusCounts();
        var rows = CorpusReader.Read(tsv, null, null, true, counts).ToList();
        Assert.Equal(new[] { "the movie", "the food" }, rows.Select(r => r.Text));
        Assert.Equal((2L, 2L), (counts.Rows, counts.Bad));
        Assert.Contains($"{tsv}:4: empty text", counts.BadReasons[1]);

        string jsonl = dir.File("x.jsonl", "{\"sentence\": \"good\"}\nnot json\n{\"sentence\": \"bad\"}\n");
        Assert.Contains($"{jsonl}:2: not valid JSON", Assert.Throws<DistilException>(() => CorpusReader.Read(jsonl, null, null, false, new CorpusCounts()).ToList()).Message);
        string empty = dir.File("empty.txt", "\n  \n");
        Assert.Contains("empty", Assert.Throws<DistilException>(() => CorpusReader.Read(empty, null, null, false, new CorpusCounts()).ToList()).Message);
    }

    [Fact]
    public void TheOnnxTeacherLabelsLikeTorchSharpUnderItsOwnKey()
    {
        using var dir = new TempDir();
        string onnx = Path.Combine(dir.Path, "onnx");
        OnnxExport.Export(Teacher, onnx, new ExportOptions { MaxSeqLen = 32 });
        using var ort = LabelTeachers.Open(onnx, "auto", 128, [], 1);
        using var torchTeacher = LabelTeachers.Open(Teacher, "auto", 128, [], 1);
        Assert.Equal(("onnx-fp32", "torch"), (ort.Spec.Engine, torchTeacher.Spec.Engine));
        Assert.NotEqual(ort.Spec.Key, torchTeacher.Spec.Key);
        string corpus = Corpus(dir, "c.txt", DeployFixtures.Sentences);
        var a = LabelStore.OpenOrCreate(Path.Combine(dir.Path, "ort"), ort.Spec);
        var b = LabelStore.OpenOrCreate(Path.Combine(dir.Path, "torch"), torchTeacher.Spec);
        LabelRun.Run(new LabelJob(corpus, ort.Spec), a, ort, false);
        LabelRun.Run(new LabelJob(corpus, torchTeacher.Spec), b, torchTeacher, false);
        foreach (var (x, y) in a.Rows().Zip(b.Rows()))
        {
            Assert.Equal(x.Row.Text, y.Row.Text);
            for (int c = 0; c < x.Logits.Length; c++) Assert.Equal(y.Logits[c], x.Logits[c], 1e-4f);
        }
        Assert.Throws<DistilException>(() => LabelTeachers.Open(onnx, "auto", 128, [2], 1));
    }

    /// <summary>`search --transfer STORE`: the store's sentences and logits are what labelling them online gives.</summary>
    [Fact]
    public void ATransferSetReadFromTheStoreEqualsOneLabelledOnline()
    {
        using var dir = new TempDir();
        using var teacher = new TorchLabelTeacher(Teacher, 128);
        string store = Path.Combine(dir.Path, "store");
        string corpus = Corpus(dir, "c.txt", DeployFixtures.Sentences);
        LabelRun.Run(new LabelJob(corpus, teacher.Spec, RowsPerShard: 3), LabelStore.OpenOrCreate(store, teacher.Spec), teacher, false);

        var options = new Distil.Augment.TransferOptions { Path = store };
        var sentences = Distil.Augment.TransferSet.ReadSentences(options, [DeployFixtures.Sentences[3]]);
        Assert.Equal(DeployFixtures.Sentences.Where((_, i) => i != 3), sentences);
        var (model, _) = ModelFolder.LoadForClassification(Teacher);
        string data = dir.File("train.tsv", "text\tlabel\n");
        var (rows, logits) = Distil.Augment.TransferSet.FromStore(Teacher, model, teacher.Tokenizer, sentences, 64, store, null);
        var online = Distil.Labels.TeacherLabels.Open(Path.Combine(dir.Path, "online"), data, new TorchLabelTeacher(Teacher, model, teacher.Tokenizer, 64, CPU), 4);
        var (onlineRows, onlineLogits) = Distil.Augment.TransferSet.Label(online, model, teacher.Tokenizer, sentences, 64);
        Assert.True(logits.allclose(onlineLogits, rtol: 0, atol: 1e-5));
        Assert.Equal(onlineRows.Select(r => r.Label), rows.Select(r => r.Label));
        Assert.Equal(onlineRows.Select(r => r.InputIds.Length), rows.Select(r => r.InputIds.Length));

        var (other, _) = ModelFolder.LoadForClassification(DeployFixtures.ClassifierFolder(dir.Path, seed: 13));
        string otherDir = DeployFixtures.ClassifierFolder(dir.Path, seed: 13);
        var e = Assert.Throws<DistilException>(() => Distil.Augment.TransferSet.FromStore(otherDir, other, teacher.Tokenizer, sentences, 64, store, null));
        Assert.Contains(LabelSpec.HashFiles(otherDir, ["config.json", "model.safetensors", "pytorch_model.bin"]), e.Message);
        Assert.Contains(LabelStore.Open(store).Spec.TeacherKey, e.Message);
        Assert.Contains("not by --teacher", e.Message);
    }
}
