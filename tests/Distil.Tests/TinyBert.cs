using Distil.Checkpoints;
using Distil.Models;
using TorchSharp;

namespace Distil.Tests;

/// <summary>Tiny BERT shapes for tests: fast on one thread, same code paths as a real model.</summary>
public static class TinyBert
{
    public static BertConfig Config(int layers = 2, int hidden = 32, int heads = 4, int vocab = 64, int labels = 2) =>
        new BertConfig
        {
            VocabSize = vocab, HiddenSize = hidden, NumHiddenLayers = layers, NumAttentionHeads = heads,
            IntermediateSize = hidden * 2, MaxPositionEmbeddings = 64, HiddenDropoutProb = 0.1, AttentionProbsDropoutProb = 0.1,
        }.WithLabels(Enumerable.Range(0, labels).Select(i => $"L{i}").ToArray());

    public static readonly string[] Words = { "good", "great", "fine", "love", "bad", "awful", "poor", "hate", "the", "movie", "phone", "food", "was", "is", "a" };

    /// <summary>A model folder as HF would save a bare encoder: config.json, model.safetensors, vocab.txt, tokenizer_config.json.</summary>
    public static string TeacherFolder(int layers = 1)
    {
        string dir = TempDir.Scratch("cli-teacher");
        var vocab = new[] { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", "!" }.Concat(Words).ToArray();
        File.WriteAllLines(Path.Combine(dir, "vocab.txt"), vocab);
        File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), """{"do_lower_case": true}""");
        var config = Config(layers: layers, hidden: 16, heads: 2, vocab: vocab.Length) with { Id2Label = null, Label2Id = null };
        torch.manual_seed(3);
        using var encoder = new BertModel(config);
        File.WriteAllText(Path.Combine(dir, "config.json"), config.ToJson());
        StateDictLoader.SaveStateDict(encoder, Path.Combine(dir, "model.safetensors"));
        return dir;
    }

}
