using Distil.Checkpoints;
using Distil.Models;
using Microsoft.ML.OnnxRuntime;
using TorchSharp;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Distil.Tests;

/// <summary>
/// The independent reference: ONNX Runtime runs the ORIGINAL model.onnx of the package, our TorchSharp BertModel runs
/// the imported weights (read back from the HF folder), on the same real sentences. Agreement checks the importer,
/// the folder round trip and the modeling code at once, against an implementation none of them shares code with.
/// </summary>
[Collection(MiniLmCollection.Name)]
public sealed class OrtParityTests(MiniLmImportFixture fx, ITestOutputHelper log)
{
    const double Tolerance = 1e-4;

    // Real review sentences of different lengths, from /work/shared/data/uci-sentiment-3domain/test.tsv.
    static readonly string[] Sentences =
    [
        "Very bad Experience!",
        "We will not be coming back.",
        "The staff are also very friendly and efficient.",
        "Is it possible for a movie to get any worse than this?",
        "This is an excellent tool, especially when paired with your phone's auto-answer.",
        "This one wants to surf on the small wave of space movies in 1998 (Deep Impact and Armageddon), and this one fails everywhere.",
    ];

    [Fact]
    public void LastHiddenStateAndPoolerMatchOnnxRuntime()
    {
        log.WriteLine($"fixture import (extract + ONNX import + folder write): {fx.ImportTime.TotalSeconds:F1} s");
        torch.set_num_threads(1);
        var vocab = MiniWordPiece.LoadVocab(Path.Combine(fx.Folder, "vocab.txt"));
        var rows = Sentences.Select(s => MiniWordPiece.Encode(s, vocab)).ToArray();
        int B = rows.Length, T = rows.Max(r => r.Length), H = fx.Import.Config.HiddenSize;
        Assert.True(rows.Select(r => r.Length).Distinct().Count() == B, "the sentences should have different lengths");
        Assert.DoesNotContain(rows, r => r.Contains(MiniWordPiece.Unk));
        // Pad to the longest row with [PAD] = 0 and mask 0; one segment, so token_type_ids are all 0.
        var ids = new long[B * T];
        var mask = new long[B * T];
        for (int b = 0; b < B; b++)
            for (int t = 0; t < rows[b].Length; t++) { ids[b * T + t] = rows[b][t]; mask[b * T + t] = 1; }
        var types = new long[B * T];

        // ONNX Runtime on the original file.
        Assert.NotNull(fx.Import.PoolerOutput);
        float[] ortHidden, ortPooled;
        using (var options = new SessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1 })
        using (var session = new InferenceSession(fx.Files.Onnx, options))
        {
            long[] shape = [B, T];
            var feeds = new Dictionary<string, long[]> { ["input_ids"] = ids, ["attention_mask"] = mask, ["token_type_ids"] = types };
            var inputs = fx.Import.InputNames.Select(n => OrtValue.CreateTensorValueFromMemory(feeds[n], shape)).ToList();
            try
            {
                using var run = new RunOptions();
                using var outputs = session.Run(run, fx.Import.InputNames.ToList(), inputs, [fx.Import.LastHiddenStateOutput, fx.Import.PoolerOutput!]);
                ortHidden = outputs[0].GetTensorDataAsSpan<float>().ToArray();
                ortPooled = outputs[1].GetTensorDataAsSpan<float>().ToArray();
            }
            finally { inputs.ForEach(v => v.Dispose()); }
        }
        Assert.Equal(B * T * H, ortHidden.Length);
        Assert.Equal(B * H, ortPooled.Length);

        // Ours, from the imported HF folder.
        float[] ourHidden, ourPooled;
        using (var model = ModelFolder.LoadEncoder(fx.Folder))
        using (no_grad())
        {
            model.eval();
            using var tIds = tensor(ids, B, T);
            using var tMask = tensor(mask, B, T);
            using var tTypes = tensor(types, B, T);
            var o = model.forward(new BertInputs(tIds, tMask, tTypes));
            using var hidden = o.LastHiddenState;
            using var pooled = o.PooledOutput!;
            ourHidden = hidden.data<float>().ToArray();
            ourPooled = pooled.data<float>().ToArray();
        }

        // Padded positions are not defined equal (each implementation fills them differently): real tokens only.
        double hiddenDiff = 0;
        for (int b = 0; b < B; b++)
            for (int t = 0; t < rows[b].Length; t++)
                for (int h = 0; h < H; h++)
                {
                    int i = (b * T + t) * H + h;
                    hiddenDiff = Math.Max(hiddenDiff, Math.Abs(ortHidden[i] - ourHidden[i]));
                }
        double pooledDiff = ortPooled.Zip(ourPooled, (x, y) => (double)Math.Abs(x - y)).Max();
        log.WriteLine($"batch {B} x {T} (lengths {string.Join(", ", rows.Select(r => r.Length))}); max |diff| last_hidden_state: {hiddenDiff:E2}, pooler ('{fx.Import.PoolerOutput}'): {pooledDiff:E2}");
        Assert.True(hiddenDiff <= Tolerance, $"last_hidden_state differs from ONNX Runtime by {hiddenDiff:E2}");
        Assert.True(pooledDiff <= Tolerance, $"pooler output differs from ONNX Runtime by {pooledDiff:E2}");
        // Guard against a vacuous pass (e.g. both all zeros).
        Assert.True(ortHidden.Select(Math.Abs).Max() > 0.1f);
    }

    [Fact]
    public void ClassifierFromTheImportedFolderMissesOnlyTheHead()
    {
        var (model, report) = ModelFolder.LoadForClassification(fx.Folder, ["0", "1"]);
        using (model)
        {
            Assert.Equal(new[] { "classifier.bias", "classifier.weight" }, report.Missing.Order(StringComparer.Ordinal));
            Assert.Equal(report.Missing, report.NewlyInitialised);
            Assert.Empty(report.Unexpected); // position_ids, if a file has it, is dropped without a report
            Assert.Equal(new[] { "0", "1" }, model.Config.Labels);
            Assert.Equal(new long[] { 2, 384 }, model.classifier.weight!.shape);
        }
    }
}

/// <summary>
/// Just enough BERT WordPiece (uncased) for the plain-ASCII test sentences: lower-case, split on whitespace and
/// punctuation, longest-match-first with ## continuations. Not the product tokenizer: no accent stripping, no CJK.
/// </summary>
static class MiniWordPiece
{
    public const long Cls = 101, Sep = 102, Unk = 100;

    public static Dictionary<string, long> LoadVocab(string path) =>
        File.ReadAllLines(path).Select((tok, i) => (tok, i)).ToDictionary(p => p.tok, p => (long)p.i);

    public static long[] Encode(string text, Dictionary<string, long> vocab)
    {
        var ids = new List<long> { Cls };
        foreach (var word in Words(text.ToLowerInvariant()))
        {
            var pieces = new List<long>();
            for (int start = 0; start < word.Length;)
            {
                int end = word.Length;
                long id = -1;
                for (; end > start; end--)
                    if (vocab.TryGetValue((start > 0 ? "##" : "") + word[start..end], out id)) break;
                if (end == start) { pieces = [Unk]; break; } // as BERT: a word with an unknown piece becomes one [UNK]
                pieces.Add(id);
                start = end;
            }
            ids.AddRange(pieces);
        }
        ids.Add(Sep);
        return ids.ToArray();
    }

    static IEnumerable<string> Words(string text)
    {
        var cur = new System.Text.StringBuilder();
        foreach (char ch in text)
        {
            bool punct = char.IsPunctuation(ch) || char.IsSymbol(ch);
            if (char.IsWhiteSpace(ch) || punct)
            {
                if (cur.Length > 0) { yield return cur.ToString(); cur.Clear(); }
                if (punct) yield return ch.ToString();
            }
            else cur.Append(ch);
        }
        if (cur.Length > 0) yield return cur.ToString();
    }
}
