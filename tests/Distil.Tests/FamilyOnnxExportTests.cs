using Distil.Checkpoints;
using Distil.Models;
using Distil.Onnx;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Onnx;
using TorchSharp;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Distil.Tests;

/// <summary>
/// `distil export` of every encoder family: tiny random classifiers of each (RoBERTa, XLM-R, CamemBERT, DistilBERT,
/// ELECTRA with and without the E -> H projection, ALBERT, DeBERTa-v2/v3 in four configurations) are exported and ONNX
/// Runtime, an independent engine, must give TorchSharp's logits on padded batches (max |diff| &lt;= 1e-4, same argmax):
/// once in the exporter's own check, once here with our own session on a batch the check did not see.
/// </summary>
public sealed class FamilyOnnxExportTests(ITestOutputHelper output) : IDisposable
{
    readonly TempDir tmp = new("family-onnx");
    public void Dispose() => tmp.Dispose();

    /// <summary>DeBERTa configurations of DebertaV2Tests: buckets + shared keys, clamped spans + separate projections, the conv branch, no relative attention.</summary>
    static readonly Dictionary<string, string> Deberta = new()
    {
        ["deberta-v3"] = """{"vocab_size":40,"hidden_size":16,"num_hidden_layers":2,"num_attention_heads":4,"intermediate_size":24,"max_position_embeddings":32,"relative_attention":true,"position_buckets":8,"pos_att_type":"p2c|c2p","share_att_key":true,"norm_rel_ebd":"layer_norm","position_biased_input":false}""",
        ["deberta-v2"] = """{"vocab_size":40,"hidden_size":16,"embedding_size":8,"num_hidden_layers":2,"num_attention_heads":2,"intermediate_size":24,"max_position_embeddings":32,"relative_attention":true,"max_relative_positions":4,"pos_att_type":["c2p","p2c"],"share_att_key":false,"type_vocab_size":2,"hidden_act":"gelu_new"}""",
        ["deberta-conv"] = """{"vocab_size":40,"hidden_size":16,"num_hidden_layers":2,"num_attention_heads":4,"intermediate_size":24,"max_position_embeddings":32,"relative_attention":true,"position_buckets":4,"max_relative_positions":16,"pos_att_type":["c2p"],"share_att_key":false,"norm_rel_ebd":"layer_norm","conv_kernel_size":3,"position_biased_input":false}""",
        ["deberta-plain"] = """{"vocab_size":40,"hidden_size":16,"num_hidden_layers":1,"num_attention_heads":4,"intermediate_size":24,"max_position_embeddings":32,"pos_att_type":["p2c","c2p"]}""",
    };

    public static TheoryData<string> Families => new()
    {
        "roberta", "xlm-roberta", "camembert", "distilbert", "electra", "electra-no-project", "albert-pooler", "albert-mean",
        "deberta-v3", "deberta-v2", "deberta-conv", "deberta-plain",
    };

    EncoderClassifier Build(string family)
    {
        torch.manual_seed(family.Length * 31 + family[^1]);
        EncoderClassifier model = family switch
        {
            "distilbert" => new DistilBertForSequenceClassification(TinyFamilies.DistilBert()),
            "electra" => new ElectraForSequenceClassification(TinyFamilies.Electra()),
            "electra-no-project" => new ElectraForSequenceClassification(TinyFamilies.Electra(embedding: 16)),
            "albert-pooler" or "albert-mean" => new AlbertForSequenceClassification(new AlbertConfig
            {
                VocabSize = TinyFamilies.Vocab, EmbeddingSize = 8, HiddenSize = 16, NumHiddenLayers = 3, NumHiddenGroups = 1, NumAttentionHeads = 2,
                IntermediateSize = 24, MaxPositionEmbeddings = 32, ClassifierPooling = family[7..],
            }.WithLabels(["neg", "pos", "mixed"])),
            _ when family.StartsWith("deberta", StringComparison.Ordinal) => new DebertaV2ForSequenceClassification(
                DebertaV2Config.Load(tmp.File(family + ".json", Deberta[family])).WithLabels(["neg", "pos", "mixed"])),
            _ => new RobertaForSequenceClassification(TinyFamilies.Roberta(family)),
        };
        return TinyFamilies.Randomised(model, seed: 17);
    }

    /// <summary>A WordPiece vocab.txt of the tiny vocabulary size with BERT's special tokens (what the export check pads with).</summary>
    string Tokenizer()
    {
        string dir = Path.Combine(tmp.Path, "tok");
        Directory.CreateDirectory(dir);
        File.WriteAllLines(Path.Combine(dir, "vocab.txt"), new[] { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]" }.Concat(Enumerable.Range(5, TinyFamilies.Vocab - 5).Select(i => $"w{i}")));
        return dir;
    }

    [Theory]
    [MemberData(nameof(Families))]
    public void OnnxRuntimeGivesTorchSharpsLogitsForEveryFamily(string family)
    {
        string dir = Path.Combine(tmp.Path, family);
        using (var model = Build(family)) ModelFolder.Save(dir, model, Tokenizer());
        string outDir = Path.Combine(tmp.Path, family + "-onnx");
        var report = OnnxExport.Export(dir, outDir, new ExportOptions { RandomRows = 16, MaxSeqLen = 24 });
        foreach (var c in report.Checks) output.WriteLine($"{family} {c.Set}: {c.Examples} rows, max |logit diff| {c.MaxAbsDiff:E2}, argmax {c.ArgmaxAgree}/{c.Examples}");
        Assert.True(report.Passed);
        Assert.True(report.Checks.SelectMany(c => c.Shapes).Distinct().Count() >= 3, "the built-in check must run several batch shapes");
        foreach (string f in new[] { "model.onnx", "config.json", "vocab.txt", "tokenizer_config.json", "export_report.json" })
            Assert.True(File.Exists(Path.Combine(outDir, f)), $"{f} missing");
        var proto = ModelProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(outDir, "model.onnx")));
        Assert.Equal(17, proto.OpsetImport.Single(o => o.Domain == "").Version);
        Assert.DoesNotContain(proto.OpsetImport, o => o.Domain == OnnxGraphBuilder.MicrosoftDomain);
        Assert.All(proto.Graph.Input, i => Assert.Equal(new[] { "batch", "sequence" }, i.Type.TensorType.Shape.Dim.Select(d => d.DimParam)));

        // Our own session and forward on a batch the check did not see: three rows, two padded.
        using var reloaded = ModelFolder.LoadEncoderClassifier(dir);
        reloaded.eval();
        var batch = TinyFamilies.PaddedBatch(reloaded.Shape.PadTokenId);
        long[] ids = batch.InputIds.data<long>().ToArray(), mask = batch.AttentionMask.data<long>().ToArray();
        int b = (int)batch.InputIds.shape[0], len = (int)batch.InputIds.shape[1];
        long[] types = family == "deberta-v2" ? ids.Select((_, k) => k % len >= 3 ? 1L : 0L).ToArray() : new long[ids.Length];
        float[] ts;
        using (no_grad())
            ts = reloaded.forward(new BertInputs(tensor(ids).view(b, len), tensor(mask).view(b, len), tensor(types).view(b, len))).Logits.data<float>().ToArray();
        using var session = new InferenceSession(Path.Combine(outDir, "model.onnx"));
        var dims = new[] { b, len };
        using var results = session.Run(new[]
        {
            NamedOnnxValue.CreateFromTensor("input_ids", new DenseTensor<long>(ids, dims)),
            NamedOnnxValue.CreateFromTensor("attention_mask", new DenseTensor<long>(mask, dims)),
            NamedOnnxValue.CreateFromTensor("token_type_ids", new DenseTensor<long>(types, dims)),
        });
        float[] ort = results.Single(r => r.Name == "logits").AsTensor<float>().ToArray();
        double max = ort.Zip(ts, (x, y) => Math.Abs(x - y)).Max();
        output.WriteLine($"{family} own batch: max |logit diff| {max:E2}");
        Assert.True(max <= 1e-4, $"{family}: max |logit diff| {max}");
        Assert.True(ts.Select(Math.Abs).Max() > 0.05, "logits must not be near zero, or the comparison says little");
        for (int r = 0; r < b; r++)
            Assert.Equal(OrtClassifier.ArgMax(ts.Skip(3 * r).Take(3).ToArray()), OrtClassifier.ArgMax(ort.Skip(3 * r).Take(3).ToArray()));
    }

    /// <summary>
    /// The graph holds DeBERTa's relative terms for real: after the relative embeddings change in torch, the exported
    /// graph no longer matches, and a run of `distil export` on the changed folder writes nothing when its check fails.
    /// </summary>
    [Fact]
    public void TheRelativePositionTermsAreInTheGraphAndAFailedCheckWritesNothing()
    {
        string dir = Path.Combine(tmp.Path, "deberta");
        using var model = (DebertaV2ForSequenceClassification)Build("deberta-v3");
        ModelFolder.Save(dir, model, Tokenizer());
        string outDir = Path.Combine(tmp.Path, "deberta-onnx");
        Assert.True(OnnxExport.Export(dir, outDir, new ExportOptions { RandomRows = 8, MaxSeqLen = 24 }).Passed);

        using (no_grad()) model.deberta.encoder.rel_embeddings!.weight![3, 0].add_(2.0); // one entry: a whole-row shift would vanish in the LayerNorm over the row
        using var ort = new OrtClassifier(Path.Combine(outDir, "model.onnx"));
        var rows = ExportCheck.RandomRows(12, TinyFamilies.Vocab, 20, 1, seed: 3);
        var r = ExportCheck.Compare(model, i => model.forward(i).Logits, ort, "perturbed", rows, 4, 0);
        output.WriteLine($"relative embedding row changed: max |logit diff| {r.MaxAbsDiff:E2}");
        Assert.True(r.MaxAbsDiff > 1e-3);

        // A check that cannot pass (a tolerance below float rounding) is exit code 6 and leaves no folder behind.
        string failed = Path.Combine(tmp.Path, "deberta-strict");
        var e = Assert.Throws<DistilException>(() => OnnxExport.Export(dir, failed, new ExportOptions { RandomRows = 8, MaxSeqLen = 24, Atol = 1e-15 }));
        Assert.Equal(6, e.ExitCode);
        Assert.Contains("nothing was written", e.Message);
        Assert.False(Directory.Exists(failed));
    }

    [Fact]
    public void OrtFusedIsRefusedWhereTheLayerIsNotBerts()
    {
        string dir = Path.Combine(tmp.Path, "distilbert");
        using (var model = Build("distilbert")) ModelFolder.Save(dir, model, Tokenizer());
        var e = Assert.Throws<DistilException>(() => OnnxExport.Export(dir, Path.Combine(tmp.Path, "x"), new ExportOptions { OrtFused = true }));
        Assert.Equal(ExitCodes.InvalidUsage, e.ExitCode);
        Assert.False(Directory.Exists(Path.Combine(tmp.Path, "x")));
    }

    [Theory]
    [InlineData("roberta")]
    [InlineData("electra")]
    public void OrtFusedKernelsReproduceBertLayerFamilies(string family)
    {
        string dir = Path.Combine(tmp.Path, family);
        using (var model = Build(family)) ModelFolder.Save(dir, model, Tokenizer());
        var report = OnnxExport.Export(dir, Path.Combine(tmp.Path, family + "-fused"), new ExportOptions { RandomRows = 16, MaxSeqLen = 24, OrtFused = true });
        Assert.True(report.Passed, string.Join("; ", report.Checks.Select(c => $"{c.Set} {c.MaxAbsDiff:E2}")));
    }
}
