using TorchSharp;
using static TorchSharp.torch;

namespace Distil.Augment;

/// <summary>
/// Nearest neighbours of a word in a model's input word-embedding table by cosine similarity (TinyBERT uses GloVe
/// neighbours; a BERT teacher's own table needs no extra download). A word of several WordPieces has no row of its
/// own: its query is the mean of its pieces' unit rows (each piece counts the same, whatever its norm). Candidates are whole-word entries (<see cref="VocabularyInfo"/>),
/// never the word itself. Results are cached per word, since words repeat across a data set.
/// </summary>
public sealed class EmbeddingNeighbours : IDisposable
{
    readonly Tensor normalized; // (V, H), unit rows
    readonly bool[] excluded;   // (V,) entries that may not be candidates
    readonly VocabularyInfo vocab;
    readonly Dictionary<string, IReadOnlyList<(int Id, float Cosine)>> memo = new(StringComparer.Ordinal);

    /// <param name="wordEmbeddings">(V, H) word-embedding weights; copied, so the model may be disposed afterwards.</param>
    public EmbeddingNeighbours(Tensor wordEmbeddings, VocabularyInfo vocab)
    {
        if (wordEmbeddings.dim() != 2 || wordEmbeddings.shape[0] != vocab.Count)
            throw DistilException.BadInput($"the word-embedding table has shape [{string.Join(", ", wordEmbeddings.shape)}] but the vocabulary has {vocab.Count} entries; the model and its vocab.txt do not belong together");
        using var _ = no_grad();
        normalized = nn.functional.normalize(wordEmbeddings.detach().to(float32).cpu(), p: 2, dim: 1).contiguous();
        excluded = Enumerable.Range(0, vocab.Count).Select(i => !vocab.IsReplacement(i)).ToArray();
        this.vocab = vocab;
    }

    public VocabularyInfo Vocabulary => vocab;

    /// <summary>
    /// The <paramref name="count"/> replacement entries closest to the word made of <paramref name="pieceIds"/>, most
    /// similar first (ties: lower id first), with their cosine similarity.
    /// </summary>
    public IReadOnlyList<(int Id, float Cosine)> Nearest(IReadOnlyList<int> pieceIds, int count)
    {
        if (pieceIds.Count == 0 || count < 1) return Array.Empty<(int, float)>();
        string key = $"{count}:{string.Join(',', pieceIds)}";
        if (memo.TryGetValue(key, out var hit)) return hit;
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var ids = tensor(pieceIds.Select(i => (long)i).ToArray());
        var query = nn.functional.normalize(normalized.index_select(0, ids).mean(new long[] { 0 }), p: 2, dim: 0); // (H,)
        var cos = normalized.matmul(query); // (V,)
        // Exclusions are applied here, not with masked_fill_(…, -inf): TorchSharp passes a temporary Scalar's handle
        // without keeping the Scalar alive, so its finalizer can free it mid-call (seen as a libtorch "toFloat" abort
        // under GC pressure after thousands of calls).
        var values = cos.data<float>().ToArray();
        int self = pieceIds.Count == 1 ? pieceIds[0] : -1; // never the word itself
        int k = (int)Math.Min(count, vocab.Count);
        // Stable ranking: by similarity, then by id, so equal cosines give the same order on every machine.
        var ranked = Enumerable.Range(0, values.Length).Where(i => !excluded[i] && i != self && !float.IsNaN(values[i]))
            .OrderByDescending(i => values[i]).ThenBy(i => i).Take(k).Select(i => (i, values[i])).ToArray();
        memo[key] = ranked;
        return ranked;
    }

    public void Dispose()
    {
        normalized.Dispose();
    }
}
