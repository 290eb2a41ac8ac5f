using Distil.Text;

namespace Distil.Data;

/// <summary>
/// One window of one question, as model input: <c>[CLS] question [SEP] context-part [SEP]</c> (the family's pair
/// template), unpadded. <see cref="Offsets"/>[i] is the character span of the context that position i covers, (-1, -1)
/// for every position outside the context (question, special tokens) — HF's offset mapping with the non-context
/// entries set to None. <see cref="StartPosition"/>/<see cref="EndPosition"/> are the answer's first and last token
/// in this window, both <see cref="ClsIndex"/> when the answer is not wholly inside it (or there is none).
/// </summary>
public sealed record QaFeature(int Example, long[] InputIds, long[] TokenTypeIds, (int Start, int End)[] Offsets,
    int StartPosition, int EndPosition, int ClsIndex)
{
    public int Length => InputIds.Length;
    public bool InContext(int position) => position >= 0 && position < Offsets.Length && Offsets[position].Start >= 0;
}

/// <summary>How long contexts are cut: at most <see cref="MaxSeqLen"/> tokens per window, consecutive windows sharing
/// <see cref="DocStride"/> context tokens (transformers' run_qa.py: max_seq_length 384, doc_stride 128).</summary>
public sealed record QaWindowing(int MaxSeqLen = 384, int DocStride = 128);

/// <summary>
/// Extractive-QA features as transformers' run_qa.py prepares them: the question first, the context truncated
/// "only_second" into overlapping windows (return_overflowing_tokens with stride), the offset mapping kept for the
/// context only, and per window the answer's start/end token (the CLS index when the answer is not inside).
/// The tokenizer's pieces and offsets are computed once per text and the windows cut from them, which is what the
/// fast tokenizers' overflow does: windows start every (room - stride) context tokens until one reaches the end.
/// docs/tasks.md §Extractive QA.
/// </summary>
public static class QaFeatures
{
    /// <summary>All windows of one question. Training labels use its first answer (as run_qa.py); an impossible
    /// question points every window at CLS.</summary>
    public static List<QaFeature> Build(TextTokenizer tokenizer, SquadQuestion q, int exampleIndex, QaWindowing windowing) =>
        Build(tokenizer, q.Question, q.Context, q.Answers.Count > 0 ? q.Answers[0] : null, exampleIndex, windowing, q.Id);

    public static List<QaFeature> Build(TextTokenizer tokenizer, string question, string context, SquadAnswer? answer,
        int exampleIndex, QaWindowing windowing, string id = "")
    {
        var template = tokenizer.Template.Pair;
        int specials = template.Count(t => t.SpecialId >= 0);
        var qTokens = tokenizer.TokenizeWithOffsets(question.TrimStart()); // run_qa.py lstrips the question
        var cTokens = tokenizer.TokenizeWithOffsets(context);
        int room = windowing.MaxSeqLen - specials - qTokens.Count;
        if (windowing.DocStride < 0) throw DistilException.Usage($"--doc-stride {windowing.DocStride} must be 0 or more");
        if (room <= windowing.DocStride && cTokens.Count > Math.Max(room, 0))
            throw DistilException.Usage($"question '{id}' has {qTokens.Count} tokens, which leaves {Math.Max(room, 0)} context tokens per window of " +
                $"--max-seq-len {windowing.MaxSeqLen}, not more than --doc-stride {windowing.DocStride}; raise --max-seq-len or lower --doc-stride");

        var features = new List<QaFeature>();
        int step = room - windowing.DocStride;
        for (int first = 0; ; first += step)
        {
            int last = Math.Min(first + room, cTokens.Count); // context tokens [first, last) of this window
            features.Add(Window(template, qTokens, cTokens, first, last, answer, exampleIndex));
            if (last >= cTokens.Count) break;
        }
        return features;
    }

    static QaFeature Window(TemplateItem[] template, List<TextToken> q, List<TextToken> c, int first, int last, SquadAnswer? answer, int example)
    {
        int total = template.Count(t => t.SpecialId >= 0) + q.Count + (last - first);
        var ids = new long[total];
        var types = new long[total];
        var offsets = new (int, int)[total];
        const int cls = 0; // run_qa.py's input_ids.index(cls_token_id): every supported pair template starts with [CLS] / <s>
        int k = 0, contextStart = -1, contextEnd = -1;
        foreach (var item in template)
        {
            if (item.SpecialId >= 0)
            {
                offsets[k] = (-1, -1); types[k] = item.TypeId; ids[k++] = item.SpecialId;
                continue;
            }
            bool isContext = item.Sequence == 1;
            if (isContext) contextStart = k;
            var tokens = isContext ? c.GetRange(first, last - first) : q;
            foreach (var t in tokens)
            {
                types[k] = item.TypeId;
                offsets[k] = isContext ? (t.Start, t.End) : (-1, -1);
                ids[k++] = t.Id;
            }
            if (isContext) contextEnd = k - 1;
        }
        int start = cls, end = cls;
        if (answer != null && contextEnd >= contextStart)
        {
            int startChar = answer.Start, endChar = answer.End;
            // Inside the window only when its context covers the whole answer (run_qa.py's test).
            if (offsets[contextStart].Item1 <= startChar && offsets[contextEnd].Item2 >= endChar)
            {
                // The last context token starting at or before the answer; the first one ending at or after it. Both walks
                // stay inside the context (run_qa.py's start walk can step onto [SEP] when the answer starts at the
                // window's last token, since [SEP]'s offset (0, 0) is "before" every character).
                int s = contextStart;
                while (s + 1 <= contextEnd && offsets[s + 1].Item1 <= startChar) s++;
                int e = contextEnd;
                while (e - 1 >= contextStart && offsets[e - 1].Item2 >= endChar) e--;
                start = s; end = e;
            }
        }
        return new QaFeature(example, ids, types, offsets, start, end, cls);
    }
}
