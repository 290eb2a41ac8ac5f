using System.Text.Json;
using Distil.Models;
using Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace Distil.Onnx;

/// <summary>
/// RoBERTa (XLM-R, CamemBERT), ELECTRA and DistilBERT classifiers (sequence heads and ...ForTokenClassification) as ONNX
/// graphs, each written after its modeling file's forward in eval mode; the layers are
/// <see cref="EncoderOnnxLayers.PostLnLayer"/> (or ORT's fused kernels where the layer is BERT's). The contract is
/// <see cref="BertOnnxExporter"/>'s: input_ids / attention_mask / token_type_ids (batch, sequence) int64 in, logits
/// (batch, num_labels) out, or (batch, sequence, num_labels) for a token head, the axes symbolic. A family without token
/// types (DistilBERT; RoBERTa with one type row) takes token_type_ids and ignores them, as its torch forward does.
/// </summary>
public static class FamilyOnnxExporter
{
    public static ModelProto Build(EncoderClassifier model, bool ortFused = false)
    {
        var proto = Graph(model, ortFused);
        // Regression and multi-label heads are sequence heads: the task tells a runtime how to read the logits.
        if (!proto.MetadataProps.Any(p => p.Key == "distil.task"))
            proto.MetadataProps.Add(new StringStringEntryProto { Key = "distil.task", Value = model.Task.Name() });
        return proto;
    }

    static ModelProto Graph(EncoderClassifier model, bool ortFused) => model switch
    {
        RobertaForSequenceClassification r => Roberta(r, r.Config, ortFused),
        RobertaForTokenClassification r => Roberta(r, r.Config, ortFused),
        ElectraForSequenceClassification e => Electra(e, e.Config, ortFused),
        ElectraForTokenClassification e => Electra(e, e.Config, ortFused),
        DistilBertForSequenceClassification d => DistilBert(d, d.Config, ortFused),
        DistilBertForTokenClassification d => DistilBert(d, d.Config, ortFused),
        DebertaV2ForSequenceClassification or DebertaV2ForTokenClassification => ortFused
            ? throw DistilException.Usage("--ort-fused applies to BERT-layer models (BERT, RoBERTa, XLM-R, CamemBERT, ELECTRA); DeBERTa's disentangled attention has no fused kernel")
            : DebertaV2OnnxExporter.Build(model),
        BertForSequenceClassification b => BertOnnxExporter.Build(b, ortFused),
        BertForTokenClassification t => BertOnnxExporter.Build(t, ortFused),
        AlbertForSequenceClassification a => ortFused
            ? throw DistilException.Usage("--ort-fused applies to BERT-layer models (BERT, RoBERTa, XLM-R, CamemBERT, ELECTRA); export ALBERT without it")
            : Albert(a),
        _ => throw DistilException.Usage($"ONNX export does not support {model.GetType().Name}"),
    };

    /// <summary>The longest sequence a model's position table allows (RoBERTa's positions start after padding_idx).</summary>
    public static int MaxSequence(EncoderClassifier model) => model switch
    {
        RobertaForSequenceClassification or RobertaForTokenClassification => model.Shape.MaxPositionEmbeddings - model.Shape.PadTokenId - 1,
        _ => model.Shape.MaxPositionEmbeddings,
    };

    sealed record Inputs(string Ids, string Mask, string Types, string MaskF);

    static (OnnxGraphBuilder G, Inputs I) Start()
    {
        var g = new OnnxGraphBuilder();
        string ids = g.Input(BertOnnxExporter.InputIds, DataType.Int64, BertOnnxExporter.Batch, BertOnnxExporter.Sequence);
        string mask = g.Input(BertOnnxExporter.AttentionMask, DataType.Int64, BertOnnxExporter.Batch, BertOnnxExporter.Sequence);
        string types = g.Input(BertOnnxExporter.TokenTypeIds, DataType.Int64, BertOnnxExporter.Batch, BertOnnxExporter.Sequence);
        return (g, new Inputs(ids, mask, types, g.Cast(mask, DataType.Float)));
    }

    /// <summary>BERT-named layers under <paramref name="prefix"/>, in standard operators or ORT's fused kernels.</summary>
    static string BertLayers(OnnxGraphBuilder g, Func<string, float[]> W, BertConfig c, string hidden, Inputs i, string prefix, bool ortFused)
    {
        string additive = ortFused ? "" : EncoderOnnxLayers.AdditiveMask(g, i.MaskF);
        string maskI32 = ortFused ? g.Cast(i.Mask, DataType.Int32) : "";
        for (int l = 0; l < c.NumHiddenLayers; l++)
        {
            string p = $"{prefix}encoder.layer.{l}.";
            hidden = ortFused
                ? BertOnnxExporter.FusedLayer(g, c, W, hidden, maskI32, p)
                : EncoderOnnxLayers.PostLnLayer(g, W, hidden, additive, PostLnLayerKeys.Bert(p), c.HiddenSize, c.NumAttentionHeads, c.IntermediateSize, c.HiddenAct, c.LayerNormEps);
        }
        return hidden;
    }

    /// <summary>Positions padding_idx + 1, + 2, ... over non-pad tokens (padding keeps padding_idx), one token type, head dense -> tanh -> out_proj on &lt;s&gt; (a token head: classifier on every token).</summary>
    static ModelProto Roberta(EncoderClassifier model, BertConfig c, bool ortFused)
    {
        var W = EncoderOnnxLayers.Weights(model);
        var (g, i) = Start();
        int h = c.HiddenSize;
        const string e = "roberta.embeddings.";
        string words = g.Gather(g.Initializer(e + "word_embeddings.weight", W(e + "word_embeddings.weight"), c.VocabSize, h), i.Ids); // (B, T, H)
        string isPad = g.Cast(g.Equal(i.Ids, g.Longs("pad_id", c.PadTokenId)), DataType.Int64); // (B, T) 1 on padding
        string notPad = g.Sub(g.Longs("one_long", 1), isPad);
        string positionIds = g.Add(g.Mul(g.CumSum(notPad, 1), notPad), g.Longs("pad_offset", c.PadTokenId)); // (B, T): HF's create_position_ids_from_input_ids
        string positions = g.Gather(g.Initializer(e + "position_embeddings.weight", W(e + "position_embeddings.weight"), c.MaxPositionEmbeddings, h), positionIds);
        var typeTable = W(e + "token_type_embeddings.weight");
        string typeRows = c.TypeVocabSize == 1
            ? g.Initializer(e + "token_type_embeddings.row0", typeTable, h) // (H): the only row, broadcast
            : g.Gather(g.Initializer(e + "token_type_embeddings.weight", typeTable, c.TypeVocabSize, h), i.Types);
        string hidden = g.LayerNorm(g.Add(g.Add(words, positions), typeRows), W(e + "LayerNorm.weight"), W(e + "LayerNorm.bias"), c.LayerNormEps, e + "LayerNorm");
        hidden = BertLayers(g, W, c, hidden, i, "roberta.", ortFused);
        if (model is EncoderTokenClassifier) return FinishTokens(g, W, hidden, h, c.NumLabels, c.ModelType, c.Labels, MaxSequence(model), ortFused);
        string x = g.Tanh(g.Linear(EncoderOnnxLayers.FirstToken(g, hidden), W("classifier.dense.weight"), W("classifier.dense.bias"), h, h, "classifier.dense"));
        string logits = g.Linear(x, W("classifier.out_proj.weight"), W("classifier.out_proj.bias"), c.NumLabels, h, "classifier.out_proj"); // (B, num_labels)
        return Finish(g, logits, c.NumLabels, c.ModelType, c.Labels, "first-token", MaxSequence(model), ortFused);
    }

    /// <summary>E-wide BERT embeddings, E -> H projection when E != H, BERT layers, head dense -> gelu -> out_proj on [CLS] (a token head: classifier on every token).</summary>
    static ModelProto Electra(EncoderClassifier model, BertConfig c, bool ortFused)
    {
        var W = EncoderOnnxLayers.Weights(model);
        var (g, i) = Start();
        int h = c.HiddenSize, width = ElectraFamily.EmbeddingWidth(c);
        const string e = "electra.embeddings.";
        string words = g.Gather(g.Initializer(e + "word_embeddings.weight", W(e + "word_embeddings.weight"), c.VocabSize, width), i.Ids); // (B, T, E)
        string positions = EncoderOnnxLayers.PositionRows(g, g.Initializer(e + "position_embeddings.weight", W(e + "position_embeddings.weight"), c.MaxPositionEmbeddings, width), i.Ids);
        string typeRows = g.Gather(g.Initializer(e + "token_type_embeddings.weight", W(e + "token_type_embeddings.weight"), c.TypeVocabSize, width), i.Types);
        string hidden = g.LayerNorm(g.Add(g.Add(words, positions), typeRows), W(e + "LayerNorm.weight"), W(e + "LayerNorm.bias"), c.LayerNormEps, e + "LayerNorm"); // (B, T, E)
        if (width != h)
            hidden = g.Linear(hidden, W("electra.embeddings_project.weight"), W("electra.embeddings_project.bias"), h, width, "electra.embeddings_project"); // (B, T, E) -> (B, T, H)
        hidden = BertLayers(g, W, c, hidden, i, "electra.", ortFused);
        if (model is EncoderTokenClassifier) return FinishTokens(g, W, hidden, h, c.NumLabels, ElectraFamily.Type, c.Labels, c.MaxPositionEmbeddings, ortFused);
        string x = g.Gelu(g.Linear(EncoderOnnxLayers.FirstToken(g, hidden), W("classifier.dense.weight"), W("classifier.dense.bias"), h, h, "classifier.dense"));
        string logits = g.Linear(x, W("classifier.out_proj.weight"), W("classifier.out_proj.bias"), c.NumLabels, h, "classifier.out_proj");
        return Finish(g, logits, c.NumLabels, ElectraFamily.Type, c.Labels, "first-token", c.MaxPositionEmbeddings, ortFused);
    }

    /// <summary>Word + position embeddings (no token types), DistilBERT-named post-LN blocks, head pre_classifier -> ReLU -> classifier on [CLS] (a token head: classifier on every token).</summary>
    static ModelProto DistilBert(EncoderClassifier model, DistilBertConfig c, bool ortFused)
    {
        if (ortFused) throw DistilException.Usage("--ort-fused applies to BERT-layer models (BERT, RoBERTa, XLM-R, CamemBERT, ELECTRA); export DistilBERT without it");
        var W = EncoderOnnxLayers.Weights(model);
        var (g, i) = Start();
        int d = c.Dim;
        const string e = "distilbert.embeddings.";
        string words = g.Gather(g.Initializer(e + "word_embeddings.weight", W(e + "word_embeddings.weight"), c.VocabSize, d), i.Ids); // (B, T, D)
        string positions = EncoderOnnxLayers.PositionRows(g, g.Initializer(e + "position_embeddings.weight", W(e + "position_embeddings.weight"), c.MaxPositionEmbeddings, d), i.Ids);
        string hidden = g.LayerNorm(g.Add(words, positions), W(e + "LayerNorm.weight"), W(e + "LayerNorm.bias"), DistilBertConfig.LayerNormEps, e + "LayerNorm");
        string additive = EncoderOnnxLayers.AdditiveMask(g, i.MaskF);
        for (int l = 0; l < c.NLayers; l++)
            hidden = EncoderOnnxLayers.PostLnLayer(g, W, hidden, additive, PostLnLayerKeys.DistilBert($"distilbert.transformer.layer.{l}."), d, c.NHeads, c.HiddenDim,
                c.Activation, DistilBertConfig.LayerNormEps);
        if (model is EncoderTokenClassifier) return FinishTokens(g, W, hidden, d, c.NumLabels, DistilBertConfig.Type, c.Labels, c.MaxPositionEmbeddings, false);
        string x = g.Relu(g.Linear(EncoderOnnxLayers.FirstToken(g, hidden), W("pre_classifier.weight"), W("pre_classifier.bias"), d, d, "pre_classifier"));
        string logits = g.Linear(x, W("classifier.weight"), W("classifier.bias"), c.NumLabels, d, "classifier");
        return Finish(g, logits, c.NumLabels, DistilBertConfig.Type, c.Labels, "first-token", c.MaxPositionEmbeddings, false);
    }

    /// <summary>E-wide embeddings, E -> H map, L layers drawn from G weight groups, tanh pooler on [CLS] or the masked mean, classifier.</summary>
    static ModelProto Albert(AlbertForSequenceClassification model)
    {
        var c = model.Config;
        var W = EncoderOnnxLayers.Weights(model);
        var (g, i) = Start();
        int h = c.HiddenSize, width = c.EmbeddingSize;
        const string e = "albert.embeddings.";
        string words = g.Gather(g.Initializer(e + "word_embeddings.weight", W(e + "word_embeddings.weight"), c.VocabSize, width), i.Ids); // (B, T, E)
        string positions = EncoderOnnxLayers.PositionRows(g, g.Initializer(e + "position_embeddings.weight", W(e + "position_embeddings.weight"), c.MaxPositionEmbeddings, width), i.Ids);
        string typeRows = g.Gather(g.Initializer(e + "token_type_embeddings.weight", W(e + "token_type_embeddings.weight"), c.TypeVocabSize, width), i.Types);
        string hidden = g.LayerNorm(g.Add(g.Add(words, positions), typeRows), W(e + "LayerNorm.weight"), W(e + "LayerNorm.bias"), c.LayerNormEps, e + "LayerNorm"); // (B, T, E)
        const string map = "albert.encoder.embedding_hidden_mapping_in";
        hidden = g.Linear(hidden, W(map + ".weight"), W(map + ".bias"), h, width, map); // (B, T, E) -> (B, T, H)
        string additive = EncoderOnnxLayers.AdditiveMask(g, i.MaskF);
        for (int l = 0; l < c.NumHiddenLayers; l++)
            hidden = EncoderOnnxLayers.PostLnLayer(g, W, hidden, additive, PostLnLayerKeys.Albert($"albert.encoder.albert_layer_groups.{c.GroupOf(l)}.albert_layers.0."), h,
                c.NumAttentionHeads, c.IntermediateSize, c.HiddenAct, c.LayerNormEps);
        bool mean = c.ClassifierPooling == "mean";
        string features = mean ? EncoderOnnxLayers.MeanPool(g, hidden, i.MaskF)
            : g.Tanh(g.Linear(EncoderOnnxLayers.FirstToken(g, hidden), W("albert.pooler.weight"), W("albert.pooler.bias"), h, h, "albert.pooler"));
        string logits = g.Linear(features, W("classifier.weight"), W("classifier.bias"), c.NumLabels, h, "classifier");
        return Finish(g, logits, c.NumLabels, AlbertConfig.Type, c.Labels, mean ? "mean" : "pooler", c.MaxPositionEmbeddings, false);
    }

    /// <summary>A token head on the last hidden states: classifier (B, T, H) -> logits (B, T, num_labels); dropout is the identity.</summary>
    internal static ModelProto FinishTokens(OnnxGraphBuilder g, Func<string, float[]> W, string hidden, int h, int numLabels, string family, IReadOnlyList<string> labels,
        int maxSequence, bool ortFused)
    {
        string logits = g.Linear(hidden, W("classifier.weight"), W("classifier.bias"), numLabels, h, "classifier"); // (B, T, H) -> (B, T, num_labels)
        g.Output(logits, BertOnnxExporter.Logits, DataType.Float, BertOnnxExporter.Batch, BertOnnxExporter.Sequence, numLabels);
        var metadata = Metadata(family, labels, "per-token", maxSequence);
        metadata["distil.task"] = TaskKind.Token.Name();
        if (ortFused) metadata["distil.ort_fused"] = "true";
        return g.Build(metadata);
    }

    internal static ModelProto Finish(OnnxGraphBuilder g, string logits, int numLabels, string family, IReadOnlyList<string> labels, string pooling, int maxSequence, bool ortFused)
    {
        g.Output(logits, BertOnnxExporter.Logits, DataType.Float, BertOnnxExporter.Batch, numLabels);
        var metadata = Metadata(family, labels, pooling, maxSequence);
        if (ortFused) metadata["distil.ort_fused"] = "true";
        return g.Build(metadata);
    }

    /// <summary>What a runtime needs besides the graph; distil.max_position_embeddings is the longest sequence the graph runs.</summary>
    public static Dictionary<string, string> Metadata(string family, IReadOnlyList<string> labels, string pooling, int maxSequence) => new()
    {
        ["distil.model_family"] = family,
        ["distil.labels"] = JsonSerializer.Serialize(labels),
        ["distil.pooling"] = pooling,
        ["distil.max_position_embeddings"] = maxSequence.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["distil.precision"] = "fp32",
    };
}
