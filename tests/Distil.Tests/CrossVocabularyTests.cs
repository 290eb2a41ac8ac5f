using System.Text.Json;
using System.Text.Json.Nodes;
using Distil.Checkpoints;
using Distil.Cli;
using Distil.Labels;
using Distil.Models;
using Distil.Text;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Distil.Tests;

/// <summary>
/// A RoBERTa teacher with its own byte-level BPE tokenizer (vocab.json + merges.txt) distilled into a BERT student with
/// a WordPiece vocab.txt: each side tokenises the text itself. Logit and [CLS] (sentence-level) matches train; a match
/// of token positions (hidden states, attention maps, MiniLM relations) is refused before training, naming the match.
/// </summary>
public sealed class CrossVocabularyTests : IDisposable
{
    readonly TempDir tmp = new("cross-vocab");
    public void Dispose() => tmp.Dispose();

    /// <summary>A byte-level BPE vocabulary: the specials, every printable ASCII byte and Ġ (the space byte), and merges for a few words.</summary>
    static (Dictionary<string, int> Vocab, string[] Merges) Bpe()
    {
        var vocab = new Dictionary<string, int> { ["<s>"] = 0, ["<pad>"] = 1, ["</s>"] = 2, ["<unk>"] = 3, ["<mask>"] = 4 };
        foreach (char ch in Enumerable.Range(33, 94).Select(i => (char)i).Append('\u0120')) vocab[ch.ToString()] = vocab.Count;
        string[] merges = ["\u0120 t", "h e", "\u0120t he", "\u0120 w", "a s", "\u0120w as", "o o", "\u0120 g", "r e", "\u0120g re"];
        foreach (var m in merges) vocab[m.Replace(" ", "")] = vocab.Count;
        return (vocab, merges);
    }

    /// <summary>A fine-tuned RoBERTa teacher folder ("0"/"1") whose tokenizer is vocab.json + merges.txt only.</summary>
    string Teacher()
    {
        string dir = Path.Combine(tmp.Path, "teacher");
        var (vocab, merges) = Bpe();
        torch.manual_seed(3);
        var c = TinyFamilies.Roberta() with { VocabSize = vocab.Count, MaxPositionEmbeddings = 64, Id2Label = null, Label2Id = null };
        using var model = TinyFamilies.Randomised(new RobertaForSequenceClassification(c.WithLabels(["0", "1"])), 5);
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "config.json"), EncoderFamilies.ConfigJson(model));
        SafeTensors.Write(Path.Combine(dir, "model.safetensors"), model.state_dict());
        File.WriteAllText(Path.Combine(dir, "vocab.json"), JsonSerializer.Serialize(vocab));
        File.WriteAllLines(Path.Combine(dir, "merges.txt"), merges.Prepend("#version: 0.2"));
        return dir;
    }

    string StudentTokenizer()
    {
        string dir = Path.Combine(tmp.Path, "bert-tok");
        Directory.CreateDirectory(dir);
        File.WriteAllLines(Path.Combine(dir, "vocab.txt"), new[] { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", "!", "," }.Concat(TinyBert.Words));
        File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), """{"do_lower_case": true}""");
        return dir;
    }

    static List<double> TrainLosses(string run) => File.ReadAllLines(Path.Combine(run, "metrics.jsonl")).Select(l => JsonNode.Parse(l)!)
        .Where(n => n["type"]!.GetValue<string>() == "train").Select(n => n["loss"]!.GetValue<double>()).ToList();

    [Fact]
    public void A_roberta_teacher_distils_into_a_bert_vocabulary_student_each_side_tokenising_itself()
    {
        string teacher = Teacher(), studentTok = StudentTokenizer();
        string train = FamilyFineTuneTests.Data("train.tsv", 32, 1), dev = FamilyFineTuneTests.Data("dev.tsv", 8, 2);
        string config = tmp.File("log.json", """{"log_every_steps": 1}""");
        string run = Path.Combine(tmp.Path, "kd");
        var (code, output) = CliCapture.Run("distill", "--config", config, "--teacher", teacher, "--student-tokenizer", studentTok, "--student", "L1-H16-A2-I32",
            "--preset", "kd", "--alpha", "0", "--train", train, "--dev", dev, "--out", run, "--epochs", "10", "--batch-size", "8", "--lr", "1e-2",
            "--max-seq-len", "48", "--threads", "1");
        Assert.True(code == ExitCodes.Ok, output);

        // The student is a BERT over the WordPiece vocabulary, saved with that tokenizer.
        string best = Path.Combine(run, "best");
        using (var student = ModelFolder.LoadEncoderClassifier(best))
        {
            var bert = Assert.IsType<BertForSequenceClassification>(student);
            Assert.Equal(File.ReadAllLines(Path.Combine(studentTok, "vocab.txt")).Length, bert.Config.VocabSize);
        }
        Assert.Equal(File.ReadAllBytes(Path.Combine(studentTok, "vocab.txt")), File.ReadAllBytes(Path.Combine(best, "vocab.txt")));
        Assert.False(File.Exists(Path.Combine(best, "vocab.json")));

        // The teacher's logits (the soft targets) are those of the teacher on ITS OWN byte-level BPE tokens of each row.
        // They come from the run's label store (one per teacher, next to the data), read back by text.
        string storeDir = Directory.GetDirectories(Path.Combine(Path.GetDirectoryName(train)!, ".distil-cache"), "labels-*").Single();
        var stored = LabelStore.Open(storeDir).Rows().ToDictionary(r => r.Row.Text, r => r.Logits);
        var bpe = TokenizerFolder.Load(teacher);
        Assert.IsType<ByteLevelBpeTokenizer>(bpe);
        using var t = ModelFolder.LoadEncoderClassifier(teacher);
        t.eval();
        var texts = File.ReadLines(train).Skip(1).Select(l => l.Split('\t')[0]).ToList();
        double maxDiff = 0;
        using (no_grad())
            for (int i = 0; i < texts.Count; i++)
            {
                var ids = bpe.Encode(texts[i], null, 48).InputIds;
                Assert.Equal(0, ids[0]); // <s>
                Assert.True(ids.Length > texts[i].Split(' ').Length + 2, "BPE splits the words into more pieces than WordPiece's whole words");
                using var logits = t.forward(new BertInputs(tensor(ids).view(1, -1), ones(1, ids.Length, dtype: int64))).Logits;
                maxDiff = Math.Max(maxDiff, (logits[0] - tensor(stored[texts[i]])).abs().max().item<float>());
            }
        Assert.True(maxDiff <= 1e-5, $"cached teacher logits differ from the teacher on its own tokens by {maxDiff}");

        // The student learned from those targets: the soft cross-entropy falls.
        var losses = TrainLosses(run);
        Assert.True(losses.TakeLast(3).Average() < losses.Take(3).Average(), $"KD loss {losses.Take(3).Average():G4} -> {losses.TakeLast(3).Average():G4}");
    }

    [Fact]
    public void Cls_matches_are_sentence_level_and_work_across_vocabularies()
    {
        string teacher = Teacher(), studentTok = StudentTokenizer();
        string train = FamilyFineTuneTests.Data("train.tsv", 24, 3), dev = FamilyFineTuneTests.Data("dev.tsv", 8, 4);
        string run = Path.Combine(tmp.Path, "pkd");
        var (code, output) = CliCapture.Run("distill", "--teacher", teacher, "--student-tokenizer", studentTok, "--student", "L2-H16-A2-I32", "--preset", "pkd",
            "--train", train, "--dev", dev, "--out", run, "--epochs", "2", "--batch-size", "8", "--max-seq-len", "48", "--threads", "1");
        Assert.True(code == ExitCodes.Ok, output);
        // pkd reads the teacher's [CLS] states of intermediate layers: cached from the teacher's own rows, one per sentence.
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(Path.GetDirectoryName(train)!, ".distil-cache"), "teacher-hidden-*.safetensors"));
        Assert.NotEmpty(TrainLosses(run));
    }

    [Theory]
    [InlineData("tinybert", "embedding/mse")]
    [InlineData("distilbert", "hidden/cosine")]
    [InlineData("minilm", "attention/kl")]
    public void A_token_level_match_between_vocabularies_is_refused_before_training(string preset, string match)
    {
        string teacher = Teacher(), studentTok = StudentTokenizer();
        string train = FamilyFineTuneTests.Data("train.tsv", 16, 5);
        string run = Path.Combine(tmp.Path, preset);
        var (code, output) = CliCapture.Run("distill", "--teacher", teacher, "--student-tokenizer", studentTok, "--student", "L2-H16-A2-I32", "--preset", preset,
            "--train", train, "--out", run, "--epochs", "1", "--batch-size", "8", "--max-seq-len", "48", "--threads", "1");
        Assert.Equal(ExitCodes.InvalidUsage, code);
        Assert.Contains(match, output);
        Assert.Contains("compares token positions", output);
        Assert.Contains("split the text differently", output);
        // Refused before training: no step was taken, no teacher output computed.
        Assert.False(File.Exists(Path.Combine(run, "metrics.jsonl")) && TrainLosses(run).Count > 0);
        Assert.False(Directory.Exists(Path.Combine(Path.GetDirectoryName(train)!, ".distil-cache")));
    }

    /// <summary>
    /// A folder whose tokenizer is vocab.json + merges.txt exports and quantizes with those files beside the graph: the
    /// export folder tokenises as the model folder does (ONNX Runtime gives `distil predict`'s logits on the same text).
    /// </summary>
    [Fact]
    public void A_bpe_roberta_folder_exports_and_quantizes_with_its_own_tokenizer_files()
    {
        string teacher = Teacher();
        string onnx = Path.Combine(tmp.Path, "onnx"), int8 = Path.Combine(tmp.Path, "int8");
        Assert.Equal(ExitCodes.Ok, CliApp.Run(["export", "--model", teacher, "--out", onnx, "--max-seq-len", "48"]));
        Assert.Equal(ExitCodes.Ok, CliApp.Run(["quantize", "--model", onnx, "--out", int8, "--max-seq-len", "48"]));
        foreach (var dir in new[] { onnx, int8 })
        {
            Assert.True(File.Exists(Path.Combine(dir, "vocab.json")) && File.Exists(Path.Combine(dir, "merges.txt")), dir);
            Assert.False(File.Exists(Path.Combine(dir, "vocab.txt")));
        }
        (string, string?)[] texts = [("the movie was great .", null), ("the food was awful !", null), ("fine", null)];
        var torch = Distil.Cli.Commands.PredictCommand.Predict(teacher, texts, 48);
        using var predictor = Distil.Deploy.DistilPredictor.Load(onnx, new Distil.Deploy.PredictorOptions { MaxSeqLen = 48 });
        var ort = predictor.Logits(texts);
        for (int i = 0; i < texts.Length; i++)
            for (int k = 0; k < 2; k++) Assert.Equal(torch[i].Logits[k], ort[i][k], 4);
    }

    /// <summary>The same tokenizer given as --student-tokenizer is no cross-vocabulary run: token-level matches stay allowed.</summary>
    [Fact]
    public void The_same_vocabulary_as_student_tokenizer_keeps_every_match()
    {
        string studentTok = StudentTokenizer();
        var a = TokenizerFolder.Load(studentTok);
        var b = BertTextTokenizer.FromFiles(Path.Combine(studentTok, "vocab.txt"), Path.Combine(studentTok, "tokenizer_config.json"));
        Assert.True(Distil.Distillation.CrossVocabulary.SameVocabulary(a, b));
        Assert.False(Distil.Distillation.CrossVocabulary.SameVocabulary(a, TokenizerFolder.Load(Teacher())));
    }
}
