using Distil.Text;

namespace Distil.Data;

/// <summary>
/// One tagged sentence as model input: [CLS] sub-tokens [SEP], and per position the label id of the word whose
/// FIRST sub-token it is, <see cref="Ignore"/> elsewhere (later sub-tokens, special tokens), as HF's token
/// classification examples align labels. <see cref="WordStarts"/>[w] is the position of word w's first sub-token,
/// -1 for a word cut off by truncation (or one that tokenizes to nothing): its prediction is then "O".
/// </summary>
public sealed record AlignedSentence(long[] InputIds, long[] Labels, int[] WordStarts);

public static class TokenLabelAlignment
{
    /// <summary>PyTorch's cross_entropy ignore_index default, as HF uses it.</summary>
    public const long Ignore = -100;

    /// <param name="labelIds">Per word its label id; null (inference) gives <see cref="Ignore"/> at every position.</param>
    public static AlignedSentence Align(TextTokenizer tokenizer, IReadOnlyList<string> words, IReadOnlyList<int>? labelIds, int maxSeqLen)
    {
        if (maxSeqLen < 3) throw DistilException.Usage($"max_seq_len {maxSeqLen} is too small for token classification: [CLS], [SEP] and one token need 3");
        if (labelIds != null && labelIds.Count != words.Count) throw DistilException.BadInput($"{words.Count} words but {labelIds.Count} labels");
        var ids = new List<long> { tokenizer.Cls };
        var labels = new List<long> { Ignore };
        var starts = new int[words.Count];
        int room = maxSeqLen - 2;
        for (int w = 0; w < words.Count; w++)
        {
            var pieces = tokenizer.Tokenize(words[w]);
            // Truncation drops whole words at the end only: a word whose pieces do not all fit is cut entirely, so no
            // labelled first piece stands for a word the model never saw the rest of.
            if (pieces.Count == 0 || ids.Count - 1 + pieces.Count > room) { starts[w] = -1; room = pieces.Count == 0 ? room : 0; continue; }
            starts[w] = ids.Count;
            for (int p = 0; p < pieces.Count; p++)
            {
                ids.Add(pieces[p]);
                labels.Add(p == 0 && labelIds != null ? labelIds[w] : Ignore);
            }
        }
        ids.Add(tokenizer.Sep);
        labels.Add(Ignore);
        return new AlignedSentence(ids.ToArray(), labels.ToArray(), starts);
    }

    /// <summary>Per word the predicted label id: the argmax at its first sub-token, <paramref name="fallback"/> for a word cut off.</summary>
    public static int[] WordPredictions(AlignedSentence s, Func<int, int> argmaxAt, int fallback) =>
        s.WordStarts.Select(p => p < 0 ? fallback : argmaxAt(p)).ToArray();
}
