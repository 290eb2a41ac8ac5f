namespace Distil.Data;

/// <summary>One row of a data file. <see cref="Source"/> is "file:line", used in every message about this row.</summary>
public sealed record Example(string Text, string? TextPair, string? Label, string? Domain, string Source);
