using Distil.Checkpoints;
using Distil.Models;
using TorchSharp;

namespace Distil.Tests;

/// <summary>Tiny random classifier folders for the export / quantize / predictor / bench tests.</summary>
public static class DeployFixtures
{
    public static readonly string[] Vocab = new[] { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", "!", "," }.Concat(TinyBert.Words).ToArray();

    /// <summary>
    /// A classifier folder (config.json with labels, model.safetensors with a head, vocab.txt) with random weights.
    /// initializer_range 0.3 (not 0.02) so that attention is far from uniform and logits are far from ties:
    /// a parity test on near-equal logits would test nothing.
    /// </summary>
    public static string ClassifierFolder(string root, string pooling = "pooler", int seed = 7, int layers = 2, int hidden = 32, int heads = 4,
        int labels = 3, string act = "gelu", double initRange = 0.3)
    {
        string dir = Path.Combine(root, $"model-{pooling}-{seed}-{layers}x{hidden}-{act}-{initRange}");
        string tok = Path.Combine(root, "tokenizer");
        Directory.CreateDirectory(tok);
        File.WriteAllLines(Path.Combine(tok, "vocab.txt"), Vocab);
        File.WriteAllText(Path.Combine(tok, "tokenizer_config.json"), """{"do_lower_case": true}""");
        var config = TinyBert.Config(layers: layers, hidden: hidden, heads: heads, vocab: Vocab.Length, labels: labels) with
        {
            ClassifierPooling = pooling,
            InitializerRange = initRange,
            MaxPositionEmbeddings = 128, // the bench times 128 tokens
            HiddenAct = act,
            IntermediateSize = hidden * 4,
        };
        torch.manual_seed(seed);
        using var model = new BertForSequenceClassification(config);
        ModelFolder.Save(dir, model, tok);
        return dir;
    }

    public static readonly string[] Sentences =
    {
        "the movie was great !", "awful food .", "the phone is fine , the food was bad .", "love", "hate the movie , hate the phone , poor food .",
        "a great , great movie .", "the food was poor", "fine",
    };
}
