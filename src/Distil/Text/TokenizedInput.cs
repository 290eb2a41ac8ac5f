namespace Distil.Text;

/// <summary>One encoded input, unpadded: <c>[CLS] a [SEP]</c> or <c>[CLS] a [SEP] b [SEP]</c>, type ids 0 for the first part, 1 for the second.</summary>
public sealed record TokenizedInput(long[] InputIds, long[] TokenTypeIds)
{
    public int Length => InputIds.Length;
}
