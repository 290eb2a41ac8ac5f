using System.Text.Json;
using System.Text.Json.Nodes;
using Distil.Cli;
using Distil.Cli.Commands;
using Distil.Text;
using Xunit;
using Xunit.Abstractions;

namespace Distil.Tests;

/// <summary>
/// A folder `distil finetune` writes for RoBERTa, XLM-R, DistilBERT and ELECTRA computes in a reference that follows
/// transformers' modeling files (tests/reference/roberta.py, distilbert.py, electra.py: plain torch from the saved
/// config.json and model.safetensors) the logits `distil predict` and `distil eval` compute: max |diff| &lt;= 1e-4, same
/// argmax on every sentence. Its config.json names the family's transformers class, so AutoModelForSequenceClassification
/// builds that class. (DeBERTa's fine-tuned folder is checked the same way in DebertaV2Tests.)
/// </summary>
public sealed class FamilyFidelityTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("roberta", "RobertaForSequenceClassification", "roberta.py")]
    [InlineData("xlm-roberta", "XLMRobertaForSequenceClassification", "roberta.py")]
    [InlineData("distilbert", "DistilBertForSequenceClassification", "distilbert.py")]
    [InlineData("electra", "ElectraForSequenceClassification", "electra.py")]
    public void FinetunedFolderGivesTheReferenceTheLogitsOfDistilPredict(string family, string architecture, string script)
    {
        using var t = new TempDir("family-fidelity");
        string train = FamilyFineTuneTests.Data("train.tsv", 32, 1), dev = FamilyFineTuneTests.Data("dev.tsv", 12, 2);
        string ft = Path.Combine(t.Path, "ft");
        Assert.Equal(ExitCodes.Ok, CliApp.Run(["finetune", "--model", FamilyFineTuneTests.Pretrained(family), "--train", train, "--dev", dev, "--out", ft,
            "--epochs", "2", "--batch-size", "8", "--lr", "1e-2", "--max-seq-len", "16", "--threads", "1"]));
        string best = Path.Combine(ft, "best");

        // What transformers reads to pick the class: model_type and architectures, and the labels for the head.
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(best, "config.json")))!;
        Assert.Equal(family, config["model_type"]!.GetValue<string>());
        Assert.Equal(architecture, config["architectures"]!.AsArray().Single()!.GetValue<string>());
        Assert.Equal(2, config["id2label"]!.AsObject().Count);
        Assert.Null(config["auto_map"]);

        // Single sentences of the dev data and some longer than --max-seq-len (truncated), padded to the longest as padding=True does.
        var texts = File.ReadLines(dev).Skip(1).Select(l => l.Split('\t')[0])
            .Concat(["the phone was great . the food was awful ! the movie was fine , the phone was poor .", "great", "awful awful awful"]).ToList();
        var tokenizer = TokenizerFolder.Load(best);
        var encoded = texts.Select(s => tokenizer.Encode(s, null, 16).InputIds).ToArray();
        int width = encoded.Max(e => e.Length);
        var ids = encoded.Select(e => e.Concat(Enumerable.Repeat((long)tokenizer.Pad, width - e.Length)).ToArray()).ToArray();
        var mask = encoded.Select(e => Enumerable.Range(0, width).Select(i => i < e.Length ? 1L : 0L).ToArray()).ToArray();
        string inputs = Path.Combine(t.Path, "inputs.json"), outPath = Path.Combine(t.Path, "out.json");
        File.WriteAllText(inputs, JsonSerializer.Serialize(new { input_ids = ids, attention_mask = mask }));
        PythonReference.Run(script, best, inputs, outPath);
        var reference = JsonNode.Parse(File.ReadAllText(outPath))!["logits"]!.AsArray().Select(r => r!.AsArray().Select(v => v!.GetValue<float>()).ToArray()).ToArray();

        var ours = PredictCommand.Predict(best, texts.Select(s => (s, (string?)null)).ToList(), 16);
        double maxDiff = 0;
        int agree = 0;
        for (int i = 0; i < texts.Count; i++)
        {
            for (int k = 0; k < 2; k++) maxDiff = Math.Max(maxDiff, Math.Abs(reference[i][k] - ours[i].Logits[k]));
            if ((reference[i][1] > reference[i][0] ? 1 : 0) == (ours[i].Logits[1] > ours[i].Logits[0] ? 1 : 0)) agree++;
        }
        output.WriteLine($"| {family} best/ | {architecture} | {maxDiff:E2} | {agree}/{texts.Count} |");
        Assert.True(maxDiff <= 1e-4, $"{family}: max |logit diff| {maxDiff:E2}");
        Assert.Equal(texts.Count, agree);

        // `distil eval` on the dev data counts what those logits predict.
        string metrics = Path.Combine(t.Path, "eval.json");
        Assert.Equal(ExitCodes.Ok, CliApp.Run(["eval", "--model", best, "--data", dev, "--max-seq-len", "16", "--metrics-json", metrics]));
        var gold = File.ReadLines(dev).Skip(1).Select(l => l.Split('\t')[1]).ToArray();
        var id2label = config["id2label"]!;
        double accuracy = gold.Select((g, i) => id2label[reference[i][1] > reference[i][0] ? "1" : "0"]!.GetValue<string>() == g ? 1.0 : 0.0).Average();
        Assert.Equal(accuracy, JsonNode.Parse(File.ReadAllText(metrics))!["accuracy"]!.GetValue<double>(), 6);
    }
}
