using System.Text.RegularExpressions;
using Distil.Data;
using Distil.Training.Metrics;

namespace Distil.Training;

/// <summary>One entity found in a text: its type, the text it covers, its character span [Start, End) and its score
/// (the mean probability of the predicted tags of its words, as transformers' token-classification pipeline's "simple" aggregation).</summary>
public sealed record Entity(string Type, string Text, int Start, int End, double Score);

/// <summary>A word of a raw text and its character span [Start, End).</summary>
public readonly record struct TextWord(string Word, int Start, int End);

/// <summary>
/// Token-task predictions as entities (docs/tasks.md §Tokens): raw text → words with character spans → the word's
/// predicted tag (argmax at its first sub-token) → chunks as seqeval reads them → entities. No TorchSharp here:
/// the ONNX predictor (Deploy.DistilPredictor) uses it without loading libtorch.
/// </summary>
public static partial class TokenEntities
{
    /// <summary>Per word the predicted label id: the argmax at its first sub-token; a word cut off by truncation gets <paramref name="outside"/>.</summary>
    public static int[] WordPredictions(float[] probabilities, TokenTargets t, int numLabels, int outside) =>
        t.WordStarts.Select(p =>
        {
            if (p < 0) return outside;
            var row = probabilities.AsSpan(p * numLabels, numLabels);
            int best = 0;
            for (int c = 1; c < numLabels; c++) if (row[c] > row[best]) best = c;
            return best;
        }).ToArray();

    /// <summary>The id of "O" (what a cut-off word is predicted as), or 0 when the labels have none.</summary>
    public static int Outside(LabelSet labels) => labels.TryId("O", out var id) ? id : 0;


    /// <summary>Words as data/wordnet-supersense tokenises them: runs of word characters (with inner - or '), and each other non-space character.</summary>
    [GeneratedRegex(@"\w+(?:[-']\w+)*|[^\w\s]")]
    private static partial Regex WordPattern();

    public static TextWord[] Words(string text) => WordPattern().Matches(text).Select(m => new TextWord(m.Value, m.Index, m.Index + m.Length)).ToArray();

    /// <summary>
    /// Entities of <paramref name="text"/> from per-position probabilities <paramref name="probabilities"/> (positions ×
    /// labels, flattened) of the row <paramref name="row"/> encoded from <paramref name="words"/>.
    /// </summary>
    public static IReadOnlyList<Entity> Decode(string text, IReadOnlyList<TextWord> words, EncodedExample row, float[] probabilities, LabelSet labels)
    {
        var t = row.Tokens ?? throw new ArgumentException("not a token-task row", nameof(row));
        int c = labels.Count;
        var ids = WordPredictions(probabilities, t, c, Outside(labels));
        var tags = ids.Select(i => labels.Names[i]).ToArray();
        var entities = new List<Entity>();
        foreach (var chunk in EntityChunks.Extract(tags))
        {
            double score = Enumerable.Range(chunk.Start, chunk.End - chunk.Start + 1)
                .Average(w => t.WordStarts[w] < 0 ? 0.0 : probabilities[t.WordStarts[w] * c + ids[w]]);
            int start = words[chunk.Start].Start, end = words[chunk.End].End;
            entities.Add(new Entity(chunk.Type, text[start..end], start, end, Math.Round(score, 6)));
        }
        return entities;
    }
}
