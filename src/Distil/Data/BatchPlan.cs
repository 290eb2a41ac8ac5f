namespace Distil.Data;

/// <summary>
/// The order of rows and their split into batches for each epoch, a pure function of (seed, epoch): a trainer that
/// resumes at (epoch, batch index) gets exactly the batches it would have had. Uses its own seeded System.Random
/// (Fisher-Yates), so torch's RNG state (dropout, init) does not change the data order and vice versa.
/// </summary>
public sealed class BatchPlan
{
    public int Count { get; }
    public int BatchSize { get; }
    public int Seed { get; }
    public bool Shuffle { get; }

    public BatchPlan(int count, int batchSize, int seed, bool shuffle = true)
    {
        if (count <= 0) throw DistilException.BadInput("no rows to batch; the data set is empty");
        if (batchSize <= 0) throw DistilException.Usage($"batch size {batchSize} must be at least 1");
        Count = count; BatchSize = batchSize; Seed = seed; Shuffle = shuffle;
    }

    /// <summary>Batches per epoch; the last one is partial when BatchSize does not divide Count.</summary>
    public int BatchesPerEpoch => (Count + BatchSize - 1) / BatchSize;

    /// <summary>A permutation of 0..Count-1 (identity without shuffle).</summary>
    public int[] Order(int epoch)
    {
        if (epoch < 0) throw new ArgumentOutOfRangeException(nameof(epoch));
        var order = Enumerable.Range(0, Count).ToArray();
        if (!Shuffle) return order;
        var rng = new Random(EpochSeed(Seed, epoch));
        for (int i = order.Length - 1; i > 0; i--)
        {
            int j = rng.Next(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
        return order;
    }

    public IReadOnlyList<int[]> Batches(int epoch) => Order(epoch).Chunk(BatchSize).ToArray();

    /// <summary>The batches of an epoch starting at <paramref name="startBatch"/> (resumption).</summary>
    public IEnumerable<(int BatchIndex, int[] Indices)> From(int epoch, int startBatch = 0)
    {
        if (startBatch < 0 || startBatch > BatchesPerEpoch) throw new ArgumentOutOfRangeException(nameof(startBatch), $"batch {startBatch} is outside 0..{BatchesPerEpoch}");
        var batches = Batches(epoch);
        for (int k = startBatch; k < batches.Count; k++) yield return (k, batches[k]);
    }

    /// <summary>
    /// Mixes seed and epoch (splitmix64 finaliser) so that neighbouring epochs and seeds get unrelated streams.
    /// Seeded System.Random uses a fixed algorithm, so the order is the same on every run and machine.
    /// </summary>
    static int EpochSeed(int seed, int epoch)
    {
        ulong z = ((ulong)(uint)seed << 32 | (uint)epoch) + 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        return (int)(z & 0x7FFFFFFF);
    }
}
