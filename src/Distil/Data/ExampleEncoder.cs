using Distil.Text;

namespace Distil.Data;

/// <summary>Turns rows into <see cref="EncodedExample"/>s: tokenized and truncated, labels and domains mapped to ids.</summary>
public static class ExampleEncoder
{
    /// <param name="labels">null for unlabelled data (label id -1); otherwise every row's label must be in the set.</param>
    /// <param name="domains">null or empty: domain id -1.</param>
    public static EncodedExample[] Encode(IReadOnlyList<Example> examples, TextTokenizer tokenizer, LabelSet? labels, DomainSet? domains, int maxSeqLen)
    {
        var result = new EncodedExample[examples.Count];
        for (int i = 0; i < examples.Count; i++)
        {
            var e = examples[i];
            // Labels first: an unknown label is a cheaper and clearer error than anything the tokenizer could say.
            long label = labels == null ? -1 : labels.IdOf(e.Label, e.Source);
            int domain = domains == null ? DomainSet.None : domains.IdOf(e.Domain, e.Source);
            var t = tokenizer.Encode(e.Text, e.TextPair, maxSeqLen);
            result[i] = new EncodedExample(t.InputIds, t.TokenTypeIds, label, domain);
        }
        return result;
    }
}
