using static TorchSharp.torch;

namespace Distil.Checkpoints;

/// <summary>
/// Whether a classifier folder's <c>classifier.*</c> head is kept or replaced by a fresh one (the BERT and ALBERT
/// loaders share it): new when the file has no head, or when the requested labels differ from the folder's id2label.
/// </summary>
public sealed record ClassifierHead(bool IsNew, bool Relabel)
{
    public const string Prefix = "classifier.";

    public static bool IsHeadKey(string key) => key.StartsWith(Prefix, StringComparison.Ordinal);

    /// <param name="fileLabels">The folder's labels (null when its config has no id2label).</param>
    /// <param name="labels">The labels asked for (null: whatever the folder has).</param>
    public static ClassifierHead Decide(IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyList<string>? fileLabels, IReadOnlyList<string>? labels, string folder)
    {
        bool sameLabels = labels == null || (fileLabels != null && fileLabels.SequenceEqual(labels));
        if (!sameLabels && labels!.Count == 0) throw DistilException.Usage($"{folder}: a classifier needs at least one label");
        return new ClassifierHead(!tensors.Keys.Any(IsHeadKey) || !sameLabels, !sameLabels);
    }

    /// <summary>The tensors to load: a replaced head may have another label count, so it is left out (its shape would be an error).</summary>
    public IReadOnlyDictionary<string, Tensor> Used(IReadOnlyDictionary<string, Tensor> tensors) =>
        IsNew ? tensors.Where(p => !IsHeadKey(p.Key)).ToDictionary() : tensors;

    /// <summary>A file's head that was not loaded, reported as unexpected.</summary>
    public IEnumerable<string> Discarded(IReadOnlyDictionary<string, Tensor> tensors) => IsNew ? tensors.Keys.Where(IsHeadKey) : [];
}
