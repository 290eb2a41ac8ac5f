namespace Distil.Models;

/// <summary>
/// What a classifier's head predicts, with Hugging Face's semantics (docs/tasks.md): one label per sequence
/// (softmax + cross-entropy), one label per token (<c>...ForTokenClassification</c>), one score per sequence
/// (<c>num_labels: 1</c>, <c>problem_type: regression</c>, MSE) or any subset of the labels per sequence
/// (<c>problem_type: multi_label_classification</c>, sigmoid + BCE).
/// </summary>
public enum TaskKind { Sequence, Token, Regression, MultiLabel }

public static class TaskKinds
{
    /// <summary>The values of --task / the config key data.task.</summary>
    public const string Names = "sequence, token, regression or multi-label";

    /// <summary>--task's value; null means a sequence classifier (or whatever the model's config.json says, where a model is read).</summary>
    public static TaskKind? Parse(string? name) => name switch
    {
        null => null,
        "sequence" => TaskKind.Sequence,
        "token" => TaskKind.Token,
        "regression" => TaskKind.Regression,
        "multi-label" => TaskKind.MultiLabel,
        _ => throw DistilException.Usage($"task '{name}' is not one of: {Names}"),
    };

    public static string Name(this TaskKind t) => t switch
    {
        TaskKind.Token => "token",
        TaskKind.Regression => "regression",
        TaskKind.MultiLabel => "multi-label",
        _ => "sequence",
    };

    /// <summary>config.json's problem_type for a sequence head (HF's values); null for single-label classification and token heads.</summary>
    public static string? ProblemType(this TaskKind t) => t switch
    {
        TaskKind.Regression => "regression",
        TaskKind.MultiLabel => "multi_label_classification",
        _ => null,
    };

    /// <summary>The kind of a sequence head from config.json's problem_type (HF: absent or single_label_classification = one label).</summary>
    public static TaskKind FromProblemType(string? problemType, string source = "config.json") => problemType switch
    {
        null or "single_label_classification" => TaskKind.Sequence,
        "regression" => TaskKind.Regression,
        "multi_label_classification" => TaskKind.MultiLabel,
        _ => throw DistilException.BadInput($"{source}: problem_type '{problemType}' is not one of single_label_classification, regression, multi_label_classification"),
    };

    /// <summary>True when a config.json's architectures name a token classifier (HF's ...ForTokenClassification).</summary>
    public static bool IsTokenHead(IReadOnlyList<string>? architectures) =>
        architectures?.Any(a => a.EndsWith("ForTokenClassification", StringComparison.Ordinal)) == true;
}
