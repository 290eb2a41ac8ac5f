using Distil.Data;
using Distil.Distillation;
using Distil.Models;
using Distil.Text;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Distil.Tests;

/// <summary>Token classification: label alignment on hand-made sentences, CoNLL/JSONL reading, the head and its losses by hand.</summary>
public class TokenClassificationTests : IDisposable
{
    static readonly string[] Vocab =
    {
        "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", // 0-4
        "the", "movie", "was", "great", "un",         // 5-9
        "##believ", "##able", ",", ".", "paris",      // 10-14
    };

    readonly TempDir _dir = new();
    readonly BertTextTokenizer _tok;

    public TokenClassificationTests()
    {
        _dir.File("vocab.txt", string.Join("\n", Vocab) + "\n");
        _tok = BertTextTokenizer.FromFolder(_dir.Path);
    }

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Labels_go_on_the_first_sub_token_only()
    {
        var s = TokenLabelAlignment.Align(_tok, ["The", "unbelievable", "movie", "great.", "Zürich"], [0, 1, 2, 3, 4], 64);
        Assert.Equal(new long[] { 2, 5, 9, 10, 11, 6, 8, 13, 1, 3 }, s.InputIds);
        Assert.Equal(new long[] { -100, 0, 1, -100, -100, 2, 3, -100, 4, -100 }, s.Labels);
        Assert.Equal(new[] { 1, 2, 5, 6, 8 }, s.WordStarts);
    }

    [Fact]
    public void Truncation_cuts_whole_words_and_keeps_sep()
    {
        // room for 4 sub-tokens: "the" (1) + "un ##believ ##able" (3); "movie" is cut.
        var s = TokenLabelAlignment.Align(_tok, ["The", "unbelievable", "movie"], [0, 1, 2], 6);
        Assert.Equal(new long[] { 2, 5, 9, 10, 11, 3 }, s.InputIds);
        Assert.Equal(new long[] { -100, 0, 1, -100, -100, -100 }, s.Labels);
        Assert.Equal(new[] { 1, 2, -1 }, s.WordStarts);
        // room for 3: the split word would not fit whole, so it and everything after it are cut.
        var t = TokenLabelAlignment.Align(_tok, ["The", "unbelievable", "movie"], [0, 1, 2], 5);
        Assert.Equal(new long[] { 2, 5, 3 }, t.InputIds);
        Assert.Equal(new[] { 1, -1, -1 }, t.WordStarts);
        Assert.Equal(new[] { 0, 7, 7 }, TokenLabelAlignment.WordPredictions(t, p => 0, fallback: 7));
        Assert.Throws<DistilException>(() => TokenLabelAlignment.Align(_tok, ["a"], [0, 1], 8));
    }

    [Fact]
    public void Conll_reads_docstart_columns_and_iobes()
    {
        var path = _dir.File("a.conll", "-DOCSTART- -X- O O\n\nParis NNP S-LOC\nwas VBD O\n\n\ngreat JJ O\nthe DT S-X\n");
        var f = TaggedSentences.Read(path, TagScheme.Iobes);
        Assert.Equal(2, f.Sentences.Count);
        Assert.Equal(["Paris", "was"], f.Sentences[0].Words);
        Assert.Equal(["S-LOC", "O"], f.Sentences[0].Tags);
        Assert.Equal($"{path}:3", f.Sentences[0].Source);
        Assert.Equal(["O", "S-X"], f.Sentences[1].Tags);
    }

    [Fact]
    public void Conll_malformed_rows_name_file_and_line_or_are_skipped()
    {
        var noTag = _dir.File("b.conll", "Paris B-LOC\nwas\n\nthe O\n");
        Assert.Contains($"{noTag}:2", Assert.Throws<DistilException>(() => TaggedSentences.Read(noTag, TagScheme.Bio)).Message);
        var broken = _dir.File("c.conll", "a O\n\nParis O\nCity I-LOC\n\nthe O\n");
        Assert.Contains($"{broken}:4", Assert.Throws<DistilException>(() => TaggedSentences.Read(broken, TagScheme.Bio)).Message);
        var unknown = _dir.File("d.conll", "Paris B-LOC\n\nRome B-CITY\n");
        Assert.Contains($"{unknown}:3", Assert.Throws<DistilException>(() => TaggedSentences.Read(unknown, TagScheme.Bio, ["O", "B-LOC", "I-LOC"])).Message);
        var iobes = _dir.File("e.conll", "Paris B-LOC\n\nRome S-LOC\n");
        Assert.Contains($"{iobes}:1", Assert.Throws<DistilException>(() => TaggedSentences.Read(iobes, TagScheme.Iobes)).Message); // B- never closed

        var all = _dir.File("f.conll", "a O\n\nParis O\nCity I-LOC\n\nb\n\nRome S-LOC\n\nc O\n");
        var f = TaggedSentences.Read(all, TagScheme.Bio, skipBadRows: true);
        Assert.Equal(2, f.Sentences.Count);
        Assert.Equal(3, f.Skipped);
        Assert.StartsWith($"{all}:4", f.SkipReasons[0]);
    }

    [Fact]
    public void Jsonl_tokens_and_tags()
    {
        var path = _dir.File("a.jsonl", "{\"tokens\": [\"Paris\", \"is\"], \"tags\": [\"B-LOC\", \"O\"]}\n{\"tokens\": [\"x\"], \"tags\": [\"O\", \"O\"]}\n");
        Assert.Contains($"{path}:2", Assert.Throws<DistilException>(() => TaggedSentences.Read(path, TagScheme.Bio)).Message);
        var f = TaggedSentences.Read(path, TagScheme.Bio, skipBadRows: true);
        Assert.Equal(["B-LOC", "O"], Assert.Single(f.Sentences).Tags);
    }

    [Fact]
    public void Head_is_a_linear_map_of_each_token_state_with_hf_names()
    {
        manual_seed(3);
        var config = new BertConfig { VocabSize = 15, HiddenSize = 8, NumHiddenLayers = 1, NumAttentionHeads = 2, IntermediateSize = 16, MaxPositionEmbeddings = 16 }
            .WithLabels(["O", "B-X", "I-X"]);
        using var model = new BertForTokenClassification(config);
        model.eval();
        var keys = model.state_dict().Keys;
        Assert.Contains("classifier.weight", keys);
        Assert.Contains("bert.encoder.layer.0.attention.self.query.weight", keys);
        Assert.Equal(new long[] { 3, 8 }, model.state_dict()["classifier.weight"].shape);
        using var ids = tensor(new long[] { 2, 5, 9, 3, 2, 14, 3, 0 }).view(2, 4);
        using var mask = tensor(new long[] { 1, 1, 1, 1, 1, 1, 1, 0 }).view(2, 4);
        using var _ = no_grad();
        var inputs = new BertInputs(ids, mask);
        var logits = model.forward(inputs).Logits;
        Assert.Equal(new long[] { 2, 4, 3 }, logits.shape);
        var hidden = model.bert.forward(inputs).LastHiddenState;
        var manual = hidden.matmul(model.classifier.weight!.t()) + model.classifier.bias!;
        Assert.True(allclose(logits, manual, 1e-5, 1e-6));
    }

    [Fact]
    public void Loss_ignores_minus_100_by_hand()
    {
        // token 0: logits (0, ln 3), label 0 -> -log(1/4) = ln 4; token 1 ignored whatever its logits.
        using var logits = tensor(new float[] { 0, MathF.Log(3), 50, -50 }).view(1, 2, 2);
        using var labels = tensor(new long[] { 0, -100 }).view(1, 2);
        using var loss = BertForTokenClassification.Loss(logits, labels);
        Assert.Equal(Math.Log(4), loss.item<float>(), 5);
    }

    [Fact]
    public void Token_kd_is_the_mean_kl_over_kept_tokens_by_hand()
    {
        // kept token 0: teacher (ln 3, 0) -> (3/4, 1/4), student (0, 0) -> (1/2, 1/2): KL = 3/4 ln(3/2) + 1/4 ln(1/2).
        // kept token 1: equal logits, KL 0. Token 2 is masked out: its huge difference must not count.
        using var student = tensor(new float[] { 0, 0, 1, 2, 40, -40 }).view(1, 3, 2);
        using var teacher = tensor(new float[] { MathF.Log(3), 0, 1, 2, -40, 40 }).view(1, 3, 2);
        using var mask = tensor(new long[] { 1, 1, 0 }).view(1, 3);
        using var kd = KdLosses.TokenKlDivergence(student, teacher, mask, temperature: 1);
        double expected = (0.75 * Math.Log(1.5) + 0.25 * Math.Log(0.5)) / 2;
        Assert.Equal(expected, kd.item<float>(), 5);
        // T = 2 on token 0 alone: teacher (ln 3 / 2, 0) -> (√3, 1)/(√3 + 1), student uniform.
        using var mask0 = tensor(new long[] { 1, 0, 0 }).view(1, 3);
        using var kd2 = KdLosses.TokenKlDivergence(student, teacher, mask0, temperature: 2);
        double p = Math.Sqrt(3) / (Math.Sqrt(3) + 1), q = 1 - p;
        Assert.Equal(p * Math.Log(2 * p) + q * Math.Log(2 * q), kd2.item<float>(), 5);
    }
}
