namespace Distil.Data;

/// <summary>A tokenized row: unpadded ids, the label id (-1 when unlabelled) and the domain id (-1 when none).</summary>
public sealed record EncodedExample(long[] InputIds, long[] TokenTypeIds, long Label, int Domain);
