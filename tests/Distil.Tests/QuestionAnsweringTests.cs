using System.Text.Json;
using Distil.Checkpoints;
using Distil.Data;
using Distil.Models;
using Distil.Text;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Distil.Tests;

/// <summary>Extractive QA: the SQuAD reader, doc-stride windows and their mapping back to characters (hand-made
/// contexts), the post-processing by hand, the heads' loss by hand and BERT's against the torch reference.</summary>
public class QuestionAnsweringTests : IDisposable
{
    static readonly string[] Vocab =
    {
        "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",                 // 0-4
        "what", "is", "?", "one", "two", "three", "four", "five",      // 5-12
        "six", "seven", "eight", "nine", "ten", "the", "movie",        // 13-19
        "un", "##believ", "##able",                                    // 20-22
    };

    // Word offsets: one 0-3, two 4-7, three 8-13, four 14-18, five 19-23, six 24-27, seven 28-33, eight 34-39, nine 40-44, ten 45-48.
    const string Ten = "one two three four five six seven eight nine ten";
    const string Question = "what is?"; // what, is, ? : windows are [CLS] what is ? [SEP] context... [SEP], context from position 5
    static readonly QaWindowing Narrow = new(MaxSeqLen: 10, DocStride: 2); // 4 context tokens per window, a new window every 2

    readonly TempDir _dir = new("qa");
    readonly BertTextTokenizer _tok;

    public QuestionAnsweringTests()
    {
        _dir.File("vocab.txt", string.Join("\n", Vocab) + "\n");
        _tok = BertTextTokenizer.FromFolder(_dir.Path);
    }

    public void Dispose() => _dir.Dispose();

    static string Squad(string qas, string context = Ten) =>
        $$"""{"version": "1.1", "data": [{"title": "T", "paragraphs": [{"context": {{JsonSerializer.Serialize(context)}}, "qas": [{{qas}}]}]}]}""";

    [Fact]
    public void Squad_v1_and_v2_read_answers_and_impossible_questions()
    {
        var v1 = SquadReader.Read(_dir.File("v1.json", Squad("""
            {"id": "q1", "question": "which?", "answers": [{"text": "four five", "answer_start": 14}, {"text": "five", "answer_start": 19}]}
            """)));
        var q = Assert.Single(v1.Questions);
        Assert.Equal(("q1", "which?", Ten, "T"), (q.Id, q.Question, q.Context, q.Title));
        Assert.Equal([new SquadAnswer("four five", 14), new SquadAnswer("five", 19)], q.Answers);
        Assert.Equal(23, q.Answers[0].End);
        Assert.False(v1.HasImpossible);

        var v2 = SquadReader.Read(_dir.File("v2.json", Squad("""
            {"id": "a", "question": "x?", "answers": [{"text": "ten", "answer_start": 45}], "is_impossible": false},
            {"id": "b", "question": "y?", "answers": [], "is_impossible": true, "plausible_answers": [{"text": "nine", "answer_start": 40}]}
            """)));
        Assert.True(v2.HasImpossible);
        Assert.Empty(v2.Questions[1].Answers);
        Assert.Equal([new SquadAnswer("nine", 40)], v2.Questions[1].PlausibleAnswers);
    }

    [Theory]
    [InlineData("""{"id": "bad1", "question": "q?", "answers": [{"text": "four", "answer_start": 15}]}""", "bad1", "is not at answer_start 15")]
    [InlineData("""{"id": "bad2", "question": "q?", "answers": [{"text": "ten!", "answer_start": 45}]}""", "bad2", "runs past the context")]
    [InlineData("""{"id": "bad3", "question": "q?"}""", "bad3", "no \"answers\"")]
    [InlineData("""{"id": "bad4", "answers": [{"text": "ten", "answer_start": 45}]}""", "bad4", "no \"question\"")]
    [InlineData("""{"id": "bad5", "question": "q?", "answers": []}""", "bad5", "not marked is_impossible")]
    [InlineData("""{"question": "q?", "answers": [{"text": "ten", "answer_start": 45}]}""", "qas[1]", "no \"id\"")]
    public void Malformed_questions_name_their_id_or_are_skipped_and_counted(string bad, string name, string what)
    {
        string good = """{"id": "ok", "question": "q?", "answers": [{"text": "ten", "answer_start": 45}]}""";
        string path = _dir.File("bad.json", Squad(good + ",\n" + bad));
        var e = Assert.Throws<DistilException>(() => SquadReader.Read(path));
        Assert.Contains(name, e.Message);
        Assert.Contains(what, e.Message);
        Assert.Contains("--skip-bad-rows", e.Message);
        var skipped = SquadReader.Read(path, skipBadRows: true);
        Assert.Equal("ok", Assert.Single(skipped.Questions).Id);
        Assert.Equal(1, skipped.Skipped);
        Assert.Contains(name, Assert.Single(skipped.SkipReasons));
    }

    [Fact]
    public void Duplicate_ids_and_files_without_data_are_errors()
    {
        string q = """{"id": "same", "question": "q?", "answers": [{"text": "ten", "answer_start": 45}]}""";
        Assert.Contains("'same': the id is used twice", Assert.Throws<DistilException>(() => SquadReader.Read(_dir.File("dup.json", Squad(q + "," + q)))).Message);
        Assert.Contains("no \"data\" array", Assert.Throws<DistilException>(() => SquadReader.Read(_dir.File("nodata.json", "{\"version\": \"1.1\"}"))).Message);
    }

    [Fact]
    public void Doc_stride_windows_overlap_by_the_stride_and_cover_the_context()
    {
        var f = QaFeatures.Build(_tok, Question, Ten, new SquadAnswer("four five", 14), 0, Narrow);
        // 10 context tokens, 4 per window, windows start at context tokens 0, 2, 4, 6 (the last reaches the end).
        Assert.Equal(4, f.Count);
        Assert.Equal(new long[] { 2, 5, 6, 7, 3, 10, 11, 12, 13, 3 }, f[1].InputIds); // [CLS] what is ? [SEP] three four five six [SEP]
        Assert.Equal(new long[] { 0, 0, 0, 0, 0, 1, 1, 1, 1, 1 }, f[1].TokenTypeIds);
        Assert.Equal([(-1, -1), (-1, -1), (-1, -1), (-1, -1), (-1, -1), (8, 13), (14, 18), (19, 23), (24, 27), (-1, -1)], f[1].Offsets);
        Assert.Equal(new long[] { 2, 5, 6, 7, 3, 14, 15, 16, 17, 3 }, f[3].InputIds); // seven eight nine ten
        // "four five" (context tokens 3-4) is whole only in window 1 (tokens 2-5); window 0 ends inside it, window 2 starts after "four".
        Assert.Equal([(0, 0), (6, 7), (0, 0), (0, 0)], f.Select(x => (x.StartPosition, x.EndPosition)));
        // No answer (SQuAD 2.0 impossible): CLS everywhere. A short context: one window, nothing to overlap.
        Assert.All(QaFeatures.Build(_tok, Question, Ten, null, 0, Narrow), x => Assert.Equal((0, 0), (x.StartPosition, x.EndPosition)));
        Assert.Single(QaFeatures.Build(_tok, Question, "one two", null, 0, Narrow));
    }

    [Fact]
    public void The_answer_at_the_very_end_stays_inside_the_context()
    {
        // "ten" is the last token of the last window (position 8, [SEP] at 9). run_qa.py's start walk would step onto [SEP] here.
        var f = QaFeatures.Build(_tok, Question, Ten, new SquadAnswer("ten", 45), 0, Narrow);
        Assert.Equal((8, 8), (f[^1].StartPosition, f[^1].EndPosition));
        Assert.Equal([(0, 0), (0, 0), (0, 0)], f.Take(3).Select(x => (x.StartPosition, x.EndPosition)));
        // "one" at the very start: window 0 only.
        var g = QaFeatures.Build(_tok, Question, Ten, new SquadAnswer("one", 0), 0, Narrow);
        Assert.Equal([(5, 5), (0, 0), (0, 0), (0, 0)], g.Select(x => (x.StartPosition, x.EndPosition)));
    }

    [Fact]
    public void Answers_inside_sub_words_map_to_the_pieces_that_hold_them()
    {
        const string context = "the unbelievable movie"; // the 0-3, un 4-6, ##believ 6-12, ##able 12-16, movie 17-22
        var wide = new QaWindowing(32, 8);
        (int, int) Positions(string text, int start) { var f = Assert.Single(QaFeatures.Build(_tok, Question, context, new SquadAnswer(text, start), 0, wide)); return (f.StartPosition, f.EndPosition); }
        Assert.Equal((7, 8), Positions("believable", 6));
        Assert.Equal((6, 8), Positions("unbelievable", 4));
        Assert.Equal((7, 7), Positions("elie", 7)); // starts and ends inside ##believ
        Assert.Equal((8, 9), Positions("able movie", 12));
        // Mapped back: a span is always whole pieces, so "elie" comes back as its piece "believ".
        var one = Assert.Single(QaFeatures.Build(_tok, Question, context, new SquadAnswer("elie", 7), 0, wide));
        var answer = QaPostProcessing.Answer(context, [OneHot(one)], new QaDecoding());
        Assert.Equal(("believ", 6, 12), (answer.Text, answer.Start, answer.End));
    }

    /// <summary>Logits that point at a window's gold start/end (10 there, 0 elsewhere).</summary>
    static QaWindowLogits OneHot(QaFeature f)
    {
        var s = new float[f.Length];
        var e = new float[f.Length];
        s[f.StartPosition] = 10;
        e[f.EndPosition] = 10;
        return new QaWindowLogits(f, s, e);
    }

    [Theory]
    [InlineData("four five", 14)]
    [InlineData("ten", 45)]
    [InlineData("one two three", 0)]
    [InlineData("six seven eight", 24)]
    [InlineData("seven", 28)]
    public void Gold_positions_of_every_window_decode_back_to_the_answers_characters(string text, int start)
    {
        var features = QaFeatures.Build(_tok, Question, Ten, new SquadAnswer(text, start), 0, Narrow);
        Assert.Contains(features, f => f.StartPosition != f.ClsIndex);
        var answer = QaPostProcessing.Answer(Ten, features.Select(OneHot).ToList(), new QaDecoding());
        Assert.Equal((text, start, start + text.Length), (answer.Text, answer.Start, answer.End));
        Assert.Equal(20, answer.Score);
    }

    static float[] Logits(int length, params (int Position, float Value)[] set)
    {
        var v = new float[length];
        foreach (var (p, x) in set) v[p] = x;
        return v;
    }

    List<QaWindowLogits> HandLogits(float cls0 = 0, float cls = 0)
    {
        var f = QaFeatures.Build(_tok, Question, Ten, null, 0, Narrow);
        return
        [
            new(f[0], Logits(10, (0, cls0)), Logits(10, (0, cls0))),
            // window 1 (three four five six at 5-8): "four five" scores 5 + 4 = 9.
            new(f[1], Logits(10, (0, cls), (6, 5)), Logits(10, (0, cls), (7, 4))),
            // window 2 (five six seven eight): start at "seven" and end at "six" score 16 but end before start.
            new(f[2], Logits(10, (0, cls), (7, 8)), Logits(10, (0, cls), (6, 8))),
            // window 3 (seven eight nine ten): "seven .. ten" scores 3 + 4 = 7 but is 4 tokens long.
            new(f[3], Logits(10, (0, cls), (5, 3)), Logits(10, (0, cls), (8, 4))),
        ];
    }

    [Fact]
    public void Post_processing_takes_the_best_valid_span_over_all_windows()
    {
        var d = new QaDecoding(MaxAnswerLength: 3);
        var a = QaPostProcessing.Answer(Ten, HandLogits(), d);
        Assert.Equal(("four five", 14, 23, 9.0), (a.Text, a.Start, a.End, a.Score));
        // With room for 4 tokens "seven eight nine ten" (7) still loses to "four five" (9); the reversed pair never counts.
        var longer = QaPostProcessing.Answer(Ten, HandLogits(), d with { MaxAnswerLength = 4 });
        Assert.Equal("four five", longer.Text);
        // Only one start and one end per window (n-best 1): window 1's pair is still found.
        Assert.Equal("four five", QaPostProcessing.Answer(Ten, HandLogits(), d with { NBest = 1 }).Text);
    }

    [Fact]
    public void Squad2_null_answer_wins_when_its_lowest_score_beats_the_best_span_by_more_than_the_threshold()
    {
        var d = new QaDecoding(MaxAnswerLength: 3, AllowNoAnswer: true);
        // CLS scores 6 + 6 = 12 in every window: null 12 - span 9 = 3 > 0, so no answer.
        var none = QaPostProcessing.Answer(Ten, HandLogits(cls0: 6, cls: 6), d);
        Assert.True(none.IsNull);
        Assert.Equal(("", 12.0, 12.0), (none.Text, none.Score, none.NullScore));
        // Threshold 3.5: 3 is not above it, so the span is answered.
        Assert.Equal("four five", QaPostProcessing.Answer(Ten, HandLogits(cls0: 6, cls: 6), d with { NullThreshold = 3.5 }).Text);
        // The null score is the LOWEST over windows: window 0's CLS at 1 + 1 = 2 makes the span win (2 - 9 < 0).
        var span = QaPostProcessing.Answer(Ten, HandLogits(cls0: 1, cls: 6), d);
        Assert.Equal(("four five", 2.0), (span.Text, span.NullScore));
        // n-best 1 with null 4 below the span's 9: only the span survives the cut; the null candidate is put back (as
        // utils_qa.py) and, with threshold -6, still decides (4 - 9 = -5 > -6).
        Assert.True(QaPostProcessing.Answer(Ten, HandLogits(cls0: 2, cls: 2), d with { NBest = 1, NullThreshold = -6 }).IsNull);
        Assert.Equal("four five", QaPostProcessing.Answer(Ten, HandLogits(cls0: 2, cls: 2), d with { NBest = 1, NullThreshold = -4 }).Text);
    }

    [Fact]
    public void Probability_is_the_softmax_share_among_the_n_best()
    {
        // One window, n-best 2: starts {the(5)=2, un(6)=1}, ends {un(6)=1, ##believ(7)=0.5} in context "the unbelievable movie".
        var f = Assert.Single(QaFeatures.Build(_tok, Question, "the unbelievable movie", null, 0, new QaWindowing(32, 8)));
        var s = Logits(f.Length, (5, 2), (6, 1));
        var e = Logits(f.Length, (6, 1), (7, 0.5f));
        var a = QaPostProcessing.Answer("the unbelievable movie", [new(f, s, e)], new QaDecoding(NBest: 2));
        // Candidates: the..un 3, the..##believ 2.5, un..un 2, un..##believ 1.5; the best two are kept.
        Assert.Equal(("the un", 3.0), (a.Text, a.Score));
        Assert.Equal(1 / (1 + Math.Exp(-0.5)), a.Probability, 1e-12);
    }

    [Fact]
    public void Split_metrics_follow_the_official_scripts_with_has_and_no_answer_parts()
    {
        var questions = new List<SquadQuestion>
        {
            new("a", "q?", Ten, [new SquadAnswer("four five", 14)], false, [], ""),
            new("b", "q?", Ten, [new SquadAnswer("ten", 45)], false, [], ""),
            new("c", "q?", Ten, [], true, [], ""),
        };
        QaAnswer A(string text) => new(text, 0, text.Length, 0, 1, 0);
        // a: exact; b: "nine ten" vs "ten" = F1 2/3; c: impossible and answered "" (right).
        var m = Distil.Training.QuestionAnswering.Metrics(questions, [A("four five"), A("nine ten"), A("")], v2: true);
        Assert.Equal(100.0 * 2 / 3, m["exact"], 9);
        Assert.Equal(100.0 * (1 + 2.0 / 3 + 1) / 3, m["f1"], 9);
        Assert.Equal((50.0, 100.0 * (1 + 2.0 / 3) / 2), (m["HasAns_exact"], m["HasAns_f1"]));
        Assert.Equal((100.0, 100.0), (m["NoAns_exact"], m["NoAns_f1"]));
        Assert.Equal(3, m["questions"]);
        // SQuAD 1.1 scoring of the answerable two: no HasAns/NoAns parts.
        var v1 = Distil.Training.QuestionAnswering.Metrics(questions.Take(2).ToList(), [A("four five"), A("nine ten")], v2: false);
        Assert.Equal((50.0, 100.0 * (1 + 2.0 / 3) / 2), (v1["exact"], v1["f1"]));
        Assert.False(v1.ContainsKey("HasAns_exact"));
    }

    [Fact]
    public void A_question_that_leaves_no_room_beyond_the_stride_is_a_usage_error()
    {
        var e = Assert.Throws<DistilException>(() => QaFeatures.Build(_tok, Question, Ten, null, 0, new QaWindowing(10, 4), "q7"));
        Assert.Contains("question 'q7'", e.Message);
        Assert.Contains("--doc-stride 4", e.Message);
    }

    [Fact]
    public void Loss_is_the_mean_of_start_and_end_cross_entropy_with_out_of_range_positions_ignored()
    {
        using var s = tensor(new float[,] { { 1, 2, 3, 4 }, { 0, 0, 0, 0 } });
        using var e = tensor(new float[,] { { 0, 0, 0, 0 }, { 4, 3, 2, 1 } });
        // Row 1's start 9 clamps to T = 4, the ignore index: the start CE averages over row 0 only.
        using var loss = EncoderQuestionAnswering.Loss(s, e, tensor(new long[] { 3, 9 }), tensor(new long[] { 1, 0 }));
        double lse(params double[] v) => Math.Log(v.Sum(Math.Exp));
        double start = lse(1, 2, 3, 4) - 4;
        double end = ((lse(0, 0, 0, 0) - 0) + (lse(4, 3, 2, 1) - 4)) / 2;
        Assert.Equal((start + end) / 2, loss.item<float>(), 5);
    }

    [Fact]
    public void Span_kd_compares_start_and_end_distributions_over_real_tokens_only()
    {
        // Position 2 is padding: its logits (99 / -99) must not count. Teacher start p = (1/4, 3/4), student q = (1/2, 1/2);
        // the end distributions agree (KL 0), so the loss is half the start KL.
        using var ts = tensor(new float[,] { { 0, (float)Math.Log(3), 99 } });
        using var ss = tensor(new float[,] { { 0, 0, -99 } });
        using var te = tensor(new float[,] { { 1, 1, -5 } });
        using var se = tensor(new float[,] { { 2, 2, 40 } });
        using var mask = tensor(new long[,] { { 1, 1, 0 } });
        using var kl = Distil.Distillation.QaKd.SpanKd(ss, se, ts, te, mask, 1, "kl");
        Assert.Equal((0.25 * Math.Log(0.25 / 0.5) + 0.75 * Math.Log(0.75 / 0.5)) / 2, kl.item<float>(), 5);
        // Soft CE against a uniform student is ln 2 for any teacher over two real tokens, start and end alike.
        using var ce = Distil.Distillation.QaKd.SpanKd(ss, se, ts, te, mask, 1, "soft_ce");
        Assert.Equal(Math.Log(2), ce.item<float>(), 5);
        // T = 2 softens the teacher: p = (1, √3) / (1 + √3).
        using var kl2 = Distil.Distillation.QaKd.SpanKd(ss, se, ts, te, mask, 2, "kl");
        double p0 = 1 / (1 + Math.Sqrt(3)), p1 = 1 - p0;
        Assert.Equal((p0 * Math.Log(p0 / 0.5) + p1 * Math.Log(p1 / 0.5)) / 2, kl2.item<float>(), 5);
    }

    static BertConfig TinyBert() => new() { VocabSize = 40, HiddenSize = 16, NumHiddenLayers = 2, NumAttentionHeads = 2, IntermediateSize = 24, MaxPositionEmbeddings = 32 };

    static T Randomised<T>(T model, int seed) where T : nn.Module
    {
        manual_seed(seed);
        using (no_grad())
            foreach (var (_, p) in model.named_parameters()) p.add_(randn_like(p) * 0.3);
        model.eval();
        return model;
    }

    [Fact]
    public void Bert_qa_head_and_loss_match_the_transformers_semantics_reference()
    {
        using var model = Randomised(new BertForQuestionAnswering(TinyBert()), seed: 5);
        string dir = Path.Combine(_dir.Path, "bert-qa");
        QaFolder.Save(dir, model, _dir.Path);
        long[,] ids = { { 2, 5, 6, 7, 3, 14, 15, 16, 3 }, { 2, 5, 7, 3, 11, 12, 3, 0, 0 } };
        long[,] mask = { { 1, 1, 1, 1, 1, 1, 1, 1, 1 }, { 1, 1, 1, 1, 1, 1, 1, 0, 0 } };
        long[,] types = { { 0, 0, 0, 0, 0, 1, 1, 1, 1 }, { 0, 0, 0, 0, 1, 1, 1, 0, 0 } };
        long[] starts = { 5, 4 }, ends = { 7, 40 }; // 40 is past the input: clamped to T and ignored
        using var _ = no_grad();
        var ours = model.forward(new BertInputs(tensor(ids), tensor(mask), tensor(types)));
        using var loss = EncoderQuestionAnswering.Loss(ours.StartLogits, ours.EndLogits, tensor(starts), tensor(ends));

        string inputs = _dir.File("qa-inputs.json", JsonSerializer.Serialize(new
        {
            input_ids = Rows(ids), attention_mask = Rows(mask), token_type_ids = Rows(types), start_positions = starts, end_positions = ends,
        }));
        string outPath = Path.Combine(_dir.Path, "qa-out.json");
        PythonReference.Run("bert_qa.py", dir, inputs, outPath);
        using var doc = JsonDocument.Parse(File.ReadAllText(outPath));
        float[] refStart = doc.RootElement.GetProperty("start_logits").EnumerateArray().SelectMany(r => r.EnumerateArray().Select(x => x.GetSingle())).ToArray();
        float[] refEnd = doc.RootElement.GetProperty("end_logits").EnumerateArray().SelectMany(r => r.EnumerateArray().Select(x => x.GetSingle())).ToArray();
        float[] start = ours.StartLogits.data<float>().ToArray(), end = ours.EndLogits.data<float>().ToArray();
        Assert.Equal(18, refStart.Length);
        Assert.True(start.Zip(refStart, (a, b) => Math.Abs(a - b)).Max() <= 1e-4, "start logits differ");
        Assert.True(end.Zip(refEnd, (a, b) => Math.Abs(a - b)).Max() <= 1e-4, "end logits differ");
        Assert.Equal(doc.RootElement.GetProperty("loss").GetDouble(), loss.item<float>(), 4);
        Assert.True(start.Max() - start.Min() > 0.1, "the random model's logits should differ between positions");
    }

    static long[][] Rows(long[,] a) => Enumerable.Range(0, a.GetLength(0)).Select(i => Enumerable.Range(0, a.GetLength(1)).Select(j => a[i, j]).ToArray()).ToArray();

    public static TheoryData<string> Families => new() { "bert", "roberta", "distilbert", "electra", "deberta-v2" };

    static EncoderQuestionAnswering Build(string family) => family switch
    {
        "bert" => new BertForQuestionAnswering(TinyBert()),
        "roberta" => new RobertaForQuestionAnswering(TinyFamilies.Roberta()),
        "distilbert" => new DistilBertForQuestionAnswering(TinyFamilies.DistilBert()),
        "electra" => new ElectraForQuestionAnswering(TinyFamilies.Electra()),
        _ => new DebertaV2ForQuestionAnswering(new DebertaV2Config
        {
            VocabSize = 40, HiddenSize = 16, NumHiddenLayers = 2, NumAttentionHeads = 4, IntermediateSize = 24, MaxPositionEmbeddings = 32,
            RelativeAttention = true, PositionBuckets = 8, PosAttType = ["p2c", "c2p"], ShareAttKey = true, NormRelEbd = "layer_norm", PositionBiasedInput = false,
        }),
    };

    [Theory]
    [MemberData(nameof(Families))]
    public void Every_family_saves_hf_keys_and_reloads_to_identical_logits(string family)
    {
        using var model = Randomised(Build(family), seed: 3);
        string dir = Path.Combine(_dir.Path, family);
        QaFolder.Save(dir, model, _dir.Path);
        var keys = SafeTensors.Read(Path.Combine(dir, ModelFolder.WeightsFile)).Keys.ToList();
        Assert.Contains("qa_outputs.weight", keys);
        Assert.Contains("qa_outputs.bias", keys);
        Assert.All(keys.Where(k => !k.StartsWith("qa_outputs.", StringComparison.Ordinal)), k => Assert.StartsWith(model.BasePrefix + ".", k));
        var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, ModelFolder.ConfigFile))).RootElement;
        Assert.EndsWith("ForQuestionAnswering", config.GetProperty("architectures")[0].GetString());

        var batch = TinyFamilies.PaddedBatch(model.Shape.PadTokenId);
        using var _ = no_grad();
        var ours = model.forward(batch);
        Assert.Equal(new long[] { 3, 7 }, ours.StartLogits.shape);
        var (reloaded, report) = QaFolder.Load(dir);
        using (reloaded)
        {
            reloaded.eval();
            Assert.Equal(model.GetType(), reloaded.GetType());
            Assert.Empty(report.Missing);
            var again = reloaded.forward(batch);
            Assert.Equal(ours.StartLogits.data<float>().ToArray(), again.StartLogits.data<float>().ToArray());
            Assert.Equal(ours.EndLogits.data<float>().ToArray(), again.EndLogits.data<float>().ToArray());
        }
    }
}

/// <summary>data/wordnet-qa reads as its README describes.</summary>
public class WordnetQaDataTests
{
    static string Split(string name)
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d != null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "Distil.sln"))) return Path.Combine(d.FullName, "data", "wordnet-qa", name + ".json");
        throw new InvalidOperationException($"no Distil.sln above {AppContext.BaseDirectory}");
    }

    [Fact]
    public void Every_answer_start_points_at_its_text_and_no_lemma_is_in_two_splits()
    {
        var lemmas = new Dictionary<string, HashSet<string>>();
        foreach (var (name, count) in new[] { ("train", 3000), ("dev", 300), ("test", 300) })
        {
            var file = SquadReader.Read(Split(name)); // strict: any answer not at its offset is an error
            Assert.Equal(count, file.Questions.Count);
            Assert.Equal(0, file.Skipped);
            foreach (var q in file.Questions)
            {
                var a = Assert.Single(q.Answers);
                Assert.Equal(a.Text, q.Context.Substring(a.Start, a.Text.Length));
                // The span is unique: the answer word occurs once in its context.
                Assert.Single(System.Text.RegularExpressions.Regex.Matches(q.Context, $@"(?<![\w-]){System.Text.RegularExpressions.Regex.Escape(a.Text)}(?![\w-])",
                    System.Text.RegularExpressions.RegexOptions.IgnoreCase));
            }
            lemmas[name] = file.Questions.Select(q => q.Title.ToLowerInvariant()).ToHashSet();
        }
        Assert.Empty(lemmas["train"].Intersect(lemmas["dev"]));
        Assert.Empty(lemmas["train"].Intersect(lemmas["test"]));
        Assert.Empty(lemmas["dev"].Intersect(lemmas["test"]));
    }
}
