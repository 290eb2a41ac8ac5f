// Distillation losses on TorchSharp tensors (TextBrewer losses.py / TinyBERT / DistilBERT / MiniLM; see
// docs/kd-presets.md §Losses and docs/minilm.md §Losses). Every teacher argument is detached here: the teacher is a fixed target.
// Masks are (B, T) with 1 = token, 0 = padding; padded tokens never contribute to a loss or to its normaliser.
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Distil.Distillation;

public static class KdLosses
{
    // log() of a probability clamped here so that zero probabilities at kept positions stay finite (and so do gradients).
    const double ProbFloor = 1e-12;

    /// <summary>
    /// Soft cross-entropy (TextBrewer kd_ce): mean over the batch of -Σ_c softmax(t/T)_c · log_softmax(s/T)_c,
    /// summed over classes (TinyBERT's mean over classes differs by the constant 1/C).
    /// No T² factor here: its gradients scale as 1/T², so when combining with hard-label CE the caller multiplies
    /// this term by T² (Hinton): total = α·CE + (1-α)·T²·soft_ce (the <c>kd</c> preset puts T² in the match weight).
    /// </summary>
    public static Tensor SoftCrossEntropy(Tensor studentLogits, Tensor teacherLogits, double temperature)
    {
        using var scope = NewDisposeScope();
        var p = F.softmax(teacherLogits.detach() / temperature, -1);
        var logQ = F.log_softmax(studentLogits / temperature, -1);
        return (-(p * logQ).sum(-1)).mean().MoveToOuterDisposeScope();
    }

    /// <summary>KL(p_T ‖ p_S) with p = softmax(logits/T): Σ_c p_T (log p_T - log p_S), mean over the batch ("batchmean").
    /// Equals soft CE minus the teacher's entropy (same gradient); no T² factor, as above.</summary>
    public static Tensor KlDivergence(Tensor studentLogits, Tensor teacherLogits, double temperature)
    {
        using var scope = NewDisposeScope();
        var logP = F.log_softmax(teacherLogits.detach() / temperature, -1);
        var logQ = F.log_softmax(studentLogits / temperature, -1);
        return (logP.exp() * (logP - logQ)).sum(-1).mean().MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Per-token KD for token classification: KL(p_T ‖ p_S) with p = softmax(logits/T) over the labels at each
    /// position, averaged over the positions where <paramref name="tokenMask"/> (B, T) is 1 (the labelled first
    /// sub-tokens, or every non-pad token); logits are (B, T, C). No T² factor, as <see cref="KlDivergence"/>.
    /// </summary>
    public static Tensor TokenKlDivergence(Tensor studentLogits, Tensor teacherLogits, Tensor tokenMask, double temperature)
    {
        using var scope = NewDisposeScope();
        var logP = F.log_softmax(teacherLogits.detach() / temperature, -1);
        var logQ = F.log_softmax(studentLogits / temperature, -1);
        var perToken = (logP.exp() * (logP - logQ)).sum(-1); // (B, T)
        var m = tokenMask.to(perToken.dtype);
        return perToken.mul(m).sum().div(m.sum().clamp_min(1)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Hidden-state MSE (TextBrewer hid_mse_loss with mask): Σ over valid tokens and features of (s - t)² divided by
    /// (#valid tokens · H_t). <paramref name="student"/> (B, T, H_t) is already projected when widths differ.
    /// </summary>
    public static Tensor HiddenMse(Tensor student, Tensor teacher, Tensor attentionMask)
    {
        using var scope = NewDisposeScope();
        var m = TokenMask(attentionMask).unsqueeze(-1); // (B, T, 1)
        var sse = (student - teacher.detach()).pow(2).mul(m).sum();
        return sse.div(m.sum().mul(teacher.shape[^1])).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// MSE of pre-softmax attention scores (TextBrewer att_mse_loss with mask): Σ over heads and valid (query, key)
    /// pairs of (s - t)², divided by nh · Σ_b n_b² (n_b = valid tokens of example b), i.e. a mean over heads and pairs.
    /// Masked keys hold float.MinValue-based values on both sides: they are replaced by 0 BEFORE subtracting, so
    /// neither the value nor the gradient can become inf/NaN.
    /// </summary>
    public static Tensor AttentionScoreMse(Tensor studentScores, Tensor teacherScores, Tensor attentionMask)
    {
        using var scope = NewDisposeScope();
        var pairs = PairMask(attentionMask); // (B, 1, T, T) bool
        var zero = zeros(1, dtype: studentScores.dtype, device: studentScores.device);
        var s = where(pairs, studentScores, zero);
        var t = where(pairs, teacherScores.detach(), zero);
        var count = pairs.to(float32).sum().mul(studentScores.shape[1]);
        return (s - t).pow(2).sum().div(count).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// MiniLM L_AT: mean over heads and valid query positions of KL(teacher row ‖ student row) of attention
    /// probabilities (B, nh, T, T); only valid keys enter the KL sum. Head counts must be equal.
    /// </summary>
    public static Tensor AttentionKl(Tensor studentProbs, Tensor teacherProbs, Tensor attentionMask)
    {
        if (studentProbs.shape[1] != teacherProbs.shape[1])
            throw DistilException.Usage($"attention KL needs equal head counts (student {studentProbs.shape[1]}, teacher {teacherProbs.shape[1]}); use attention_relation with relation_heads instead");
        using var scope = NewDisposeScope();
        var logT = teacherProbs.detach().clamp_min(ProbFloor).log();
        var logS = studentProbs.clamp_min(ProbFloor).log();
        return RowKl(logT, logS, attentionMask).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// MiniLM(v2) self-relation KL of one kind of vectors (values, queries or keys), (B, T, H_s) vs (B, T, H_t):
    /// each side is split into <paramref name="relationHeads"/> heads of width d = H / heads (widths may differ),
    /// relation = softmax(X Xᵀ / √d) over valid keys; loss = mean over relation heads and valid query positions of
    /// KL(teacher ‖ student). Re-splitting into a shared number of relation heads is what lets widths and head counts differ.
    /// </summary>
    public static Tensor RelationKl(Tensor student, Tensor teacher, int relationHeads, Tensor attentionMask) =>
        RelationKl(student, student, teacher, teacher, relationHeads, attentionMask);

    /// <summary>Cross relation softmax(Q Kᵀ / √d) per relation head (MiniLMv2 query-key relation = attention
    /// distributions re-split into <paramref name="relationHeads"/> heads); same normalisation as the self-relation.</summary>
    public static Tensor RelationKl(Tensor studentQ, Tensor studentK, Tensor teacherQ, Tensor teacherK, int relationHeads, Tensor attentionMask)
    {
        using var scope = NewDisposeScope();
        var logS = RelationLogProbs(studentQ, studentK, relationHeads, attentionMask, "student");
        var logT = RelationLogProbs(teacherQ.detach(), teacherK.detach(), relationHeads, attentionMask, "teacher");
        return RowKl(logT, logS, attentionMask).MoveToOuterDisposeScope();
    }

    /// <summary>DistilBERT cosine loss (cosine_embedding_loss, target 1): mean over valid tokens of 1 - cos(h_s, h_t).</summary>
    public static Tensor CosineHidden(Tensor student, Tensor teacher, Tensor attentionMask)
    {
        using var scope = NewDisposeScope();
        var m = TokenMask(attentionMask);
        var cos = F.cosine_similarity(student, teacher.detach(), dim: -1); // (B, T)
        return (1 - cos).mul(m).sum().div(m.sum()).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Patient KD (PKD, TextBrewer pkd_loss): squared L2 distance of the L2-normalised [CLS] states (B, H), summed over
    /// features and averaged over the batch: mean_b ‖s_b/‖s_b‖ - t_b/‖t_b‖‖², in [0, 4] whatever the width. PKD's β
    /// (10 .. 1000) is tuned for this sum; a mean over features would shrink the term H times (384x for MiniLM) and
    /// leave PKD indistinguishable from plain KD.
    /// </summary>
    public static Tensor NormalizedClsMse(Tensor studentCls, Tensor teacherCls)
    {
        using var scope = NewDisposeScope();
        var s = F.normalize(studentCls, p: 2, dim: -1);
        var t = F.normalize(teacherCls.detach(), p: 2, dim: -1);
        return (s - t).pow(2).sum(-1).mean().MoveToOuterDisposeScope();
    }

    // Per-example forms (B,) for instance-weighted distillation (Meta-KD's λ): the weight must multiply each example's
    // loss BEFORE the batch mean. Averaging first (EasyNLP's mse_loss with reduction='mean') leaves λ a mere rescaling
    // of a scalar. Each example is normalised by its own valid tokens, so the batch mean of these is a mean over
    // examples (the batch-level forms above pool tokens across the batch; the two agree when all lengths are equal).

    /// <summary>Per example: Σ_c -softmax(t/T)_c · log_softmax(s/T)_c, shape (B,).</summary>
    public static Tensor SoftCrossEntropyPerExample(Tensor studentLogits, Tensor teacherLogits, double temperature)
    {
        using var scope = NewDisposeScope();
        var p = F.softmax(teacherLogits.detach() / temperature, -1);
        return (-(p * F.log_softmax(studentLogits / temperature, -1)).sum(-1)).MoveToOuterDisposeScope();
    }

    /// <summary>Per example: KL(p_T ‖ p_S) at temperature T, shape (B,).</summary>
    public static Tensor KlDivergencePerExample(Tensor studentLogits, Tensor teacherLogits, double temperature)
    {
        using var scope = NewDisposeScope();
        var logP = F.log_softmax(teacherLogits.detach() / temperature, -1);
        var logQ = F.log_softmax(studentLogits / temperature, -1);
        return (logP.exp() * (logP - logQ)).sum(-1).MoveToOuterDisposeScope();
    }

    /// <summary>Per example b: Σ over its valid tokens and features of (s - t)², divided by (n_b · H_t); shape (B,).</summary>
    public static Tensor HiddenMsePerExample(Tensor student, Tensor teacher, Tensor attentionMask)
    {
        using var scope = NewDisposeScope();
        var m = TokenMask(attentionMask).unsqueeze(-1); // (B, T, 1)
        var sse = (student - teacher.detach()).pow(2).mul(m).sum(new long[] { 1, 2 }); // (B,)
        return sse.div(m.sum(new long[] { 1, 2 }).clamp_min(1).mul(teacher.shape[^1])).MoveToOuterDisposeScope();
    }

    /// <summary>Per example b: Σ over heads and valid (query, key) pairs of (s - t)², divided by nh · n_b²; shape (B,).
    /// Masked entries are zeroed before subtracting, as in <see cref="AttentionScoreMse"/>.</summary>
    public static Tensor AttentionScoreMsePerExample(Tensor studentScores, Tensor teacherScores, Tensor attentionMask)
    {
        using var scope = NewDisposeScope();
        var pairs = PairMask(attentionMask); // (B, 1, T, T) bool
        var zero = zeros(1, dtype: studentScores.dtype, device: studentScores.device);
        var s = where(pairs, studentScores, zero);
        var t = where(pairs, teacherScores.detach(), zero);
        var count = pairs.to(float32).sum(new long[] { 1, 2, 3 }).clamp_min(1).mul(studentScores.shape[1]); // (B,)
        return (s - t).pow(2).sum(new long[] { 1, 2, 3 }).div(count).MoveToOuterDisposeScope();
    }

    /// <summary>Cross-entropy with gold labels per example, shape (B,).</summary>
    public static Tensor HardCrossEntropyPerExample(Tensor logits, Tensor labels) =>
        F.cross_entropy(logits, labels, reduction: nn.Reduction.None);

    /// <summary>Cross-entropy with gold labels (int64 (B,)), mean over the batch.</summary>
    public static Tensor HardCrossEntropy(Tensor logits, Tensor labels) => F.cross_entropy(logits, labels);

    static Tensor TokenMask(Tensor attentionMask) => attentionMask.to(float32);

    // (B, 1, T, T): query and key both valid.
    static Tensor PairMask(Tensor attentionMask)
    {
        var m = attentionMask.ne(0);
        return m.unsqueeze(1).unsqueeze(-1).logical_and(m.unsqueeze(1).unsqueeze(2));
    }

    // Σ over heads and valid queries of Σ over valid keys p_T (log p_T - log p_S), / (heads · #valid queries).
    static Tensor RowKl(Tensor logT, Tensor logS, Tensor attentionMask)
    {
        var pairs = PairMask(attentionMask);
        var zero = zeros(1, dtype: logS.dtype, device: logS.device);
        var terms = where(pairs, logT.exp() * (logT - logS), zero);
        var queries = TokenMask(attentionMask).sum().mul(logS.shape[1]);
        return terms.sum().div(queries);
    }

    static Tensor RelationLogProbs(Tensor q, Tensor k, int heads, Tensor attentionMask, string side)
    {
        long width = q.shape[^1];
        if (heads <= 0 || width % heads != 0)
            throw DistilException.Usage($"relation_heads {heads} must divide the {side} width {width}");
        long b = q.shape[0], t = q.shape[1], d = width / heads;
        var qh = q.view(b, t, heads, d).transpose(1, 2); // (B, r, T, d)
        var kh = k.view(b, t, heads, d).transpose(1, 2);
        var logits = qh.matmul(kh.transpose(-1, -2)).div(Math.Sqrt(d));
        var padKey = attentionMask.eq(0).view(b, 1, 1, t);
        return F.log_softmax(logits.masked_fill(padKey, float.MinValue), -1);
    }
}
