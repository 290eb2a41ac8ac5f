namespace Distil.Text;

/// <summary>
/// One encoded input, unpadded, in its family's template (e.g. <c>[CLS] a [SEP] b [SEP]</c>, type ids 0 for the first
/// part, 1 for the second). <see cref="Offsets"/> are character spans into the text (or pair) each token came from,
/// (0, 0) for special tokens; <see cref="SequenceIds"/> say which: 0 text, 1 pair, -1 special.
/// </summary>
public sealed record TokenizedInput(long[] InputIds, long[] TokenTypeIds)
{
    public int Length => InputIds.Length;
    public (int Start, int End)[]? Offsets { get; init; }
    public int[]? SequenceIds { get; init; }
}
