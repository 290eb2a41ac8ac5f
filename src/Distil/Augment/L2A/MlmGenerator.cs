using Distil.Models;
using Distil.Text;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Distil.Augment.L2A;

/// <summary>A sentence as the learned generator sees it: its words, each word's WordPieces, where each word's first
/// piece sits in the (cut) input, and the replaceable single-piece words (the only ones the generator refills).</summary>
public sealed record GeneratorSentence(string Text, IReadOnlyList<WordSpan> Spans, IReadOnlyList<int[]> Pieces, int[] Offsets, int[] Slots)
{
    /// <summary>WordPieces of the whole sentence, in order (cut to the input by the caller).</summary>
    public IEnumerable<int> AllPieces => Pieces.SelectMany(p => p);
}

/// <summary>
/// The learned part of L2A's generators (docs/l2a.md §Learned generators): a light masked-LM head of Hugging Face's
/// BertLMPredictionHead shape (dense, GELU, LayerNorm, then the output layer TIED to the teacher's word embeddings, plus
/// a bias) over the FROZEN teacher encoder. Only the head's dense, LayerNorm and bias train (about H² + 3H + V
/// parameters); the teacher's weights have requires_grad off and never change. It proposes refills for masked words:
/// all chosen words of a sentence are masked at once, and each is drawn from the top-M whole-word vocabulary entries at
/// the mask by softmax(logit / temperature), with a seeded System.Random per sentence, so generation is deterministic.
/// </summary>
public sealed class MlmGenerator : IDisposable
{
    public BertLMPredictionHead Head { get; }
    readonly BertModel encoder;
    readonly BertTextTokenizer tokenizer;
    readonly VocabularyInfo vocab;
    readonly Tensor disallowed; // (V,) 0 for whole-word entries, -inf for "##" pieces, specials, non-words and stop words
    readonly Tensor unitEmbeddings; // (V, H) the teacher's word embeddings scaled to unit length (the neighbour prior)
    readonly Device device;
    public int Candidates { get; }
    public double Temperature { get; }
    public int MaxSeqLen { get; }
    /// <summary>The encoder layer whose output the head reads (1..L; L = the last hidden state). Only layers 1..Layer run.</summary>
    public int Layer { get; }
    /// <summary>λ of the neighbour prior: a refill's logit gets λ · cos(its word embedding, the original word's).</summary>
    public double NeighbourWeight { get; }

    /// <param name="layer">Encoder layer the head reads (0 or >= L: the last); a fine-tuned teacher's top layers serve its task, lower ones keep more of the words.</param>
    public MlmGenerator(BertModel encoder, BertTextTokenizer tokenizer, int candidates, double temperature, int maxSeqLen, int seed, Device device, int layer = 0,
        double neighbourWeight = 0)
    {
        if (tokenizer.Mask < 0) throw DistilException.BadInput($"{tokenizer.VocabPath}: the vocabulary has no [MASK] token, which the learned generator needs; use --generator fixed");
        if (candidates < 1) throw DistilException.Usage($"augment_candidates {candidates} must be >= 1");
        if (!(temperature > 0)) throw DistilException.Usage($"generator_temperature {temperature} must be positive");
        if (maxSeqLen < 3) throw DistilException.Usage($"max_seq_len {maxSeqLen} is too small for the generator (use e.g. 64)");
        this.encoder = encoder;
        this.tokenizer = tokenizer;
        this.device = device;
        vocab = VocabularyInfo.From(tokenizer);
        Candidates = candidates;
        int layers = encoder.Config.NumHiddenLayers;
        if (layer < 0) throw DistilException.Usage($"generator_layer {layer} must be >= 0 (0 = the last of {layers})");
        Layer = layer == 0 || layer > layers ? layers : layer;
        Temperature = temperature;
        if (!(neighbourWeight >= 0)) throw DistilException.Usage($"generator_neighbour_weight {neighbourWeight} must be >= 0");
        NeighbourWeight = neighbourWeight;
        MaxSeqLen = Math.Min(maxSeqLen, encoder.Config.MaxPositionEmbeddings);
        foreach (var p in encoder.parameters()) p.requires_grad_(false); // the teacher is frozen: only the head learns
        encoder.eval();
        manual_seed(seed);
        Head = new BertLMPredictionHead(encoder.Config, encoder.embeddings);
        BertInit.InitWeights(Head, encoder.Config);
        Head.to(device);
        disallowed = tensor(Enumerable.Range(0, (int)encoder.Config.VocabSize)
            .Select(i => vocab.IsReplacement(i) && !StopWords.English.Contains(vocab.Tokens[i]) ? 0f : float.NegativeInfinity).ToArray()).to(device);
        using (no_grad()) unitEmbeddings = F.normalize(encoder.embeddings.word_embeddings.weight!.detach(), dim: 1).to(device); // (V, H)
    }

    /// <summary>Words, pieces and refillable words (a letter, not a stop word, one known WordPiece, inside the cut input).</summary>
    public GeneratorSentence Prepare(string text)
    {
        var spans = WordSpans.Split(text);
        var pieces = new List<int[]>(spans.Count);
        var offsets = new int[spans.Count];
        var slots = new List<int>();
        int at = 0;
        for (int w = 0; w < spans.Count; w++)
        {
            string word = spans[w].Of(text);
            var ids = tokenizer.Tokenize(word).ToArray();
            pieces.Add(ids);
            offsets[w] = at;
            if (ids.Length == 1 && ids[0] != tokenizer.Unk && word.Any(char.IsLetter) && !StopWords.English.Contains(word) && at < MaxSeqLen - 2)
                slots.Add(w);
            at += ids.Length;
        }
        return new GeneratorSentence(text, spans, pieces, offsets, slots.ToArray());
    }

    /// <summary>[CLS] pieces (cut to max_seq_len - 2, the given words' pieces replaced by [MASK]) [SEP], and the masked positions.</summary>
    public (long[] Ids, int[] At) MaskWords(GeneratorSentence s, IReadOnlyList<int> words)
    {
        var flat = s.AllPieces.Take(MaxSeqLen - 2).Select(p => (long)p).ToList();
        var at = words.Select(w => s.Offsets[w]).ToArray();
        foreach (int p in at) flat[p] = tokenizer.Mask;
        return (flat.Prepend(tokenizer.Cls).Append(tokenizer.Sep).ToArray(), at.Select(p => p + 1).ToArray());
    }

    /// <summary>The original piece of each of <paramref name="words"/> (single-piece words), in order.</summary>
    public static long[] Originals(GeneratorSentence s, IReadOnlyList<int> words) => words.Select(w => (long)s.Pieces[w][0]).ToArray();

    /// <summary>MLM training input: [CLS] pieces [SEP] with round(fraction × pieces) (at least one) uniformly chosen
    /// pieces replaced by [MASK] (always [MASK], as at generation time); returns ids, masked positions and the original ids there.</summary>
    public (long[] Ids, int[] At, long[] Labels) MaskPieces(GeneratorSentence s, double fraction, Random rng)
    {
        var flat = s.AllPieces.Take(MaxSeqLen - 2).Select(p => (long)p).ToArray();
        int m = Math.Clamp((int)Math.Round(fraction * flat.Length), 1, Math.Max(1, flat.Length));
        var order = Enumerable.Range(0, flat.Length).ToArray();
        for (int j = 0; j < Math.Min(m, order.Length); j++) // partial Fisher-Yates: the first m entries are a uniform m-subset
        {
            int r = j + rng.Next(order.Length - j);
            (order[j], order[r]) = (order[r], order[j]);
        }
        var at = order.Take(Math.Min(m, order.Length)).OrderBy(p => p).ToArray();
        var labels = at.Select(p => flat[p]).ToArray();
        foreach (int p in at) flat[p] = tokenizer.Mask;
        return (flat.Prepend(tokenizer.Cls).Append(tokenizer.Sep).ToArray(), at.Select(p => p + 1).ToArray(), labels);
    }

    /// <summary>The frozen encoder's last hidden states (N_masks, H) at every masked position, inputs in order, positions
    /// in order within each; computed without gradient.</summary>
    public Tensor HiddenAtMasks(IReadOnlyList<(long[] Ids, int[] At)> inputs)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        int t = inputs.Max(x => x.Ids.Length), b = inputs.Count;
        var ids = new long[b * t];
        var mask = new long[b * t];
        var flatAt = new List<long>();
        for (int i = 0; i < b; i++)
        {
            Array.Copy(inputs[i].Ids, 0, ids, i * t, inputs[i].Ids.Length);
            for (int k = 0; k < inputs[i].Ids.Length; k++) mask[i * t + k] = 1;
            for (int k = t - 1; k >= inputs[i].Ids.Length; k--) ids[i * t + k] = tokenizer.Pad;
            flatAt.AddRange(inputs[i].At.Select(p => (long)(i * t + p)));
        }
        var idsT = tensor(ids).view(b, t).to(device);   // (B, T)
        var maskT = tensor(mask).view(b, t).to(device); // (B, T)
        var hidden = encoder.embeddings.forward(idsT, zeros_like(idsT));           // (B, T, H)
        var additive = ScaledDotProductAttention.AdditiveMask(maskT);               // (B, 1, 1, T)
        for (int l = 0; l < Layer; l++) hidden = encoder.encoder.layer[l].forward(hidden, additive, false).Hidden;
        var h = hidden.reshape(b * t, -1); // (B, T, H) -> (B*T, H)
        return h.index_select(0, tensor(flatAt.ToArray()).to(device)).detach().MoveToOuterDisposeScope(); // (N_masks, H)
    }

    /// <summary>Cross-entropy of the head's vocabulary logits at the masked positions against the original pieces
    /// (HF's masked-LM loss, mean over masked positions).</summary>
    public Tensor MlmLoss(IReadOnlyList<(long[] Ids, int[] At, long[] Labels)> inputs)
    {
        using var scope = NewDisposeScope();
        var hidden = HiddenAtMasks(inputs.Select(x => (x.Ids, x.At)).ToArray());
        var labels = tensor(inputs.SelectMany(x => x.Labels).ToArray()).to(device);      // (N_masks,)
        return F.cross_entropy(Head.forward(hidden), labels).MoveToOuterDisposeScope();  // (N_masks, V) vs (N_masks,)
    }

    /// <summary>
    /// The generator's refill logits (N, V): the head's logits + λ · cos(embedding of each entry, embedding of the
    /// original word), restricted to whole-word, non-stop-word entries other than the original. The head supplies the
    /// context, the prior keeps a refill near the word it replaces (with λ = 0 the head alone). Carries the head's gradient.
    /// </summary>
    public Tensor WordLogits(Tensor hidden, long[] originals)
    {
        using var scope = NewDisposeScope();
        var orig = tensor(originals).to(device);                                                   // (N,)
        var logits = Head.forward(hidden) + disallowed;                                             // (N, V)
        if (NeighbourWeight > 0)
            logits = logits + unitEmbeddings.index_select(0, orig).matmul(unitEmbeddings.t()) * NeighbourWeight; // (N, H) x (H, V)
        var self = zeros_like(logits).index_put_(tensor(float.NegativeInfinity), arange(originals.Length, device: device), orig); // (N, V): -inf at each row's original
        return (logits + self).MoveToOuterDisposeScope();
    }

    /// <summary>The top-M entries (N, M) of each row and one draw per row from softmax(top-M logits / T), row r with
    /// rngs[r]; returns the support and the index k (within it) of each draw.</summary>
    public (Tensor Support, long[] Drawn) Sample(Tensor logits, IReadOnlyList<Random> rngs)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        int m = (int)Math.Min(Candidates, logits.shape[1]);
        var (values, support) = logits.detach().topk(m, dim: 1, largest: true, sorted: true); // (N, M) each
        var probs = F.softmax(values / Temperature, 1).cpu().data<float>().ToArray();
        var drawn = new long[logits.shape[0]];
        for (int r = 0; r < drawn.Length; r++)
        {
            double u = rngs[r].NextDouble(), acc = 0;
            int k = 0;
            for (; k < m - 1; k++)
            {
                acc += probs[r * m + k];
                if (u < acc) break;
            }
            drawn[r] = k;
        }
        return (support.MoveToOuterDisposeScope(), drawn);
    }

    /// <summary>log π(draw) = log softmax(top-M logits / T)[k] per row (N,), differentiable in the head.</summary>
    public Tensor LogProb(Tensor logits, Tensor support, long[] drawn)
    {
        using var scope = NewDisposeScope();
        var top = logits.gather(1, support) / Temperature;                   // (N, M)
        var k = tensor(drawn).to(logits.device).unsqueeze(1);                  // (N, 1)
        return F.log_softmax(top, 1).gather(1, k).squeeze(1).MoveToOuterDisposeScope(); // (N, 1) -> (N,)
    }

    public string Token(long id) => vocab.Tokens[(int)id];

    /// <summary>The text of <paramref name="s"/> with <paramref name="words"/> replaced by the given vocabulary ids (case matched).</summary>
    public static string Rewrite(GeneratorSentence s, IReadOnlyList<int> words, IReadOnlyList<string> tokens)
    {
        var replace = new Dictionary<int, string>();
        for (int j = 0; j < words.Count; j++) replace[words[j]] = WordReplacementAugmenter.MatchCase(s.Spans[words[j]].Of(s.Text), tokens[j]);
        return WordSpans.Replace(s.Text, s.Spans, replace);
    }

    /// <summary>
    /// One refill of each item (no gradient): its words masked together, one draw per word with the item's own Random
    /// (in word order), batched by <paramref name="batchSize"/>. An item with no words comes back unchanged.
    /// </summary>
    public List<string> Refill(IReadOnlyList<(GeneratorSentence S, int[] Words, Random Rng)> items, int batchSize = 64)
    {
        var result = items.Select(x => x.S.Text).ToList();
        var todo = Enumerable.Range(0, items.Count).Where(i => items[i].Words.Length > 0).ToArray();
        foreach (var chunk in todo.Chunk(batchSize))
        {
            using var scope = NewDisposeScope();
            using var _ = no_grad();
            var inputs = chunk.Select(i => MaskWords(items[i].S, items[i].Words)).ToArray();
            var logits = WordLogits(HiddenAtMasks(inputs), chunk.SelectMany(i => Originals(items[i].S, items[i].Words)).ToArray());
            var rngs = chunk.SelectMany(i => items[i].Words.Select(_ => items[i].Rng)).ToArray();
            var (support, drawn) = Sample(logits, rngs);
            var ids = support.gather(1, tensor(drawn).unsqueeze(1).to(support.device)).squeeze(1).cpu().data<long>().ToArray(); // (N,)
            int row = 0;
            foreach (int i in chunk)
            {
                var tokens = items[i].Words.Select(_ => Token(ids[row++])).ToArray();
                result[i] = Rewrite(items[i].S, items[i].Words, tokens);
            }
        }
        return result;
    }

    public void Dispose()
    {
        Head.Dispose();
        disallowed.Dispose();
        unitEmbeddings.Dispose();
    }
}
