using Distil.Text;

namespace Distil.Labels;

/// <summary>
/// Labels one shard: tokenize, run the teacher in length buckets (rows sorted by token count, so a batch pads to
/// its own longest row, not the shard's), and return the shard file's bytes. Deterministic: the batches depend only
/// on the shard's rows, so every machine makes the same bytes from the same teacher.
/// </summary>
public static class ShardLabeller
{
    /// <summary>
    /// 64: every command's eval_batch_size, with which it labels what its store lacks. A row's logits depend on the
    /// length its batch pads to (last digits only), so `distil label` at the same batch writes the same bits as the
    /// command would, and a bench rerun from a store made beforehand repeats its figures (TeacherLabelsTests).
    /// </summary>
    public const int DefaultBatchSize = 64;

    public static byte[] Label(ILabelTeacher teacher, LabelShard shard, int batchSize = DefaultBatchSize) =>
        ShardFile.Write(Compute(teacher, shard, batchSize));

    /// <summary>The shard's contents (what <see cref="Label"/> writes), for a caller that also uses them at once.</summary>
    public static ShardContents Compute(ILabelTeacher teacher, LabelShard shard, int batchSize = DefaultBatchSize)
    {
        if (batchSize < 1) throw DistilException.Usage($"batch size {batchSize} must be at least 1");
        var spec = teacher.Spec;
        int n = shard.Rows.Count;
        var encoded = shard.Rows.Select(r => teacher.Tokenizer.Encode(r.Text, r.Pair, spec.MaxSeqLen)).ToArray();
        var logits = new float[n][];
        var hidden = spec.HiddenLayers.ToDictionary(l => l, _ => new Half[n][]);
        var order = Enumerable.Range(0, n).OrderBy(i => encoded[i].Length).ThenBy(i => i).ToArray();
        foreach (var chunk in order.Chunk(batchSize))
        {
            var output = teacher.Run(chunk.Select(i => encoded[i]).ToArray());
            for (int k = 0; k < chunk.Length; k++)
            {
                logits[chunk[k]] = output.Logits[k];
                foreach (var (l, rows) in hidden) rows[chunk[k]] = output.Hidden[l][k];
            }
        }
        int c = spec.Labels.Count;
        var flat = new float[n * c];
        for (int i = 0; i < n; i++)
        {
            if (logits[i].Length != c) throw DistilException.BadInput($"{spec.TeacherPath}: the teacher gave {logits[i].Length} logits, its config names {c} labels");
            logits[i].CopyTo(flat, i * c);
        }
        var offsets = new long[hidden.Count > 0 ? n + 1 : 0];
        for (int i = 0; i < n && hidden.Count > 0; i++) offsets[i + 1] = offsets[i] + encoded[i].Length;
        var packed = hidden.ToDictionary(p => p.Key, p => p.Value.SelectMany(r => r).ToArray());
        var meta = new Dictionary<string, string>
        {
            ["spec_key"] = spec.Key,
            ["shard"] = shard.Id,
            ["content_key"] = shard.ContentKey,
        };
        return new ShardContents(shard.Rows, shard.Rows.Select(r => r.Key).ToArray(), flat, c, offsets, packed, spec.HiddenSize, meta);
    }

    /// <summary>Tokens of a row as the teacher sees them (for estimates and bucketing outside a shard).</summary>
    public static int Tokens(TextTokenizer tokenizer, LabelRow row, int maxSeqLen) => tokenizer.Encode(row.Text, row.Pair, maxSeqLen).Length;
}
