using System.Text.Json;
using System.Text.Json.Nodes;
using Distil.Checkpoints;
using Distil.Cli;
using Distil.Cli.Commands;
using Distil.Deploy;
using Distil.Models;
using Distil.Onnx;
using TorchSharp;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Distil.Tests;

/// <summary>
/// The token-classification and extractive-QA heads of every non-BERT family (RoBERTa, XLM-R, DistilBERT, ELECTRA,
/// DeBERTa-v2) against tests/reference/ (torch code written from transformers' modeling files): tiny random models
/// saved as HF folders, per-token / start-end logits within 1e-4 and the same argmax. Their ONNX exports against
/// ONNX Runtime (the exporter's check, entities through DistilPredictor, int8), regression and multi-label heads of
/// DistilBERT and DeBERTa-v2 through save, reload and export, and `--task token` end to end on RoBERTa and DistilBERT.
/// </summary>
public sealed class FamilyTaskHeadTests : IDisposable
{
    readonly TempDir tmp = new("family-heads");
    readonly ITestOutputHelper output;

    public FamilyTaskHeadTests(ITestOutputHelper output)
    {
        this.output = output;
        torch.set_num_threads(1);
    }

    public void Dispose() => tmp.Dispose();

    static readonly string[] Tags = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"];

    /// <summary>DeBERTa-v2 with separate position projections, clamped spans, E != H and token types (DebertaV2Tests' "v2").</summary>
    const string DebertaV2Json = """{"vocab_size":40,"hidden_size":16,"embedding_size":8,"num_hidden_layers":2,"num_attention_heads":2,"intermediate_size":24,"max_position_embeddings":32,"relative_attention":true,"max_relative_positions":4,"pos_att_type":["c2p","p2c"],"share_att_key":false,"type_vocab_size":2,"hidden_act":"gelu_new"}""";

    /// <summary>DeBERTa-v3 (log buckets, shared keys, normed relative embeddings, no absolute positions).</summary>
    const string DebertaV3Json = """{"vocab_size":40,"hidden_size":16,"num_hidden_layers":2,"num_attention_heads":4,"intermediate_size":24,"max_position_embeddings":32,"relative_attention":true,"position_buckets":8,"pos_att_type":["p2c","c2p"],"share_att_key":true,"norm_rel_ebd":"layer_norm","position_biased_input":false}""";

    public static TheoryData<string> Families => new() { "roberta", "xlm-roberta", "distilbert", "electra", "deberta-v2" };

    DebertaV2Config Deberta(string json) => DebertaV2Config.Load(tmp.File($"deberta-{Guid.NewGuid():N}.json", json));

    EncoderTokenClassifier TokenModel(string family) => Randomised(family switch
    {
        "distilbert" => new DistilBertForTokenClassification(TinyFamilies.DistilBert().WithLabels(Tags)),
        "electra" => new ElectraForTokenClassification(TinyFamilies.Electra().WithLabels(Tags)),
        "deberta-v2" => new DebertaV2ForTokenClassification(Deberta(DebertaV2Json).WithLabels(Tags)),
        _ => (EncoderTokenClassifier)new RobertaForTokenClassification(TinyFamilies.Roberta(family).WithLabels(Tags)),
    }, seed: family.Length);

    EncoderQuestionAnswering QaModel(string family) => Randomised(family switch
    {
        "distilbert" => new DistilBertForQuestionAnswering(TinyFamilies.DistilBert()),
        "electra" => new ElectraForQuestionAnswering(TinyFamilies.Electra()),
        "deberta-v2" => new DebertaV2ForQuestionAnswering(Deberta(DebertaV3Json)),
        _ => (EncoderQuestionAnswering)new RobertaForQuestionAnswering(TinyFamilies.Roberta(family)),
    }, seed: family.Length + 1);

    /// <summary>Weights moved well away from the init (LayerNorms at 1/0, zero biases), so every parameter shows in the logits.</summary>
    static T Randomised<T>(T model, int seed) where T : nn.Module
    {
        manual_seed(seed);
        using (no_grad())
            foreach (var (_, p) in model.named_parameters()) p.add_(randn_like(p) * 0.3);
        model.eval();
        return model;
    }

    static long Pad(string family) => family is "roberta" or "xlm-roberta" ? 1 : 0;

    /// <summary>The reference's outputs for the folder's head (config.json's architectures pick it) on TinyFamilies' padded batch.</summary>
    JsonElement Reference(string family, string dir, BertInputs inputs)
    {
        static long[][] Rows(Tensor t) => Enumerable.Range(0, (int)t.shape[0]).Select(i => t[i].data<long>().ToArray()).ToArray();
        string input = tmp.File($"in-{Guid.NewGuid():N}.json", JsonSerializer.Serialize(new { input_ids = Rows(inputs.InputIds), attention_mask = Rows(inputs.AttentionMask) }));
        if (family == "deberta-v2") return JsonDocument.Parse(PythonReference.Run("deberta_v2.py", "forward", dir, input)).RootElement.Clone();
        string script = family switch { "distilbert" => "distilbert.py", "electra" => "electra.py", _ => "roberta.py" };
        string outPath = Path.Combine(tmp.Path, $"out-{Guid.NewGuid():N}.json");
        PythonReference.Run(script, dir, input, outPath);
        return JsonDocument.Parse(File.ReadAllText(outPath)).RootElement.Clone();
    }

    static float[] Flat(JsonElement e) => e.ValueKind == JsonValueKind.Array ? e.EnumerateArray().SelectMany(Flat).ToArray() : [e.GetSingle()];

    /// <summary>Max |diff| within 1e-4 and, per row of <paramref name="width"/> values, the same argmax.</summary>
    void AssertSame(float[] expected, Tensor actual, int width, string what)
    {
        var a = actual.contiguous().data<float>().ToArray();
        Assert.Equal(expected.Length, a.Length);
        double max = expected.Zip(a, (x, y) => Math.Abs(x - y)).Max();
        output.WriteLine($"{what}: {a.Length} values, max |diff| {max:E2}");
        Assert.True(max <= 1e-4, $"{what}: max |diff| {max:E2}");
        for (int r = 0; r < a.Length / width; r++)
            Assert.Equal(OrtClassifier.ArgMax(expected[(r * width)..((r + 1) * width)]), OrtClassifier.ArgMax(a[(r * width)..((r + 1) * width)]));
        Assert.True(a.Max() - a.Min() > 0.1, $"{what}: a random model's logits should differ between positions");
    }

    static string Architecture(string dir) => JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "config.json")))!["architectures"]![0]!.GetValue<string>();

    [Theory]
    [MemberData(nameof(Families))]
    public void Token_head_matches_the_transformers_semantics_reference_and_reloads(string family)
    {
        string dir = Path.Combine(tmp.Path, family + "-token");
        var inputs = TinyFamilies.PaddedBatch(Pad(family));
        Tensor ours;
        using (var model = TokenModel(family))
        {
            ModelFolder.Save(dir, model, TinyFamilies.TokenizerDir(tmp));
            using var _ = no_grad();
            ours = model.forward(inputs).Logits; // (B, T, C)
            Assert.Equal(new long[] { 3, 7, Tags.Length }, ours.shape);
        }
        Assert.Equal(family switch
        {
            "roberta" => "RobertaForTokenClassification",
            "xlm-roberta" => "XLMRobertaForTokenClassification",
            "distilbert" => "DistilBertForTokenClassification",
            "electra" => "ElectraForTokenClassification",
            _ => "DebertaV2ForTokenClassification",
        }, Architecture(dir));
        Assert.Equal(TaskKind.Token, TaskModels.KindOf(dir));

        var reference = Reference(family, dir, inputs);
        AssertSame(Flat(reference.GetProperty("logits")), ours, Tags.Length, $"{family} token logits");

        // Read back (as eval, predict and distill read a teacher): the same class, labels and logits.
        var (reloaded, report) = TaskModels.Load(dir);
        using (reloaded)
        {
            Assert.IsAssignableFrom<EncoderTokenClassifier>(reloaded);
            Assert.Equal(Tags, reloaded.Shape.Labels);
            Assert.Empty(report.NewlyInitialised);
            reloaded.eval();
            using var _ = no_grad();
            Assert.True(allclose(reloaded.forward(inputs).Logits, ours, 0, 1e-6));
        }
    }

    [Theory]
    [MemberData(nameof(Families))]
    public void Qa_head_matches_the_transformers_semantics_reference(string family)
    {
        string dir = Path.Combine(tmp.Path, family + "-qa");
        var inputs = TinyFamilies.PaddedBatch(Pad(family));
        QuestionAnsweringOutput ours;
        using (var model = QaModel(family))
        {
            QaFolder.Save(dir, model, TinyFamilies.TokenizerDir(tmp));
            using var _ = no_grad();
            ours = model.forward(inputs);
        }
        Assert.EndsWith("ForQuestionAnswering", Architecture(dir));
        var reference = Reference(family, dir, inputs);
        int t = (int)inputs.InputIds.shape[1];
        AssertSame(Flat(reference.GetProperty("start_logits")), ours.StartLogits, t, $"{family} start logits");
        AssertSame(Flat(reference.GetProperty("end_logits")), ours.EndLogits, t, $"{family} end logits");
    }

    /// <summary>A WordPiece vocab.txt of the tiny vocabulary with BERT's special tokens, words w5 .. w39.</summary>
    string WordPieceTokenizer()
    {
        string dir = Path.Combine(tmp.Path, "wp");
        Directory.CreateDirectory(dir);
        File.WriteAllLines(Path.Combine(dir, "vocab.txt"), new[] { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]" }.Concat(Enumerable.Range(5, TinyFamilies.Vocab - 5).Select(i => $"w{i}")));
        return dir;
    }

    static readonly string[] Texts = ["w5 w6 w7 w8 w9", "w12 w30 , w31", "w20"];

    [Theory]
    [MemberData(nameof(Families))]
    public void Token_head_exports_to_onnx_with_the_parity_check_on_a_conll_file_and_int8(string family)
    {
        string dir = Path.Combine(tmp.Path, family + "-token-src");
        using (var model = TokenModel(family)) ModelFolder.Save(dir, model, WordPieceTokenizer());
        // The user's own sentences (tags unused by the check): CoNLL for some families, JSONL tokens + tags for the others.
        string check = family is "distilbert" or "deberta-v2"
            ? tmp.File("check.jsonl", """
                {"tokens": ["w5", "w6", "w7"], "tags": ["B-PER", "I-PER", "O"]}
                {"tokens": ["w12", "w13"], "tags": ["O", "B-LOC"]}
                {"tokens": ["w20", "w21", "w22", "w23"], "tags": ["O", "O", "O", "O"]}
                """)
            : tmp.File("check.conll", "w5 B-PER\nw6 I-PER\nw7 O\n\nw12 O\nw13 B-LOC\n\nw20 O\nw21 O\nw22 O\nw23 O\n");
        string onnx = Path.Combine(tmp.Path, family + "-onnx");
        var report = OnnxExport.Export(dir, onnx, new ExportOptions { RandomRows = 16, MaxSeqLen = 24, DataPath = check });
        foreach (var c in report.Checks) output.WriteLine($"{family} {c.Set}: {c.Examples} rows, max |logit diff| {c.MaxAbsDiff:E2}, argmax {c.ArgmaxAgree}/{c.Examples}");
        Assert.True(report.Passed);
        var data = Assert.Single(report.Checks, c => c.Set == Path.GetFileName(check));
        Assert.Equal(3, data.Examples);
        Assert.Equal(["3x6"], data.Shapes); // one batch of the 3 sentences: the longest is [CLS] + 4 words + [SEP]

        using (var ort = new OrtClassifier(Path.Combine(onnx, OnnxExport.OnnxFile)))
        {
            Assert.Equal("token", ort.Metadata["distil.task"]);
            Assert.Equal("per-token", ort.Metadata["distil.pooling"]);
            Assert.Equal(JsonSerializer.Serialize(Tags), ort.Metadata["distil.labels"]);
        }

        // Entities from ONNX Runtime are TorchSharp's: type, text, character span, score.
        using var predictor = DistilPredictor.Load(onnx, new PredictorOptions { MaxSeqLen = 24, BatchSize = 2 });
        Assert.Equal(TaskKind.Token, predictor.Task);
        var torchEntities = PredictCommand.PredictEntities(dir, Texts, 24);
        var ortEntities = predictor.Entities(Texts);
        Assert.True(torchEntities.Sum(t => t.Entities.Count) > 0, "a random head should tag some words, or the comparison says little");
        for (int i = 0; i < Texts.Length; i++)
        {
            Assert.Equal(torchEntities[i].Entities.Select(e => (e.Type, e.Text, e.Start, e.End)), ortEntities[i].Select(e => (e.Type, e.Text, e.Start, e.End)));
            for (int k = 0; k < ortEntities[i].Count; k++) Assert.Equal(torchEntities[i].Entities[k].Score, ortEntities[i][k].Score, 4);
        }

        string int8 = Path.Combine(tmp.Path, family + "-int8");
        var q = Int8Export.QuantizeFolder(onnx, int8, new QuantizeOptions(), maxSeqLen: 24);
        Assert.True(q.Quantization.MatMuls > 0);
        using var quantized = DistilPredictor.Load(int8, new PredictorOptions { MaxSeqLen = 24, BatchSize = 2 });
        Assert.Equal(TaskKind.Token, quantized.Task);
        var a = predictor.Logits(Texts.Select(t => (t, (string?)null)).ToArray());
        var b = quantized.Logits(Texts.Select(t => (t, (string?)null)).ToArray());
        double max = a.Zip(b).Max(p => p.First.Zip(p.Second).Max(x => Math.Abs(x.First - x.Second)));
        output.WriteLine($"{family} int8 vs fp32: max |logit diff| {max:F4}");
        Assert.True(max < 0.3, $"int8 logits {max} away from fp32");
    }

    [Theory]
    [InlineData("roberta")]
    [InlineData("electra")]
    public void Token_head_of_a_bert_layer_family_exports_with_ort_fused_kernels(string family)
    {
        string dir = Path.Combine(tmp.Path, family + "-token-fused");
        using (var model = TokenModel(family)) ModelFolder.Save(dir, model, WordPieceTokenizer());
        string onnx = Path.Combine(tmp.Path, family + "-fused-onnx");
        var report = OnnxExport.Export(dir, onnx, new ExportOptions { RandomRows = 16, MaxSeqLen = 24, OrtFused = true });
        foreach (var c in report.Checks) output.WriteLine($"{family} fused {c.Set}: max |logit diff| {c.MaxAbsDiff:E2}, argmax {c.ArgmaxAgree}/{c.Examples}");
        Assert.True(report.Passed);
        using var ort = new OrtClassifier(Path.Combine(onnx, OnnxExport.OnnxFile));
        Assert.Equal("true", ort.Metadata["distil.ort_fused"]);
        Assert.Equal("token", ort.Metadata["distil.task"]);
    }

    [Theory]
    [InlineData("distilbert", TaskKind.Regression)]
    [InlineData("distilbert", TaskKind.MultiLabel)]
    [InlineData("deberta-v2", TaskKind.Regression)]
    [InlineData("deberta-v2", TaskKind.MultiLabel)]
    public void Regression_and_multi_label_heads_save_reload_and_export_for_distilbert_and_deberta(string family, TaskKind task)
    {
        // A single-label classifier folder becomes the start of a regression / multi-label model, as `distil finetune --task` loads it.
        string start = Path.Combine(tmp.Path, $"{family}-seq");
        using (var seq = Randomised(family == "distilbert"
                   ? (EncoderClassifier)new DistilBertForSequenceClassification(TinyFamilies.DistilBert())
                   : new DebertaV2ForSequenceClassification(Deberta(DebertaV3Json).WithLabels(["neg", "pos"])), seed: 4))
            ModelFolder.Save(start, seq, WordPieceTokenizer());
        string[] labels = task == TaskKind.Regression ? ["score"] : ["a", "b", "c"];
        var (model, _) = TaskModels.Load(start, task, labels);
        string dir = Path.Combine(tmp.Path, $"{family}-{task}");
        using (model)
        {
            Assert.Equal(task, model.Task);
            ModelFolder.Save(dir, Randomised(model, seed: 6), WordPieceTokenizer());
        }
        Assert.Equal(task.ProblemType(), JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "config.json")))!["problem_type"]!.GetValue<string>());
        Assert.Equal(task, TaskModels.KindOf(dir));
        var (reloaded, _) = TaskModels.Load(dir);
        using (reloaded)
        {
            Assert.Equal(task, reloaded.Task);
            Assert.Equal(labels, reloaded.Shape.Labels);
        }

        string onnx = Path.Combine(tmp.Path, $"{family}-{task}-onnx");
        var report = OnnxExport.Export(dir, onnx, new ExportOptions { RandomRows = 16, MaxSeqLen = 24 });
        Assert.True(report.Passed);
        using var ort = new OrtClassifier(Path.Combine(onnx, OnnxExport.OnnxFile));
        Assert.Equal(task.Name(), ort.Metadata["distil.task"]);
        Assert.Equal(family == "distilbert" ? "distilbert" : "deberta-v2", ort.Metadata["distil.model_family"]);
        using var predictor = DistilPredictor.Load(onnx, new PredictorOptions { MaxSeqLen = 24 });
        Assert.Equal(task, predictor.Task);
        Assert.Equal(labels.Length, predictor.Logits([("w5 w6", null)])[0].Length);
    }

    /// <summary>"good"/"great" are B-POS, "bad"/"awful" B-NEG, the rest O (TinyBert's words, in FamilyFineTuneTests' vocabulary).</summary>
    static string TaggedData(string name, int sentences, int seed)
    {
        var rng = new Random(seed);
        var w = TinyBert.Words;
        var lines = new List<string>();
        for (int i = 0; i < sentences; i++)
        {
            lines.Add($"the O\n{w[9 + rng.Next(3)]} O\nwas O");
            lines.Add(i % 2 == 0 ? $"{w[rng.Next(2)]} B-POS" : $"{w[4 + rng.Next(2)]} B-NEG");
            lines.Add(". O\n");
        }
        string path = Path.Combine(TempDir.Scratch("family-tagged"), name);
        File.WriteAllText(path, string.Join("\n", lines));
        return path;
    }

    static Dictionary<string, double> Eval(string model, string data)
    {
        string json = Path.Combine(TempDir.Scratch("family-eval"), "m.json");
        var (code, text) = CliCapture.Run(["eval", "--model", model, "--data", data, "--metrics-json", json, "--threads", "1"]);
        Assert.True(code == ExitCodes.Ok, text);
        return JsonSerializer.Deserialize<Dictionary<string, double>>(File.ReadAllText(json))!;
    }

    [Theory]
    [InlineData("roberta", typeof(RobertaForTokenClassification))]
    [InlineData("distilbert", typeof(DistilBertForTokenClassification))]
    public void Task_token_finetunes_distils_evaluates_predicts_and_exports_a_non_bert_family(string family, Type expected)
    {
        string train = TaggedData("train.conll", 40, 1), dev = TaggedData("dev.conll", 12, 2);
        string ft = Path.Combine(tmp.Path, "ft");
        var (code, text) = CliCapture.Run("finetune", "--model", FamilyFineTuneTests.Pretrained(family), "--task", "token", "--train", train, "--dev", dev, "--out", ft,
            "--epochs", "8", "--batch-size", "8", "--lr", "5e-3", "--max-seq-len", "16", "--threads", "1");
        Assert.True(code == ExitCodes.Ok, text);
        string teacher = Path.Combine(ft, "best");
        var (best, _) = TaskModels.Load(teacher);
        using (best) Assert.IsType(expected, best);
        var teacherDev = Eval(teacher, dev);
        output.WriteLine($"{family} teacher dev entity F1 {teacherDev["f1"]:F3}");
        Assert.True(teacherDev["f1"] > 0.9, $"teacher entity F1 {teacherDev["f1"]}");

        // predict: the entity of a sentence, with its character span.
        var found = PredictCommand.PredictEntities(teacher, ["the movie was great ."], 16);
        Assert.Equal([("POS", "great", 14, 19)], found[0].Entities.Select(e => (e.Type, e.Text, e.Start, e.End)));

        // Per-token KD into a BERT student (logits need no BERT teacher).
        string kd = Path.Combine(tmp.Path, "kd");
        (code, text) = CliCapture.Run("distill", "--teacher", teacher, "--student", "L1-H16-A2-I32", "--preset", "kd", "--train", train, "--dev", dev,
            "--out", kd, "--epochs", "6", "--batch-size", "8", "--lr", "5e-3", "--max-seq-len", "16", "--threads", "1");
        Assert.True(code == ExitCodes.Ok, text);
        var (student, _) = TaskModels.Load(Path.Combine(kd, "best"));
        using (student) Assert.IsType<BertForTokenClassification>(student);
        var studentDev = Eval(Path.Combine(kd, "best"), dev);
        output.WriteLine($"{family} -> BERT student dev entity F1 {studentDev["f1"]:F3}");
        Assert.True(studentDev["f1"] > 0.5, $"student entity F1 {studentDev["f1"]}");

        // distil export --data with the dev CoNLL file: the parity check runs on those sentences too.
        string onnx = Path.Combine(tmp.Path, "onnx");
        (code, text) = CliCapture.Run("export", "--model", teacher, "--out", onnx, "--data", dev, "--max-seq-len", "16");
        Assert.True(code == ExitCodes.Ok, text);
        var report = JsonNode.Parse(File.ReadAllText(Path.Combine(onnx, OnnxExport.ReportFile)))!;
        var devCheck = report["checks"]!.AsArray().Single(c => c!["set"]!.GetValue<string>() == "dev.conll")!;
        Assert.Equal(12, devCheck["examples"]!.GetValue<int>());
        Assert.Equal(12, devCheck["argmax_agree"]!.GetValue<int>());

        // distil quantize --data with the same file: int8 against fp32 at every token of those sentences.
        string int8 = Path.Combine(tmp.Path, "int8");
        (code, text) = CliCapture.Run("quantize", "--model", onnx, "--out", int8, "--data", dev, "--max-seq-len", "16");
        Assert.True(code == ExitCodes.Ok, text);
        var int8Dev = JsonNode.Parse(File.ReadAllText(Path.Combine(int8, Int8Export.ReportFile)))!["comparisons"]!.AsArray()
            .Single(c => c!["set"]!.GetValue<string>() == "dev.conll")!;
        Assert.Equal(12, int8Dev["examples"]!.GetValue<int>());
        output.WriteLine($"{family} int8 vs fp32 on dev.conll: max |logit diff| {int8Dev["max_abs_diff"]!.GetValue<double>():F4}, agreement {int8Dev["argmax_agreement"]!.GetValue<double>():P0}");
        Assert.True(int8Dev["max_abs_diff"]!.GetValue<double>() < 0.5);
        Assert.True(int8Dev["argmax_agreement"]!.GetValue<double>() >= 0.75);

        // A malformed sentence in --data is named by file:line, or skipped with --skip-bad-rows.
        string bad = tmp.File("bad.conll", "the O\ngood B-POS\n\nmovie\n\nbad B-NEG\n");
        (code, text) = CliCapture.Run("export", "--model", teacher, "--out", Path.Combine(tmp.Path, "onnx-bad"), "--data", bad, "--max-seq-len", "16");
        Assert.Equal(ExitCodes.InvalidInput, code);
        Assert.Contains("bad.conll:4", text);
        (code, text) = CliCapture.Run("export", "--model", teacher, "--out", Path.Combine(tmp.Path, "onnx-skip"), "--data", bad, "--skip-bad-rows", "--max-seq-len", "16");
        Assert.True(code == ExitCodes.Ok, text);
        var skipped = JsonNode.Parse(File.ReadAllText(Path.Combine(tmp.Path, "onnx-skip", OnnxExport.ReportFile)))!["checks"]!.AsArray()
            .Single(c => c!["set"]!.GetValue<string>() == "bad.conll")!;
        Assert.Equal(2, skipped["examples"]!.GetValue<int>());
    }
}
