namespace Distil.Data;

/// <summary>
/// A tokenized row: unpadded ids, the label id (-1 when unlabelled) and the domain id (-1 when none).
/// A token-task row also has <see cref="Tokens"/>; a regression or multi-label row has <see cref="Targets"/>
/// (its score, or one 0/1 per label) and Label -1.
/// </summary>
public sealed record EncodedExample(long[] InputIds, long[] TokenTypeIds, long Label, int Domain, TokenTargets? Tokens = null, float[]? Targets = null);

/// <summary>
/// A token-task row: per position the label id or -100 (<see cref="TokenLabelAlignment"/>), per word the position
/// of its first sub-token (-1: cut off) and its gold label id (-1 when unlabelled), so metrics see every word.
/// </summary>
public sealed record TokenTargets(long[] Labels, int[] WordStarts, int[] WordLabels);
