using Distil.Models;

namespace Distil.Data;

/// <summary>The classes of a task in id order. Built from the training set or taken from a model's id2label.</summary>
public sealed class LabelSet : NameSet
{
    LabelSet(IEnumerable<string> names) : base(names, "label") { }

    /// <summary>All labels of the training rows, sorted (numerically when all are numbers).</summary>
    public static LabelSet FromExamples(IEnumerable<Example> train)
    {
        var list = train.ToList();
        var unlabelled = list.FirstOrDefault(e => e.Label == null);
        if (unlabelled != null) throw DistilException.BadInput($"{unlabelled.Source}: the row has no label; training data needs a label column (pass --label-column)");
        if (list.Count == 0) throw DistilException.BadInput("no training rows to take the labels from");
        return new LabelSet(Sorted(list.Select(e => e.Label!)));
    }

    /// <summary>Labels in the given order (id = position), e.g. a fine-tuned model's id2label.</summary>
    public static LabelSet FromNames(IEnumerable<string> names)
    {
        var set = new LabelSet(names);
        return set.Count > 0 ? set : throw DistilException.BadInput("an empty label list; give at least one label");
    }

    public static LabelSet FromConfig(BertConfig config) => FromNames(config.Labels);

    /// <summary>The id of a row's label; a label the set does not know (e.g. only in dev) is an error naming the row.</summary>
    public int IdOf(string? label, string source)
    {
        if (label == null) throw DistilException.BadInput($"{source}: the row has no label; labelled data needs a label column");
        if (TryId(label, out var id)) return id;
        throw DistilException.BadInput($"{source}: unknown label '{label}'; the known labels (from the training data or the model) are {Known}; fix the row or use data with the same label set");
    }
}
