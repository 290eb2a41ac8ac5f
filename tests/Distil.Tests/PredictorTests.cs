using System.Reflection;
using System.Runtime.Loader;
using Distil.Checkpoints;
using Distil.Cli.Commands;
using Distil.Data;
using Distil.Deploy;
using Distil.Onnx;
using Distil.Text;
using Distil.Training;
using TorchSharp;
using Xunit;

namespace Distil.Tests;

/// <summary>
/// DistilPredictor (ONNX Runtime only) against the TorchSharp path on the same model: the labels of `distil predict`
/// and Classifier.PredictProbabilities, for texts and pairs; and it runs in a load context that never loads TorchSharp.
/// </summary>
public sealed class PredictorTests : IDisposable
{
    readonly TempDir tmp = new();
    public PredictorTests() => torch.set_num_threads(1);
    public void Dispose() => tmp.Dispose();

    static readonly (string, string)[] Pairs =
    {
        ("the movie was great", "the food was awful"), ("love the phone", "love the phone"), ("poor", "a fine movie , the food is good ."),
        ("hate", "great"), ("the food", "the phone"),
    };

    [Fact]
    public void SameLabelsAsDistilPredictAndTheClassifierForTextsAndPairs()
    {
        string dir = DeployFixtures.ClassifierFolder(tmp.Path, "pooler", seed: 11);
        string onnx = Path.Combine(tmp.Path, "onnx");
        OnnxExport.Export(dir, onnx, new ExportOptions { RandomRows = 8 });
        using var predictor = DistilPredictor.Load(onnx, new PredictorOptions { MaxSeqLen = 32, BatchSize = 3 });
        Assert.Equal(new[] { "L0", "L1", "L2" }, predictor.Labels);

        var texts = DeployFixtures.Sentences;
        var ours = predictor.Predict(texts);
        var cli = PredictCommand.Predict(dir, texts.Select(t => (t, (string?)null)).ToList(), 32);
        Assert.Equal(cli.Select(p => p.Label), ours.Select(p => p.Label));
        for (int i = 0; i < texts.Length; i++)
            foreach (var (label, prob) in cli[i].Probabilities) Assert.Equal(prob, ours[i].Probabilities[label], 4);
        Assert.True(ours.Select(p => p.Label).Distinct().Count() >= 2, "a model that predicts one label for everything tests little");

        // Pairs: against the classifier on the same encodings (token types 1 on the second text).
        var pairs = predictor.PredictPairs(Pairs);
        var (m, _) = ModelFolder.LoadForClassification(dir);
        using var model = m;
        var tokenizer = BertTextTokenizer.FromFolder(dir);
        var encoded = Pairs.Select(p => { var t = tokenizer.Encode(p.Item1, p.Item2, 32); return new EncodedExample(t.InputIds, t.TokenTypeIds, 0, DomainSet.None); }).ToArray();
        var probs = Classifier.PredictProbabilities(model, encoded, 2, tokenizer.Pad, torch.CPU);
        for (int i = 0; i < Pairs.Length; i++)
        {
            Assert.Equal(Array.IndexOf(probs[i], probs[i].Max()), pairs[i].LabelIndex);
            Assert.Equal(probs[i][pairs[i].LabelIndex], pairs[i].Confidence, 4);
        }
        Assert.Equal(1f, pairs[0].Probabilities.Values.Sum(), 5);

        // An int8 folder loads the same way (labels may differ where fp32 is close to a tie, so only the shape is checked).
        string int8 = Path.Combine(tmp.Path, "int8");
        Int8Export.QuantizeFolder(onnx, int8, new QuantizeOptions());
        using var quantized = DistilPredictor.Load(int8);
        Assert.Equal(texts.Length, quantized.Predict(texts).Count);
    }

    [Fact]
    public void BadFoldersGiveClearErrors()
    {
        string dir = DeployFixtures.ClassifierFolder(tmp.Path, "mean");
        var e = Assert.Throws<DistilException>(() => DistilPredictor.Load(dir));
        Assert.Equal(ExitCodes.InputNotFound, e.ExitCode);
        Assert.Contains("distil export", e.Message);
        Assert.Equal(ExitCodes.InputNotFound, Assert.Throws<DistilException>(() => DistilPredictor.Load(Path.Combine(tmp.Path, "nope"))).ExitCode);
        string broken = Path.Combine(tmp.Path, "broken");
        Directory.CreateDirectory(broken);
        File.Copy(Path.Combine(dir, "vocab.txt"), Path.Combine(broken, "vocab.txt"));
        File.WriteAllText(Path.Combine(broken, "model.onnx"), "not a model");
        Assert.Equal(ExitCodes.InvalidInput, Assert.Throws<DistilException>(() => DistilPredictor.Load(broken)).ExitCode);
    }

    /// <summary>Loads assemblies from the test's bin folder into its own context and records every one it asks for.</summary>
    sealed class RecordingContext(string dir) : AssemblyLoadContext("predictor-only", isCollectible: true)
    {
        public readonly List<string> Requested = new();

        protected override Assembly? Load(AssemblyName name)
        {
            Requested.Add(name.Name!);
            string path = Path.Combine(dir, name.Name + ".dll");
            return File.Exists(path) ? LoadFromAssemblyPath(path) : null; // framework assemblies: the default context
        }
    }

    [Fact]
    public void ThePredictorNeverLoadsTorchSharp()
    {
        string dir = DeployFixtures.ClassifierFolder(tmp.Path, "mean", seed: 5);
        string onnx = Path.Combine(tmp.Path, "onnx");
        OnnxExport.Export(dir, onnx, new ExportOptions { RandomRows = 8 });
        using var reference = DistilPredictor.Load(onnx);
        var expected = reference.Predict(DeployFixtures.Sentences).Select(p => p.Label).ToArray();

        string bin = Path.GetDirectoryName(typeof(DistilPredictor).Assembly.Location)!;
        var context = new RecordingContext(bin);
        try
        {
            var distil = context.LoadFromAssemblyPath(Path.Combine(bin, "Distil.dll"));
            var type = distil.GetType("Distil.Deploy.DistilPredictor", throwOnError: true)!;
            var predictor = (IDisposable)type.GetMethod("Load")!.Invoke(null, new object?[] { onnx, null })!;
            using (predictor)
            {
                var predict = type.GetMethod("Predict", new[] { typeof(IEnumerable<string>) })!;
                var results = (System.Collections.IEnumerable)predict.Invoke(predictor, new object[] { DeployFixtures.Sentences })!;
                var labels = results.Cast<object>().Select(p => (string)p.GetType().GetProperty("Label")!.GetValue(p)!).ToArray();
                Assert.Equal(expected, labels);
            }
            Assert.Contains("Microsoft.ML.OnnxRuntime", context.Requested);
            Assert.DoesNotContain(context.Requested, n => n.StartsWith("TorchSharp", StringComparison.OrdinalIgnoreCase));
            Assert.DoesNotContain(context.Assemblies, a => a.GetName().Name!.StartsWith("TorchSharp", StringComparison.OrdinalIgnoreCase));
        }
        finally { context.Unload(); }
    }
}
