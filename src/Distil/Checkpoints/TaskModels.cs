using System.Text.Json;
using Distil.Models;

namespace Distil.Checkpoints;

/// <summary>
/// Loads a model folder for a <see cref="TaskKind"/> (docs/tasks.md): a token head (HF's BertForTokenClassification,
/// read from its architectures) or a sequence head whose config.json problem_type says single-label, regression or
/// multi-label. Asked for another kind than the folder's, the head is new (an encoder, or a classifier of another task,
/// becomes the start of this task's model).
/// </summary>
public static class TaskModels
{
    /// <summary>What the folder's config.json says its head does: ...ForTokenClassification in architectures, else problem_type.</summary>
    public static TaskKind KindOf(string dir)
    {
        string path = Path.Combine(AtomicFolder.ResolveForReading(dir), ModelFolder.ConfigFile);
        if (!File.Exists(path)) throw DistilException.NotFound($"{path}: not found; a model folder needs config.json, model.safetensors and vocab.txt");
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(path));
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw DistilException.BadInput($"{path}: not a JSON object");
            var architectures = root.TryGetProperty("architectures", out var a) && a.ValueKind == JsonValueKind.Array
                ? a.EnumerateArray().Where(x => x.ValueKind == JsonValueKind.String).Select(x => x.GetString()!).ToArray() : null;
            if (TaskKinds.IsTokenHead(architectures)) return TaskKind.Token;
            string? problem = root.TryGetProperty("problem_type", out var p) && p.ValueKind == JsonValueKind.String ? p.GetString() : null;
            return TaskKinds.FromProblemType(problem, path);
        }
        catch (JsonException e) { throw DistilException.BadInput($"{path}: not valid JSON ({e.Message})"); }
    }

    /// <summary>
    /// The model of <paramref name="dir"/> for <paramref name="task"/> (null: the folder's own kind); labels and pooling as
    /// <see cref="EncoderFamilies.LoadForClassification"/>. Token heads exist for BERT; regression and multi-label
    /// heads for the families whose config keeps problem_type (BERT, RoBERTa/XLM-R/CamemBERT, ELECTRA).
    /// </summary>
    public static (EncoderClassifier Model, LoadReport Report) Load(string dir, TaskKind? task = null, IReadOnlyList<string>? labels = null, string? pooling = null)
    {
        var fileKind = KindOf(dir);
        var want = task ?? fileKind;
        string type = ClassifierFolder.ModelType(dir);
        if (want == TaskKind.Token)
        {
            if (type != "bert") throw DistilException.Usage($"{dir}: a token-classification head is built for BERT models; this one is '{type}'");
            if (pooling is not null and not "pooler") throw DistilException.Usage("--pooling is for sequence classifiers; a token head reads every token");
            return LoadTokenClassifier(dir, labels, keepHead: fileKind == TaskKind.Token);
        }
        if (fileKind == TaskKind.Token) throw DistilException.Usage($"{dir} is a token classifier; pass --task token (or start from its encoder with another task)");
        if (want is TaskKind.Regression or TaskKind.MultiLabel && type is not ("bert" or "roberta" or "xlm-roberta" or "camembert" or "electra"))
            throw DistilException.Usage($"{dir}: a {want.Name()} head is built for BERT, RoBERTa/XLM-R/CamemBERT and ELECTRA models; this one is '{type}'");
        var (model, report) = EncoderFamilies.LoadForClassification(dir, labels, pooling);
        model.Task = want;
        return (model, report);
    }

    /// <summary>HF's BertForTokenClassification from any BERT folder; the pooler may be absent (HF's token models have none).</summary>
    static (EncoderClassifier, LoadReport) LoadTokenClassifier(string dir, IReadOnlyList<string>? labels, bool keepHead)
    {
        var (folder, config) = ModelFolder.ReadConfig(dir);
        var (tensors, weights) = WeightFiles.Read(folder);
        try
        {
            var head = ClassifierHead.Decide(tensors, keepHead && config.Id2Label != null ? config.Labels : null, labels ?? (keepHead ? null : config.Labels), folder);
            if (head.Relabel) config = config.WithLabels(labels ?? config.Labels);
            config = config with { ProblemType = null };
            var model = new BertForTokenClassification(config);
            try
            {
                var report = ModelFolder.LoadChecked(model, head.Used(tensors), weights,
                    k => ClassifierHead.IsHeadKey(k) || k.StartsWith("bert.pooler.", StringComparison.Ordinal));
                var unexpected = report.Unexpected.Concat(head.Discarded(tensors)).Order(StringComparer.Ordinal).ToList();
                return (model, report with { Unexpected = unexpected });
            }
            catch { model.Dispose(); throw; }
        }
        finally { foreach (var t in tensors.Values) t.Dispose(); }
    }
}
