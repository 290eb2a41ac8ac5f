namespace Distil.Text;

/// <summary>One place of a template: a special token (<see cref="SpecialId"/> &gt;= 0) or sequence A (0) / B (1).</summary>
public readonly record struct TemplateItem(int SpecialId, int Sequence, int TypeId)
{
    public static TemplateItem Special(int id, int typeId = 0) => new(id, -1, typeId);
    public static TemplateItem Text(int sequence, int typeId = 0) => new(-1, sequence, typeId);
}

/// <summary>HF's TemplateProcessing: where special tokens go around one text and a pair, and their type ids.</summary>
public sealed record PairTemplate(TemplateItem[] Single, TemplateItem[] Pair)
{
    /// <summary>BERT, DistilBERT, ELECTRA, DeBERTa-v3: <c>[CLS] a [SEP]</c> / <c>[CLS] a [SEP] b [SEP]</c>, b's part type 1.</summary>
    public static PairTemplate Bert(int cls, int sep) => new(
        [TemplateItem.Special(cls), TemplateItem.Text(0), TemplateItem.Special(sep)],
        [TemplateItem.Special(cls), TemplateItem.Text(0), TemplateItem.Special(sep), TemplateItem.Text(1, 1), TemplateItem.Special(sep, 1)]);

    /// <summary>RoBERTa, XLM-R, CamemBERT: <c>&lt;s&gt; a &lt;/s&gt;</c> / <c>&lt;s&gt; a &lt;/s&gt;&lt;/s&gt; b &lt;/s&gt;</c>, all type 0.</summary>
    public static PairTemplate Roberta(int bos, int eos) => new(
        [TemplateItem.Special(bos), TemplateItem.Text(0), TemplateItem.Special(eos)],
        [TemplateItem.Special(bos), TemplateItem.Text(0), TemplateItem.Special(eos), TemplateItem.Special(eos), TemplateItem.Text(1), TemplateItem.Special(eos)]);
}
