using Distil.Models;
using Distil.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace Distil.Augment;

/// <summary>
/// Candidates for masked word positions from a masked-LM head (TinyBERT's <c>_masked_language_model</c>): the
/// sentence with one WordPiece replaced by [MASK], followed (as TinyBERT does) by the unmasked sentence as a second
/// segment, so the predictions stay close to the original meaning; the top-M vocabulary entries by logit at the mask,
/// with "##" continuations and special entries dropped (TinyBERT filters "##" the same way after taking the top M).
/// All masked positions of one sentence go through the model as one batch.
/// </summary>
public sealed class MaskedLmRefill
{
    readonly BertForMaskedLM model;
    readonly BertTextTokenizer tokenizer;
    readonly VocabularyInfo vocab;
    readonly int maxSeqLen;
    readonly Device device;

    public MaskedLmRefill(BertForMaskedLM model, BertTextTokenizer tokenizer, VocabularyInfo vocab, int maxSeqLen = 128, Device? device = null)
    {
        if (tokenizer.Mask < 0) throw DistilException.BadInput($"{tokenizer.VocabPath}: the vocabulary has no [MASK] token, which the masked-LM refill needs");
        if (maxSeqLen < 4) throw DistilException.Usage($"max_seq_len {maxSeqLen} is too small for a masked-LM input (use e.g. 128)");
        this.model = model;
        this.tokenizer = tokenizer;
        this.vocab = vocab;
        this.maxSeqLen = Math.Min(maxSeqLen, model.Config.MaxPositionEmbeddings);
        this.device = device ?? CPU;
        model.eval();
    }

    /// <summary>
    /// The model input for one masked position: [CLS] pieces-with-[MASK] [SEP] pieces [SEP], token types 0 then 1.
    /// When that is longer than max_seq_len the second segment is left out, and then the first is cut at the end.
    /// Returns null when the position falls outside the cut sentence.
    /// </summary>
    public (long[] Ids, long[] Types, int MaskAt)? Input(IReadOnlyList<int> pieces, int position)
    {
        int n = pieces.Count;
        bool pair = 2 * n + 3 <= maxSeqLen;
        int kept = pair ? n : Math.Min(n, maxSeqLen - 2);
        if (position < 0 || position >= kept) return null;
        int total = kept + 2 + (pair ? n + 1 : 0);
        var ids = new long[total];
        var types = new long[total];
        int k = 0;
        ids[k++] = tokenizer.Cls;
        for (int i = 0; i < kept; i++) ids[k++] = i == position ? tokenizer.Mask : pieces[i];
        ids[k++] = tokenizer.Sep;
        if (pair)
        {
            for (int i = 0; i < n; i++) { types[k] = 1; ids[k++] = pieces[i]; }
            types[k] = 1; ids[k++] = tokenizer.Sep;
        }
        return (ids, types, position + 1);
    }

    /// <summary>
    /// For each of <paramref name="positions"/> (indices into <paramref name="pieces"/>): the vocabulary ids among the
    /// top <paramref name="count"/> MLM logits at that position, in logit order, keeping only whole-word entries;
    /// null for a position the input cannot hold (see <see cref="Input"/>).
    /// </summary>
    public IReadOnlyList<int>?[] Candidates(IReadOnlyList<int> pieces, IReadOnlyList<int> positions, int count)
    {
        var result = new IReadOnlyList<int>?[positions.Count];
        var inputs = positions.Select(p => Input(pieces, p)).ToArray();
        var rows = Enumerable.Range(0, positions.Count).Where(i => inputs[i] != null).ToArray();
        if (rows.Length == 0 || count < 1) return result;
        int len = inputs[rows[0]]!.Value.Ids.Length; // every row of one sentence has the same length
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var ids = tensor(rows.SelectMany(i => inputs[i]!.Value.Ids).ToArray()).view(rows.Length, len);     // (R, T)
        var types = tensor(rows.SelectMany(i => inputs[i]!.Value.Types).ToArray()).view(rows.Length, len); // (R, T)
        var mask = ones_like(ids);
        var logits = model.forward(new Models.BertInputs(ids.to(device), mask.to(device), types.to(device))); // (R, T, V)
        var at = tensor(rows.Select(i => (long)inputs[i]!.Value.MaskAt).ToArray()).to(device);
        var masked = logits[arange(rows.Length, device: device), at];                               // (R, V)
        int k = (int)Math.Min(count, masked.shape[1]);
        var top = masked.topk(k, dim: 1, largest: true, sorted: true).indexes.cpu();                 // (R, k)
        var flat = top.data<long>().ToArray();
        for (int r = 0; r < rows.Length; r++)
            result[rows[r]] = flat.AsSpan(r * k, k).ToArray().Select(v => (int)v).Where(vocab.IsReplacement).ToArray();
        return result;
    }
}
