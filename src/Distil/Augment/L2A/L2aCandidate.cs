namespace Distil.Augment.L2A;

/// <summary>
/// One generated example before selection: which generator made it ("chain", "cross", "eda", "tinybert"), the row and
/// domain of the example it came from, that example's gold label (kept only to check that generators do not skew the
/// label mix; training uses the teacher's soft labels), the original and the generated text.
/// </summary>
public sealed record L2aCandidate(string Generator, int SourceRow, string? SourceDomain, string? SourceLabel, string Original, string Text, string? TextPair);
