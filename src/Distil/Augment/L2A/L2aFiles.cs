using System.Globalization;
using System.Text;
using System.Text.Json;
using Distil.Checkpoints;
using Distil.Data;
using Distil.Reports;

namespace Distil.Augment.L2A;

/// <summary>The inspectable files of an L2A run: the arms' training TSVs, candidates.tsv with every feature and π(keep), selector.jsonl.</summary>
internal static class L2aFiles
{
    public static string WriteTsv(string path, IReadOnlyList<Example> rows)
    {
        bool pairs = rows.Any(r => r.TextPair != null);
        static string Clean(string? s) => (s ?? "").Replace('\t', ' ').Replace('\n', ' ').Replace('\r', ' ');
        AtomicFile.Write(path, s =>
        {
            using var w = new StreamWriter(s, new UTF8Encoding(false), 1 << 16, leaveOpen: true) { NewLine = "\n" };
            w.WriteLine(pairs ? "text\ttext_pair\tlabel\tdomain" : "text\tlabel\tdomain");
            foreach (var r in rows)
                w.WriteLine(pairs ? $"{Clean(r.Text)}\t{Clean(r.TextPair)}\t{Clean(r.Label)}\t{Clean(r.Domain)}" : $"{Clean(r.Text)}\t{Clean(r.Label)}\t{Clean(r.Domain)}");
        });
        return path;
    }

    public static void WriteCandidates(string path, List<L2aCandidate> pool, CandidatePool features, float[] keep, double threshold)
    {
        static string Clean(string? s) => (s ?? "").Replace('\t', ' ').Replace('\n', ' ').Replace('\r', ' ');
        var names = CandidatePool.FeatureNames.Take(CandidatePool.FeatureNames.Length - 1);
        AtomicFile.Write(path, s =>
        {
            using var w = new StreamWriter(s, new UTF8Encoding(false), 1 << 16, leaveOpen: true) { NewLine = "\n" };
            w.WriteLine(string.Join('\t', new[] { "generator", "source_row", "source_domain", "source_label", "original", "text", "keep_prob", "kept" }.Concat(names)));
            for (int i = 0; i < pool.Count; i++)
            {
                var g = pool[i];
                w.WriteLine(string.Join('\t', new[] { g.Generator, g.SourceRow.ToString(CultureInfo.InvariantCulture), Clean(g.SourceDomain), Clean(g.SourceLabel), Clean(g.Original), Clean(g.Text),
                    keep[i].ToString("F4", CultureInfo.InvariantCulture), keep[i] >= threshold ? "1" : "0" }
                    .Concat(features.StaticFeatures[i].Select(v => v.ToString("F4", CultureInfo.InvariantCulture)))));
            }
        });
    }

    public static void WriteSelectorLog(string path, IEnumerable<SelectorStep> history) =>
        RunFolder.WriteAtomic(path, string.Concat(history.Select(h => JsonSerializer.Serialize(h, SelectorLogJson) + "\n")));

    // A diverged scout (skipped under --skip-nonfinite) leaves NaN rewards; they are written as NaN, not a crash.
    internal static readonly JsonSerializerOptions SelectorLogJson = new() { NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };
}
