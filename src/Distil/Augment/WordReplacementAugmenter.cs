using System.Text;
using Distil.Text;

namespace Distil.Augment;

/// <summary>The replacement candidates of one word of a text, and where they came from ("mlm" or "embedding").</summary>
public sealed record WordCandidates(int Word, string Original, IReadOnlyList<string> Candidates, string Source);

/// <summary>
/// TinyBERT's data augmentation (data_augmentation.py): for every replaceable word (has a letter, not a stop word,
/// known to the vocabulary) build M candidates: single-piece words from the masked-LM head when there is one, words of
/// several pieces (and every word without an MLM) from embedding neighbours. Each copy then walks the words in order,
/// draws one candidate and keeps it with probability p. Deterministic: example <c>row</c> draws from
/// Random(mix(seed, row)), so the same seed gives the same file whatever the order or batching.
/// </summary>
public sealed class WordReplacementAugmenter
{
    readonly BertTextTokenizer tokenizer;
    readonly EmbeddingNeighbours neighbours;
    readonly MaskedLmRefill? mlm;
    readonly AugmentOptions options;

    public WordReplacementAugmenter(BertTextTokenizer tokenizer, EmbeddingNeighbours neighbours, MaskedLmRefill? mlm, AugmentOptions options)
    {
        options.Validate();
        this.tokenizer = tokenizer;
        this.neighbours = neighbours;
        this.mlm = mlm;
        this.options = options;
    }

    public bool UsesMlm => mlm != null;

    /// <summary>Candidates of every replaceable word of <paramref name="text"/>, in word order.</summary>
    public IReadOnlyList<WordCandidates> Candidates(string text, IReadOnlyList<WordSpan>? spans = null)
    {
        spans ??= WordSpans.Split(text);
        var vocab = neighbours.Vocabulary;
        // WordPieces of each word, and where each word starts in the sentence's piece sequence (for the MLM input).
        var pieces = new List<int>();
        var words = new List<(int Word, string Text, List<int> Pieces, int At)>();
        for (int w = 0; w < spans.Count; w++)
        {
            string word = spans[w].Of(text);
            var ids = tokenizer.Tokenize(word);
            if (IsReplaceable(word, ids)) words.Add((w, word, ids, pieces.Count));
            pieces.AddRange(ids);
        }
        var single = mlm == null ? new List<int>() : words.Select((x, i) => (x, i)).Where(p => p.x.Pieces.Count == 1).Select(p => p.i).ToList();
        var fromMlm = mlm?.Candidates(pieces, single.Select(i => words[i].At).ToArray(), options.Candidates);
        var result = new List<WordCandidates>(words.Count);
        for (int i = 0; i < words.Count; i++)
        {
            var (w, word, ids, _) = words[i];
            int s = single.IndexOf(i);
            IReadOnlyList<int>? chosen = s >= 0 ? fromMlm![s] : null;
            string source = "mlm";
            if (chosen == null)
            {
                chosen = neighbours.Nearest(ids, options.Candidates).Select(n => n.Id).ToArray();
                source = "embedding";
            }
            var texts = chosen.Select(id => MatchCase(word, vocab.Tokens[id])).ToList();
            if (texts.Count == 0) texts.Add(word); // TinyBERT: no candidate -> the word itself
            result.Add(new WordCandidates(w, word, texts, source));
        }
        return result;
    }

    /// <summary>
    /// The augmented copies of the text of example <paramref name="row"/>: N draws; with <see cref="AugmentOptions.Distinct"/>
    /// only those that differ from the original and from each other (so fewer than N can come back).
    /// </summary>
    public IReadOnlyList<string> Augment(string text, int row)
    {
        if (options.Copies == 0) return Array.Empty<string>();
        var spans = WordSpans.Split(text);
        var candidates = options.P > 0 ? Candidates(text, spans) : Array.Empty<WordCandidates>();
        var rng = new Random(Mix(options.Seed, row));
        var copies = new List<string>(options.Copies);
        var seen = new HashSet<string>(StringComparer.Ordinal) { text };
        for (int n = 0; n < options.Copies; n++)
        {
            var replace = new Dictionary<int, string>();
            foreach (var c in candidates)
            {
                string pick = c.Candidates[rng.Next(c.Candidates.Count)];
                if (rng.NextDouble() < options.P) replace[c.Word] = pick;
            }
            string copy = WordSpans.Replace(text, spans, replace);
            if (!options.Distinct || seen.Add(copy)) copies.Add(copy);
        }
        return copies;
    }

    bool IsReplaceable(string word, List<int> ids) =>
        ids.Count > 0 && !ids.Contains(tokenizer.Unk) && word.Any(char.IsLetter) && !StopWords.English.Contains(word);

    /// <summary>An uncased vocabulary gives lower-case candidates: "Great" -> "Superb", "GREAT" -> "SUPERB".</summary>
    public static string MatchCase(string original, string candidate)
    {
        if (original.Length > 1 && original.All(c => !char.IsLetter(c) || char.IsUpper(c))) return candidate.ToUpperInvariant();
        if (char.IsUpper(original[0]) && candidate.Length > 0 && char.IsLower(candidate[0]))
            return new StringBuilder(candidate) { [0] = char.ToUpperInvariant(candidate[0]) }.ToString();
        return candidate;
    }

    /// <summary>A per-row seed: splitmix-style mixing so neighbouring rows get unrelated streams.</summary>
    public static int Mix(int seed, int row)
    {
        unchecked
        {
            ulong z = ((ulong)(uint)seed << 32 | (uint)row) + 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return (int)(z ^ (z >> 31));
        }
    }
}
