namespace Distil.Data;

/// <summary>
/// Which columns hold text, text pair, label and domain. A null entry means "use the default": the first header
/// name found in the matching list below; without a header, text = column 0 and label = column 1.
/// </summary>
public sealed record ColumnMapping(Column? Text = null, Column? TextPair = null, Column? Label = null, Column? Domain = null)
{
    public static readonly ColumnMapping Default = new();

    public static readonly string[] TextNames = { "text", "sentence", "sentence1", "text_a", "question1", "question" };
    public static readonly string[] TextPairNames = { "text_pair", "sentence2", "text_b", "question2" };
    public static readonly string[] LabelNames = { "label", "labels", "gold_label" };
    public static readonly string[] DomainNames = { "domain" };
}
