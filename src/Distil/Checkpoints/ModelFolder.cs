using Distil.Models;
using TorchSharp;

namespace Distil.Checkpoints;

/// <summary>
/// Hugging Face model folders (config.json, model.safetensors, vocab.txt, tokenizer_config.json) for our models.
/// A folder we save loads in HF transformers; a bare encoder folder (e.g. an imported MiniLM) loads into a
/// classifier with a new head.
/// </summary>
public static class ModelFolder
{
    static readonly string[] TokenizerFiles = { "vocab.txt", "tokenizer_config.json", "special_tokens_map.json" };

    /// <param name="labels">Labels of the task: a head with other labels (or none) is replaced by a new one.</param>
    /// <param name="pooling">Overrides config.classifier_pooling when given.</param>
    public static (BertForSequenceClassification Model, LoadReport Report) LoadForClassification(string dir, IReadOnlyList<string>? labels = null, string? pooling = null)
    {
        dir = Recover(dir);
        var config = BertConfig.Load(Path.Combine(dir, "config.json"));
        bool sameHead = labels == null || (config.Id2Label != null && config.Labels.SequenceEqual(labels));
        if (!sameHead) config = config.WithLabels(labels!);
        if (pooling != null) config = config with { ClassifierPooling = pooling };
        var model = new BertForSequenceClassification(config);
        var report = StateDictLoader.LoadFile(model, WeightsPath(dir));
        // A new head is expected when training for labels; the pooler is unused with mean pooling. Anything else missing
        // means the folder is not this architecture.
        bool Allowed(string k) => (labels != null && k.StartsWith("classifier.")) || (config.ClassifierPooling == "mean" && k.StartsWith("bert.pooler."));
        var fatal = report.Missing.Where(k => !Allowed(k)).ToArray();
        if (fatal.Length > 0)
            throw DistilException.BadInput($"{WeightsPath(dir)}: the checkpoint lacks {fatal.Length} tensors the model needs ({string.Join(", ", fatal.Take(5))}{(fatal.Length > 5 ? ", ..." : "")}); is it a BERT checkpoint of this config?");
        return (model, report);
    }

    /// <summary>The encoder alone (distillation, probes).</summary>
    public static BertModel LoadEncoder(string dir)
    {
        dir = Recover(dir);
        var model = new BertModel(BertConfig.Load(Path.Combine(dir, "config.json")));
        var report = StateDictLoader.LoadFile(model, WeightsPath(dir));
        if (report.Missing.Any(k => !k.StartsWith("pooler.")))
            throw DistilException.BadInput($"{WeightsPath(dir)}: encoder tensors missing: {string.Join(", ", report.Missing.Take(5))}");
        return model;
    }

    /// <summary>The masked-LM model when the checkpoint has its head (cls.predictions.*), else null.</summary>
    public static BertForMaskedLM? TryLoadMaskedLm(string dir)
    {
        dir = Recover(dir);
        var keys = SafeTensors.ReadEntries(WeightsPath(dir), out _).Select(e => e.Key);
        if (!keys.Any(k => k.StartsWith("cls.predictions."))) return null;
        var model = new BertForMaskedLM(BertConfig.Load(Path.Combine(dir, "config.json")));
        StateDictLoader.LoadFile(model, WeightsPath(dir), strict: true);
        return model;
    }

    /// <summary>
    /// Writes the folder atomically: everything goes to a sibling temp folder, then the old folder is renamed to
    /// dir.old, the new one into place, and dir.old deleted. A kill between the two renames leaves dir.old, which
    /// <see cref="Recover"/> puts back, so a reader always finds a complete folder.
    /// </summary>
    public static void Save(string dir, BertForSequenceClassification model, string tokenizerDir)
    {
        dir = Path.GetFullPath(dir.TrimEnd('/', '\\'));
        string tmp = $"{dir}.tmp-{Environment.ProcessId}";
        string old = $"{dir}.old";
        if (Directory.Exists(tmp)) Directory.Delete(tmp, recursive: true);
        Directory.CreateDirectory(tmp);
        var config = model.Config with { Architectures = new[] { nameof(BertForSequenceClassification) } };
        File.WriteAllText(Path.Combine(tmp, "config.json"), config.ToJson());
        StateDictLoader.SaveStateDict(model, Path.Combine(tmp, "model.safetensors"));
        foreach (string f in TokenizerFiles)
            if (File.Exists(Path.Combine(tokenizerDir, f))) File.Copy(Path.Combine(tokenizerDir, f), Path.Combine(tmp, f));
        if (!File.Exists(Path.Combine(tmp, "vocab.txt")))
            throw DistilException.NotFound($"{tokenizerDir}: no vocab.txt to save with the model");

        if (Directory.Exists(old)) Directory.Delete(old, recursive: true);
        if (Directory.Exists(dir)) Directory.Move(dir, old);
        Directory.Move(tmp, dir);
        if (Directory.Exists(old)) Directory.Delete(old, recursive: true);
    }

    /// <summary>Completes an interrupted <see cref="Save"/>: dir missing but dir.old present means the swap was cut short.</summary>
    static string Recover(string dir)
    {
        string full = Path.GetFullPath(dir.TrimEnd('/', '\\'));
        if (!Directory.Exists(full) && Directory.Exists(full + ".old")) Directory.Move(full + ".old", full);
        if (!Directory.Exists(full)) throw DistilException.NotFound($"{dir}: model folder not found");
        return full;
    }

    static string WeightsPath(string dir)
    {
        string path = Path.Combine(dir, "model.safetensors");
        if (File.Exists(path)) return path;
        string hint = File.Exists(Path.Combine(dir, "pytorch_model.bin"))
            ? " (pytorch_model.bin is not supported yet: save the model with safe_serialization=True in transformers)" : "";
        throw DistilException.NotFound($"{path}: model weights not found{hint}");
    }
}
