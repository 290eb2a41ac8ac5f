using System.Text.Json.Nodes;
using Distil.Checkpoints;
using Distil.Cli;
using Distil.Models;
using TorchSharp;
using Xunit;

namespace Distil.Tests;

/// <summary>`distil finetune` and `distil distill` on RoBERTa and DistilBERT folders (token ids from the BERT vocab.txt of the tests: the families' own tokenizers are another branch's work).</summary>
public class FamilyFineTuneTests
{
    static readonly string[] Vocab = new[] { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", "!" }.Concat(TinyBert.Words).ToArray();

    /// <summary>A bare base-model checkpoint (keys without the family prefix, as HF saves RobertaModel / DistilBertModel), no head.</summary>
    internal static string Pretrained(string family)
    {
        string dir = TempDir.Scratch("family-pretrained");
        File.WriteAllLines(Path.Combine(dir, "vocab.txt"), Vocab);
        File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), """{"do_lower_case": true}""");
        torch.manual_seed(5);
        if (family == "electra")
        {
            var c = TinyFamilies.Electra() with { VocabSize = Vocab.Length, HiddenDropoutProb = 0, AttentionProbsDropoutProb = 0, Id2Label = null, Label2Id = null };
            using var m = new ElectraModel(c);
            File.WriteAllText(Path.Combine(dir, "config.json"), c.ToJson());
            StateDictLoader.SaveStateDict(m, Path.Combine(dir, "model.safetensors"));
        }
        else if (family is "roberta" or "xlm-roberta")
        {
            // pad_token_id 0: the [PAD] of the BERT vocab the test tokenises with; positions then start at 1.
            var c = TinyFamilies.Roberta(family, pad: 0) with { VocabSize = Vocab.Length, HiddenDropoutProb = 0, AttentionProbsDropoutProb = 0, Id2Label = null, Label2Id = null };
            using var m = new RobertaModel(c);
            File.WriteAllText(Path.Combine(dir, "config.json"), c.ToJson());
            StateDictLoader.SaveStateDict(m, Path.Combine(dir, "model.safetensors"));
        }
        else
        {
            var c = TinyFamilies.DistilBert() with { VocabSize = Vocab.Length, Dropout = 0, AttentionDropout = 0, SeqClassifDropout = 0, Id2Label = null, Label2Id = null };
            using var m = new DistilBertModel(c);
            File.WriteAllText(Path.Combine(dir, "config.json"), c.ToJson());
            StateDictLoader.SaveStateDict(m, Path.Combine(dir, "model.safetensors"));
        }
        return dir;
    }

    internal static string Data(string name, int rows, int seed)
    {
        var rng = new Random(seed);
        var w = TinyBert.Words;
        string path = Path.Combine(TempDir.Scratch("family-data"), name);
        File.WriteAllLines(path, new[] { "text\tlabel" }.Concat(Enumerable.Range(0, rows).Select(i =>
            $"the {w[9 + rng.Next(3)]} was {(i % 2 == 1 ? w[rng.Next(4)] : w[4 + rng.Next(4)])} .\t{i % 2}")));
        return path;
    }

    static (double First, double Last) Losses(string run)
    {
        var rows = File.ReadAllLines(Path.Combine(run, "metrics.jsonl")).Select(l => JsonNode.Parse(l)!)
            .Where(n => n["type"]!.GetValue<string>() == "train").Select(n => n["loss"]!.GetValue<double>()).ToList();
        Assert.True(rows.Count >= 12, $"{rows.Count} logged steps");
        return (rows.Take(3).Average(), rows.TakeLast(3).Average());
    }

    [Theory]
    [InlineData("roberta", typeof(RobertaForSequenceClassification))]
    [InlineData("distilbert", typeof(DistilBertForSequenceClassification))]
    public void Finetune_lowers_the_loss_and_best_reloads_as_the_same_family(string family, Type expected)
    {
        using var t = new TempDir("family-ft");
        string train = Data("train.tsv", 32, 1), dev = Data("dev.tsv", 8, 2);
        string config = t.File("log.json", """{"log_every_steps": 1}""");
        string ft = Path.Combine(t.Path, "ft");
        Assert.Equal(ExitCodes.Ok, CliApp.Run(["finetune", "--config", config, "--model", Pretrained(family), "--train", train, "--dev", dev, "--out", ft,
            "--epochs", "15", "--batch-size", "8", "--lr", "1e-2", "--max-seq-len", "16", "--threads", "1"]));
        var (first, last) = Losses(ft);
        Assert.True(last < 0.8 * first, $"{family}: loss {first:G4} -> {last:G4}");
        using var best = ModelFolder.LoadEncoderClassifier(Path.Combine(ft, "best"));
        Assert.IsType(expected, best);
        Assert.Equal(family, JsonNode.Parse(File.ReadAllText(Path.Combine(ft, "best", "config.json")))!["model_type"]!.GetValue<string>());

        if (family != "roberta") return;
        // A RoBERTa teacher distils into a BERT student (logits + hidden-state matches need no BERT teacher).
        string kd = Path.Combine(t.Path, "kd");
        Assert.Equal(ExitCodes.Ok, CliApp.Run(["distill", "--teacher", Path.Combine(ft, "best"), "--student", "L1-H16-A2-I32", "--preset", "kd",
            "--train", train, "--dev", dev, "--out", kd, "--epochs", "2", "--batch-size", "8", "--max-seq-len", "16", "--threads", "1"]));
        using var student = ModelFolder.LoadEncoderClassifier(Path.Combine(kd, "best"));
        Assert.IsType<BertForSequenceClassification>(student);
    }
}
