using System.Text.Json.Nodes;
using Distil.Checkpoints;
using Distil.Cli;
using Distil.Data;
using Distil.Labels;
using Distil.Models;
using Distil.Text;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Distil.Tests;

/// <summary>
/// Every command's teacher labels go through one label store (TeacherLabels): what it reads back is the teacher's own
/// forward, bit for bit; a second command labels only the sentences the store lacks; `distill --transfer` (file or
/// store) adds the teacher-labelled sentences to any student's training rows.
/// </summary>
public class TeacherLabelsTests
{
    public TeacherLabelsTests() => torch.set_num_threads(1);

    static readonly string Teacher = DeployFixtures.ClassifierFolder(TempDir.Scratch("labels-teacher"), seed: 11);
    static readonly string[] S = DeployFixtures.Sentences;

    /// <summary>Counts the rows the teacher is run on (the hook a test needs to see what was labelled, not read back).</summary>
    sealed class CountingTeacher(ILabelTeacher inner) : ILabelTeacher
    {
        public int Rows;
        public LabelSpec Spec => inner.Spec;
        public TextTokenizer Tokenizer => inner.Tokenizer;
        public TeacherOutput Run(IReadOnlyList<TokenizedInput> batch) { Rows += batch.Count; return inner.Run(batch); }
        public void Dispose() => inner.Dispose();
    }

    static (BertForSequenceClassification Model, TextTokenizer Tokenizer) Load()
    {
        var (model, _) = ModelFolder.LoadForClassification(Teacher);
        model.eval();
        return (model, TokenizerFolder.Load(Teacher));
    }

    [Fact]
    public void LogitsReadBackFromTheStoreAreTheTeachersForwardBitForBitAndNoSentenceIsLabelledTwice()
    {
        using var dir = new TempDir();
        var (model, tokenizer) = Load();
        using var _ = model;
        string data = dir.File("train.tsv", "text\tlabel\n");
        var first = new CountingTeacher(new TorchLabelTeacher(Teacher, model, tokenizer, 128, CPU));
        var a = TeacherLabels.Open(null, data, first, batchSize: 1);
        Assert.Equal(Path.Combine(dir.Path, ".distil-cache", "labels-" + first.Spec.Key), a.Dir);
        a.Logits(S.Take(5).Append(S[0]).ToArray()); // S[0] twice
        Assert.Equal((5, 5L), (first.Rows, a.Labelled));

        // A second user of the store (another command) with overlapping rows runs the teacher on the new ones only.
        var second = new CountingTeacher(new TorchLabelTeacher(Teacher, model, tokenizer, 128, CPU));
        var b = TeacherLabels.Open(null, data, second, batchSize: 1);
        var back = b.Logits(S.Skip(3).Append(S[0]).ToArray());
        Assert.Equal(S.Length - 5, second.Rows);
        var store = LabelStore.Open(a.Dir);
        Assert.Equal(S.Length, store.ReadShards().Sum(s => s.Count)); // every sentence once
        Assert.Equal(S.Length, store.Keys().Count);

        // Read back by a third (no teacher run): each sentence's logits equal the teacher's forward on it alone, max |diff| 0.
        var third = new CountingTeacher(new TorchLabelTeacher(Teacher, model, tokenizer, 128, CPU));
        var all = TeacherLabels.Open(null, data, third, batchSize: 1).Logits(S);
        Assert.Equal(0, third.Rows);
        float maxDiff = 0;
        using (no_grad())
            for (int i = 0; i < S.Length; i++)
            {
                var t = tokenizer.Encode(S[i], null, 128);
                var ids = tensor(t.InputIds).view(1, -1);
                var direct = model.forward(new BertInputs(ids, ones_like(ids), tensor(t.TokenTypeIds).view(1, -1))).Logits.data<float>().ToArray();
                for (int c = 0; c < direct.Length; c++) maxDiff = Math.Max(maxDiff, Math.Abs(direct[c] - all[i][c]));
            }
        Assert.Equal(0f, maxDiff);
        Assert.Equal(all.Skip(3).Append(all[0]), back);
    }

    [Fact]
    public void AStoreOfAnotherTeacherIsRefusedNamingBothKeys()
    {
        using var dir = new TempDir();
        var (model, tokenizer) = Load();
        using var _ = model;
        string data = dir.File("train.tsv", "text\tlabel\n"), storeDir = Path.Combine(dir.Path, "store");
        var mine = new TorchLabelTeacher(Teacher, model, tokenizer, 128, CPU);
        TeacherLabels.Open(storeDir, data, mine, 4).Logits([S[0]]);

        string otherDir = DeployFixtures.ClassifierFolder(dir.Path, seed: 13);
        var (other, _) = ModelFolder.LoadForClassification(otherDir);
        using var __ = other;
        var theirs = new TorchLabelTeacher(otherDir, other, tokenizer, 128, CPU);
        var e = Assert.Throws<DistilException>(() => TeacherLabels.Open(storeDir, data, theirs, 4));
        Assert.Contains(mine.Spec.TeacherKey, e.Message);
        Assert.Contains(theirs.Spec.TeacherKey, e.Message);
        // Another max_seq_len is another key too: never mixed in.
        Assert.Contains("max_seq_len", Assert.Throws<DistilException>(() => TeacherLabels.Open(storeDir, data, new TorchLabelTeacher(Teacher, model, tokenizer, 64, CPU), 4)).Message);
    }

    /// <summary>
    /// `distil label` with its defaults writes the bits a command's own labelling writes (the same batch, the commands'
    /// eval_batch_size, and the same shards), so a run that reads a store made beforehand repeats the run that labelled
    /// inside itself. Length bucketing makes the batch matter: a row padded to another length gets other bits.
    /// </summary>
    [Fact]
    public void DistilLabelDefaultsWriteTheBitsACommandsOwnLabellingWrites()
    {
        using var dir = new TempDir();
        var rng = new Random(5);
        string[] words = ["great", "bad", "movie", "phone", "food", "the", "was", "not", "very", "service", "slow", "fine"];
        var sentences = Enumerable.Range(0, 150).Select(i => string.Join(" ", Enumerable.Range(0, 1 + rng.Next(14)).Select(_ => words[rng.Next(words.Length)])) + $" {i}").ToArray();
        string corpus = dir.File("corpus.txt", string.Join("\n", sentences) + "\n");
        string store = Path.Combine(dir.Path, "store");
        Assert.Equal(ExitCodes.Ok, CliApp.Run(["label", "--teacher", Teacher, "--data", corpus, "--out", store, "--max-seq-len", "32", "--threads", "1"]));

        var (model, tokenizer) = Load();
        using var _ = model;
        string data = dir.File("train.tsv", "text\tlabel\n");
        var online = TeacherLabels.Open(Path.Combine(dir.Path, "online"), data, new TorchLabelTeacher(Teacher, model, tokenizer, 32, CPU),
            new Distil.Search.SearchConfig().EvalBatchSize).Logits(sentences);
        var stored = LabelStore.Open(store).Rows().ToDictionary(r => r.Row.Text, r => r.Logits);
        for (int i = 0; i < sentences.Length; i++)
            Assert.True(online[i].SequenceEqual(stored[sentences[i]]), $"row {i} '{sentences[i]}': [{string.Join(", ", online[i])}] vs [{string.Join(", ", stored[sentences[i]])}]");
    }

    static string Tsv(TempDir dir, string name, IEnumerable<(string Text, string Label)> rows) =>
        dir.File(name, "text\tlabel\n" + string.Concat(rows.Select(r => $"{r.Text}\t{r.Label}\n")));

    static string[] Distill(string train, string dev, string run, string student, string preset, params string[] more) =>
        new[] { "distill", "--teacher", Teacher, "--student", student, "--preset", preset, "--train", train, "--dev", dev, "--out", run,
            "--epochs", "1", "--batch-size", "4", "--max-seq-len", "32", "--lr", "1e-3", "--threads", "1" }.Concat(more).ToArray();

    /// <summary>
    /// `distil label` fills a store; `distil distill --transfer FILE --label-store STORE` then labels only the training
    /// rows and transfer sentences the store lacks, drops the dev sentence and repeats, and trains on rows + transfer;
    /// `--transfer STORE` (a TinyBERT-preset ALBERT student) reads the store's sentences with no teacher run.
    /// </summary>
    [Fact]
    public void DistillTransferJoinsTheTeacherLabelledSentencesAndLabelsOnlyWhatTheStoreLacks()
    {
        using var dir = new TempDir();
        string train = Tsv(dir, "train.tsv", [("great movie", "L0"), ("bad food", "L1"), ("the phone", "L2"), ("poor phone", "L0")]);
        string dev = Tsv(dir, "dev.tsv", [(S[7], "L0"), ("hate", "L1")]);
        string first = dir.File("a.txt", string.Join("\n", S[..4]) + "\n");
        string store = Path.Combine(dir.Path, "store");
        Assert.Equal(ExitCodes.Ok, CliApp.Run(["label", "--teacher", Teacher, "--data", first, "--out", store, "--max-seq-len", "32", "--threads", "1"]));
        Assert.Equal(4, LabelStore.Open(store).Keys().Count);

        // The transfer file: two sentences the store holds, two new, one repeat, the dev sentence S[7] (dropped), a training row.
        string transfer = dir.File("more.txt", string.Join("\n", [S[1], S[2], S[4], S[5], S[5], S[7], "love"]) + "\n");
        string run = Path.Combine(dir.Path, "kd");
        Assert.Equal(ExitCodes.Ok, CliApp.Run(Distill(train, dev, run, "L1-H8-A2-I16", "kd", "--transfer", transfer, "--label-store", store)));
        var result = JsonNode.Parse(File.ReadAllText(Path.Combine(run, "result.json")))!;
        Assert.Equal(4 + 5, result["train_examples"]!.GetValue<int>()); // S1 S2 S4 S5 S3 ("love"): distinct, not in dev
        var held = LabelStore.Open(store);
        string[] want = [.. S[..6], "great movie", "bad food", "the phone", "poor phone"];
        Assert.Equal(want.Order(), held.Rows().Select(r => r.Row.Text).Order());
        Assert.Equal(want.Length, held.ReadShards().Sum(s => s.Count)); // labelled once each, across both commands
        Assert.DoesNotContain(held.Rows(), r => r.Row.Text == S[7]);

        // --transfer-max-rows keeps a seeded subset; the second run finds everything in the store.
        var shards = held.ShardFiles();
        string run2 = Path.Combine(dir.Path, "kd2");
        Assert.Equal(ExitCodes.Ok, CliApp.Run(Distill(train, dev, run2, "L1-H8-A2-I16", "kd", "--transfer", transfer, "--transfer-max-rows", "2", "--label-store", store)));
        Assert.Equal(4 + 2, JsonNode.Parse(File.ReadAllText(Path.Combine(run2, "result.json")))!["train_examples"]!.GetValue<int>());
        Assert.Equal(shards, LabelStore.Open(store).ShardFiles());

        // The store itself as the transfer set, for an ALBERT student on the two-stage TinyBERT preset.
        string run3 = Path.Combine(dir.Path, "albert");
        Assert.Equal(ExitCodes.Ok, CliApp.Run(Distill(train, dev, run3, "albert-L2-H8-E8-A4-I16", "tinybert", "--transfer", store)));
        Assert.Equal(4 + want.Length, JsonNode.Parse(File.ReadAllText(Path.Combine(run3, "result.json")))!["train_examples"]!.GetValue<int>());
        Assert.True(File.Exists(Path.Combine(run3, "stage-2", "done.json")));

        // A store of another teacher is refused, naming both keys.
        string otherDir = DeployFixtures.ClassifierFolder(dir.Path, seed: 13);
        string otherStore = Path.Combine(dir.Path, "other");
        Assert.Equal(ExitCodes.Ok, CliApp.Run(["label", "--teacher", otherDir, "--data", first, "--out", otherStore, "--max-seq-len", "32", "--threads", "1"]));
        Assert.Equal(ExitCodes.InvalidInput, CliApp.Run(Distill(train, dev, Path.Combine(dir.Path, "bad"), "L1-H8-A2-I16", "kd", "--transfer", transfer, "--label-store", otherStore)));
        Assert.Equal(ExitCodes.InvalidInput, CliApp.Run(Distill(train, dev, Path.Combine(dir.Path, "bad2"), "L1-H8-A2-I16", "kd", "--transfer", otherStore)));
    }
}
