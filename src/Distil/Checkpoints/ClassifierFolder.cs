using System.Text.Json;
using Distil.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Distil.Checkpoints;

/// <summary>A sequence classifier of any kind, as eval/predict/latency need it: its module, a logits function and its labels.</summary>
public sealed record LoadedClassifier(nn.Module Module, Func<BertInputs, Tensor> Logits, IReadOnlyList<string> Labels, int VocabSize, string ModelType) : IDisposable
{
    public long Parameters => Module.parameters().Sum(p => p.numel());
    /// <summary>What the head predicts (docs/tasks.md); an AdaBERT CNN is a sequence classifier.</summary>
    public TaskKind Task { get; init; } = TaskKind.Sequence;
    public void Dispose() => Module.Dispose();
}

/// <summary>Loads a classifier folder by its config.json "model_type": "adabert_cnn" or any encoder family of <see cref="EncoderFamilies"/> ("bert" by default).</summary>
public static class ClassifierFolder
{
    public static string ModelType(string dir)
    {
        string path = Path.Combine(AtomicFolder.ResolveForReading(dir), ModelFolder.ConfigFile);
        if (!File.Exists(path)) throw DistilException.NotFound($"{path}: not found; a model folder needs config.json, model.safetensors and vocab.txt");
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(path));
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw DistilException.BadInput($"{path}: not a JSON object (a config.json is {{\"model_type\": ..., ...}})");
            string type = doc.RootElement.TryGetProperty("model_type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString()! : "bert";
            // A mean-pooled folder's model_type only tells transformers to use the shipped code; the family is the same.
            return type switch { BertConfig.MeanPooledType => "bert", AlbertConfig.MeanPooledType => AlbertConfig.Type, _ => type };
        }
        catch (JsonException e) { throw DistilException.BadInput($"{path}: not valid JSON ({e.Message})"); }
    }

    public static LoadedClassifier Load(string dir)
    {
        if (ModelType(dir) == AdaBertCnnConfig.Type)
        {
            var cnn = AdaBertCnnFolder.Load(dir);
            return new LoadedClassifier(cnn, cnn.forward, cnn.Config.Labels, cnn.Config.VocabSize, AdaBertCnnConfig.Type);
        }
        var (model, _) = TaskModels.Load(dir);
        return new LoadedClassifier(model, i => model.forward(i).Logits, model.Shape.Labels, model.Shape.VocabSize, ModelType(dir)) { Task = model.Task };
    }
}
