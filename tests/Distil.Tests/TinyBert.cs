using Distil.Models;

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
}
