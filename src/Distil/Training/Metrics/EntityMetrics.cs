namespace Distil.Training.Metrics;

/// <summary>Precision, recall, F1 and support (the number of gold entities) of one entity type, or of all.</summary>
public readonly record struct EntityScore(double Precision, double Recall, double F1, int Support);

/// <summary>Micro-averaged entity scores, per-type scores (types in ordinal order) and token accuracy.</summary>
public sealed record EntityReport(EntityScore Micro, IReadOnlyDictionary<string, EntityScore> PerType, double TokenAccuracy);

/// <summary>
/// Entity-level scores as seqeval's default (non-strict) mode computes them: a predicted entity is right when a gold
/// entity has the same type, start and end; precision = right / predicted, recall = right / gold, F1 = 2PR / (P + R),
/// each 0 where its denominator is 0 (seqeval's zero_division default). docs/tasks.md §Entities.
/// </summary>
public static class EntityMetrics
{
    public static EntityReport Compute(IReadOnlyList<IReadOnlyList<string>> gold, IReadOnlyList<IReadOnlyList<string>> predicted)
    {
        if (gold.Count != predicted.Count)
            throw DistilException.BadInput($"{gold.Count} gold sentences but {predicted.Count} predicted ones");
        var goldSet = new HashSet<(int, EntityChunk)>();
        var predSet = new HashSet<(int, EntityChunk)>();
        long tokens = 0, sameTokens = 0;
        for (int s = 0; s < gold.Count; s++)
        {
            if (gold[s].Count != predicted[s].Count)
                throw DistilException.BadInput($"sentence {s}: {gold[s].Count} gold tags but {predicted[s].Count} predicted ones");
            foreach (var c in EntityChunks.Extract(gold[s], s)) goldSet.Add((s, c));
            foreach (var c in EntityChunks.Extract(predicted[s], s)) predSet.Add((s, c));
            for (int i = 0; i < gold[s].Count; i++) if (gold[s][i] == predicted[s][i]) sameTokens++;
            tokens += gold[s].Count;
        }

        var types = goldSet.Select(g => g.Item2.Type).Concat(predSet.Select(p => p.Item2.Type)).Distinct().Order(StringComparer.Ordinal);
        var perType = new SortedDictionary<string, EntityScore>(StringComparer.Ordinal);
        foreach (var type in types)
        {
            int g = goldSet.Count(e => e.Item2.Type == type), p = predSet.Count(e => e.Item2.Type == type);
            int tp = predSet.Count(e => e.Item2.Type == type && goldSet.Contains(e));
            perType[type] = Score(tp, p, g);
        }
        int right = predSet.Count(goldSet.Contains);
        return new EntityReport(Score(right, predSet.Count, goldSet.Count), perType, tokens == 0 ? 0 : (double)sameTokens / tokens);
    }

    /// <summary>F1 from P and R, not from counts, in seqeval's order of operations so the digits match.</summary>
    static EntityScore Score(int truePositives, int predictedCount, int goldCount)
    {
        double precision = predictedCount == 0 ? 0 : (double)truePositives / predictedCount;
        double recall = goldCount == 0 ? 0 : (double)truePositives / goldCount;
        double denom = precision + recall;
        return new EntityScore(precision, recall, denom == 0 ? 0 : 2 * precision * recall / denom, goldCount);
    }
}
