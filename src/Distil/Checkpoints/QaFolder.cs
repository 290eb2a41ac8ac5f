using System.Text;
using Distil.Models;
using static TorchSharp.torch;

namespace Distil.Checkpoints;

/// <summary>
/// Extractive-QA model folders as transformers' save_pretrained writes them: config.json naming the family's
/// ...ForQuestionAnswering, model.safetensors with HF keys (<c>bert.*</c>, <c>qa_outputs.*</c>), the tokenizer files.
/// Loading reads any encoder folder of a supported model_type (a pre-trained checkpoint, a sequence classifier, a QA
/// model): every encoder tensor is required, a missing qa_outputs is newly initialised and reported, other heads'
/// tensors are reported as unused. docs/tasks.md §Extractive QA.
/// </summary>
public static class QaFolder
{
    public static (EncoderQuestionAnswering Model, LoadReport Report) Load(string dir)
    {
        string folder = AtomicFolder.ResolveForReading(dir);
        if (!Directory.Exists(folder)) throw DistilException.NotFound($"{dir}: model folder not found; expected a folder with {ModelFolder.ConfigFile} and {ModelFolder.WeightsFile}");
        string configPath = Path.Combine(folder, ModelFolder.ConfigFile);
        string type = ClassifierFolder.ModelType(folder);
        EncoderQuestionAnswering model = type switch
        {
            "bert" => new BertForQuestionAnswering(BertConfig.Load(configPath, ["bert"])),
            _ when RobertaFamily.Architectures.ContainsKey(type) => new RobertaForQuestionAnswering(BertConfig.Load(configPath, [type])),
            ElectraFamily.Type => new ElectraForQuestionAnswering(BertConfig.Load(configPath, [type])),
            DistilBertConfig.Type => new DistilBertForQuestionAnswering(DistilBertConfig.Load(configPath)),
            DebertaV2Config.Type => new DebertaV2ForQuestionAnswering(DebertaV2Config.Load(configPath)),
            _ => throw DistilException.BadInput($"{configPath}: model_type '{type}' has no question-answering head here; supported: bert, roberta, xlm-roberta, camembert, distilbert, electra, deberta-v2"),
        };
        var (tensors, weights) = WeightFiles.Read(folder);
        try
        {
            var report = StateDictLoader.Load(model, tensors, weights, basePrefix: model.BasePrefix);
            // HF's QA models have no pooler: a folder saved by transformers lacks it, and nothing here reads it.
            static bool MayBeNew(string k) => k.StartsWith("qa_outputs.", StringComparison.Ordinal) || k.Contains(".pooler.", StringComparison.Ordinal);
            var missing = report.Missing.Where(k => !MayBeNew(k)).ToList();
            if (missing.Count > 0)
                throw DistilException.BadInput(
                    $"{weights}: {missing.Count} encoder tensors are missing: {string.Join(", ", missing.Take(8))}{(missing.Count > 8 ? $", ... ({missing.Count - 8} more)" : "")}; " +
                    $"the weights do not belong to this {ModelFolder.ConfigFile} (or the file is not a {model.BasePrefix} checkpoint)");
            return (model, report with { NewlyInitialised = report.Missing });
        }
        catch { model.Dispose(); throw; }
        finally { foreach (var t in tensors.Values) t.Dispose(); }
    }

    /// <summary>True when config.json names a ...ForQuestionAnswering architecture.</summary>
    public static bool IsQa(string dir)
    {
        string path = Path.Combine(AtomicFolder.ResolveForReading(dir), ModelFolder.ConfigFile);
        if (!File.Exists(path)) return false;
        try
        {
            using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(path));
            return doc.RootElement.TryGetProperty("architectures", out var a) && a.ValueKind == System.Text.Json.JsonValueKind.Array
                && a.EnumerateArray().Any(x => x.ValueKind == System.Text.Json.JsonValueKind.String && x.GetString()!.EndsWith("ForQuestionAnswering", StringComparison.Ordinal));
        }
        catch (System.Text.Json.JsonException) { return false; }
    }

    /// <summary>config.json as save_pretrained writes it for the family's QA model (architectures, model_type).</summary>
    public static string ConfigJson(EncoderQuestionAnswering model) => model switch
    {
        BertForQuestionAnswering b => (b.Config with { Architectures = [model.Architecture], Id2Label = null }).ToJson(),
        RobertaForQuestionAnswering r => (r.Config with { Architectures = [r.Config.ModelType == "roberta" ? model.Architecture : RobertaFamily.Architectures[r.Config.ModelType].Replace("SequenceClassification", "QuestionAnswering", StringComparison.Ordinal)] }).ToJson(),
        ElectraForQuestionAnswering e => (e.Config with { Architectures = [model.Architecture] }).ToJson(),
        DistilBertForQuestionAnswering d => (d.Config with { Architectures = [model.Architecture] }).ToJson(),
        DebertaV2ForQuestionAnswering d => (d.Config with { Architectures = [model.Architecture] }).ToJson(),
        _ => throw new ArgumentException($"no folder format for {model.GetType().Name}", nameof(model)),
    };

    /// <summary>Writes the folder atomically (an existing one is replaced whole); the tokenizer files come from <paramref name="tokenizerDir"/>.</summary>
    public static void Save(string dir, EncoderQuestionAnswering model, string tokenizerDir)
    {
        string configJson = ConfigJson(model);
        var tokenizer = TokenizerFiles.From(tokenizerDir);
        AtomicFolder.Replace(dir, tmp =>
        {
            File.WriteAllBytes(Path.Combine(tmp, ModelFolder.ConfigFile), Encoding.UTF8.GetBytes(configJson));
            SafeTensors.Write(Path.Combine(tmp, ModelFolder.WeightsFile), model.state_dict());
            tokenizer.WriteInto(tmp, (path, bytes) => File.WriteAllBytes(path, bytes));
        });
    }
}
