using Distil.Checkpoints;
using Distil.Models;
using Distil.Text;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using TorchSharp;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Distil.Tests;

/// <summary>
/// The independent reference: our TorchSharp BERT with the imported weights against ONNX Runtime running the
/// original all-MiniLM-L6-v2 graph, on real sentences of mixed lengths, padded, tokenized by our tokenizer.
/// </summary>
[Collection(MiniLmCollection.Name)]
public sealed class OrtParityTests(MiniLmImportFixture fx, ITestOutputHelper output)
{
    static readonly string[] Sentences =
    {
        "Good case!.",
        "Everything from acting to cinematography was solid.",
        "In other words, the content level of this film is enough to easily fill a dozen other films.",
        "The food was cold and the service even colder; I will not be back.",
        "Wow... Loved this place.",
        "Not recommended.",
    };

    [Fact]
    public void LastHiddenStateAndPoolerMatchOnnxRuntime()
    {
        torch.set_num_threads(1);
        var tokenizer = BertTextTokenizer.FromFolder(fx.Folder);
        var rows = Sentences.Select(s => tokenizer.Encode(s, null, 64).InputIds).ToArray();
        int batch = rows.Length, len = rows.Max(r => r.Length);
        Assert.True(rows.Min(r => r.Length) < len - 10, "the batch must mix lengths so that padding matters");
        var ids = new long[batch * len];
        var mask = new long[batch * len];
        for (int b = 0; b < batch; b++)
            for (int t = 0; t < rows[b].Length; t++) { ids[b * len + t] = rows[b][t]; mask[b * len + t] = 1; }

        // ONNX Runtime on the original file.
        using var session = new InferenceSession(fx.Files.Onnx);
        var dims = new[] { batch, len };
        var inputs = new List<NamedOnnxValue>
        {
            NamedOnnxValue.CreateFromTensor("input_ids", new DenseTensor<long>(ids, dims)),
            NamedOnnxValue.CreateFromTensor("attention_mask", new DenseTensor<long>(mask, dims)),
            NamedOnnxValue.CreateFromTensor("token_type_ids", new DenseTensor<long>(new long[batch * len], dims)),
        };
        using var results = session.Run(inputs);
        var ortHidden = results.First(r => r.Name == fx.Import.LastHiddenStateOutput).AsEnumerable<float>().ToArray();
        var ortPooled = results.First(r => r.Name == fx.Import.PoolerOutput).AsEnumerable<float>().ToArray();

        // Ours, from the imported HF folder.
        using var model = ModelFolder.LoadEncoder(fx.Folder);
        model.eval();
        using var _ = no_grad();
        using var idT = tensor(ids).view(batch, len);
        using var maskT = tensor(mask).view(batch, len);
        var ours = model.forward(new BertInputs(idT, maskT, zeros_like(idT)));
        var hidden = ours.LastHiddenState.data<float>().ToArray();
        var pooled = ours.PooledOutput!.data<float>().ToArray();

        int h = fx.Import.Config.HiddenSize;
        double maxHidden = 0;
        for (int b = 0; b < batch; b++)
            for (int t = 0; t < rows[b].Length; t++) // padded positions are not defined equal
                for (int k = 0; k < h; k++)
                {
                    int i = (b * len + t) * h + k;
                    maxHidden = Math.Max(maxHidden, Math.Abs(hidden[i] - ortHidden[i]));
                }
        double maxPooled = pooled.Zip(ortPooled, (a, c) => Math.Abs(a - c)).Max();
        output.WriteLine($"max |diff| last_hidden_state {maxHidden:E2}, pooler {maxPooled:E2} ({batch} sentences, {len} tokens max)");
        Assert.True(maxHidden <= 1e-4, $"last hidden state differs from ONNX Runtime by {maxHidden}");
        Assert.True(maxPooled <= 1e-4, $"pooler output differs from ONNX Runtime by {maxPooled}");
    }

    [Fact]
    public void TokenizerGivesBertBaseUncasedIds()
    {
        // Ids from docs/stack-notes.md §Tokenizer, worked out with Hugging Face's bert-base-uncased tokenizer.
        var tokenizer = BertTextTokenizer.FromFolder(fx.Folder);
        Assert.Equal(new long[] { 101, 2644, 2033, 2085, 102 }, tokenizer.Encode("stop\tme\nnow", null, 16).InputIds);
        Assert.Equal(new long[] { 101, 14477, 20961, 3468, 102 }, tokenizer.Encode("unaffable", null, 16).InputIds);
        var pair = tokenizer.Encode("How old are you?", "I am 6 .", 32);
        Assert.Equal(new long[] { 101, 2129, 2214, 2024, 2017, 1029, 102, 1045, 2572, 1020, 1012, 102 }, pair.InputIds);
        Assert.Equal(Enumerable.Repeat(0L, 7).Concat(Enumerable.Repeat(1L, 5)), pair.TokenTypeIds);
    }

    [Fact]
    public void ImportedFolderLoadsAsClassifierWithOnlyTheHeadNew()
    {
        var (model, report) = ModelFolder.LoadForClassification(fx.Folder, new[] { "0", "1" });
        using (model)
        {
            Assert.Equal(new[] { "classifier.bias", "classifier.weight" }, report.Missing.Order(StringComparer.Ordinal));
            Assert.Empty(report.Unexpected);
        }
    }
}
