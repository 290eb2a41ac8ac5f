using System.Text.Json.Nodes;
using Distil.Checkpoints;
using Distil.Cli;
using Distil.Distillation;
using Distil.Models;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Distil.Tests;

/// <summary>
/// ALBERT: parameter count against HF's published albert-base-v2 tensors and the formula, cross-layer sharing
/// against an unrolled hand-built BERT (forward and summed gradients), HF key names through save/load, and ALBERT
/// students through `distil distill`.
/// </summary>
public sealed class AlbertTests : IDisposable
{
    readonly string root = TempDir.Scratch("albert");

    public AlbertTests() => torch.set_num_threads(1);

    public void Dispose() => Directory.Delete(root, recursive: true);

    static AlbertConfig Tiny(int layers = 3, int groups = 1, string pooling = "pooler") => new AlbertConfig
    {
        VocabSize = 50, EmbeddingSize = 8, HiddenSize = 16, NumHiddenLayers = layers, NumHiddenGroups = groups, NumAttentionHeads = 4,
        IntermediateSize = 24, HiddenAct = "gelu_new", MaxPositionEmbeddings = 20, ClassifierPooling = pooling,
    }.WithLabels(new[] { "a", "b", "c" });

    static BertInputs Batch()
    {
        // Two rows, the second padded after 4 tokens, token types 0/1: every input path is exercised.
        var ids = tensor(new long[] { 2, 17, 5, 33, 9, 3, 2, 40, 11, 3, 0, 0 }, 2, 6);
        var mask = tensor(new long[] { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0 }, 2, 6);
        var types = tensor(new long[] { 0, 0, 0, 1, 1, 1, 0, 0, 1, 1, 0, 0 }, 2, 6);
        return new BertInputs(ids, mask, types);
    }

    [Fact]
    public void ParameterCountIsHfAlbertBaseV2sAndTheFormula()
    {
        // albert-base-v2's config.json; 11,685,122 = the sum of the tensor sizes HF's AlbertForSequenceClassification
        // (2 labels) holds for it (V*E + P*E + 2E + 2E LayerNorm, E*H + H map, one layer group, pooler, classifier).
        var baseV2 = new AlbertConfig
        {
            VocabSize = 30000, EmbeddingSize = 128, HiddenSize = 768, NumHiddenLayers = 12, NumAttentionHeads = 12, IntermediateSize = 3072,
        };
        using (var m = new AlbertForSequenceClassification(baseV2))
            Assert.Equal(11_685_122L, m.parameters().Sum(p => p.numel()));

        foreach (var groups in new[] { 1, 3 })
        {
            var c = Tiny(layers: 3, groups: groups);
            long v = c.VocabSize, e = c.EmbeddingSize, h = c.HiddenSize, i = c.IntermediateSize, p = c.MaxPositionEmbeddings, t = c.TypeVocabSize, n = c.NumLabels;
            long embeddings = (v + p + t) * e + 2 * e;
            long layer = 4 * (h * h + h) + 2 * h + (h * i + i) + (i * h + h) + 2 * h; // q k v dense, attention LN, ffn, ffn_output, full LN
            long expected = embeddings + (e * h + h) + groups * layer + (h * h + h) + (h * n + n);
            using var m = new AlbertForSequenceClassification(c);
            Assert.Equal(expected, m.parameters().Sum(x => x.numel()));
            // Non-embedding: the layer groups (counted once however many layers run them) and the head; pooling "pooler" counts the pooler.
            Assert.Equal(groups * layer + (h * h + h) + (h * n + n), StudentShapes.NonEmbeddingParameters(m));
        }
    }

    /// <summary>A BERT layer per ALBERT layer, each a copy of the ALBERT group weights that layer runs.</summary>
    static BertLayer[] Unrolled(AlbertModel albert)
    {
        var c = albert.Config.Shape;
        var layers = new BertLayer[albert.Config.NumHiddenLayers];
        for (int l = 0; l < layers.Length; l++)
        {
            layers[l] = new BertLayer(c);
            var target = layers[l].state_dict();
            var source = albert.Layer(l).state_dict();
            using var _ = no_grad();
            foreach (var (albertKey, bertKey) in AlbertStudents.LayerKeys) target[bertKey].copy_(source[albertKey]);
            layers[l].eval();
        }
        return layers;
    }

    /// <summary>ALBERT's forward written out with tensor ops and BERT layers: E-wide embedding sum, LayerNorm over E, E -> H matmul, L BERT layers.</summary>
    static (List<Tensor> Hidden, List<Tensor> Probs, Tensor Pooled) HandForward(AlbertModel albert, BertLayer[] layers, BertInputs x)
    {
        var e = albert.embeddings;
        long b = x.InputIds.shape[0], t = x.InputIds.shape[1], width = albert.Config.EmbeddingSize;
        var words = e.word_embeddings.weight!.index_select(0, x.InputIds.flatten()).view(b, t, width);      // (B*T, E) -> (B, T, E)
        var types = e.token_type_embeddings.weight!.index_select(0, x.TokenTypeIds!.flatten()).view(b, t, width);
        var positions = e.position_embeddings.weight!.narrow(0, 0, t);                                       // (T, E), broadcast over B
        var normed = F.layer_norm(words + types + positions, new[] { width }, e.LayerNorm.weight, e.LayerNorm.bias, albert.Config.LayerNormEps);
        var map = albert.encoder.embedding_hidden_mapping_in;
        var h = normed.matmul(map.weight!.t()) + map.bias!;                                                   // (B, T, E) @ (E, H)
        var additive = (1.0f - x.AttentionMask.to(float32)).mul(float.MinValue).view(b, 1, 1, t);            // (B, 1, 1, T)
        var hidden = new List<Tensor> { h };
        var probs = new List<Tensor>();
        foreach (var layer in layers)
        {
            var (next, p, _, _) = layer.forward(h, additive, returnAttention: true);
            hidden.Add(next);
            probs.Add(p!);
            h = next;
        }
        var pooled = h.select(1, 0).matmul(albert.pooler.weight!.t()).add(albert.pooler.bias!).tanh();       // (B, H)
        return (hidden, probs, pooled);
    }

    static bool Same(Tensor a, Tensor b) =>
        a.shape.SequenceEqual(b.shape) && a.data<float>().ToArray().SequenceEqual(b.data<float>().ToArray());

    static void Close(Tensor expected, Tensor actual, double tol = 1e-5) =>
        Assert.True(expected.shape.SequenceEqual(actual.shape) && allclose(expected, actual, rtol: 0, atol: tol),
            $"max |diff| {(expected.shape.SequenceEqual(actual.shape) ? (expected - actual).abs().max().item<float>() : float.NaN)}");

    [Theory]
    [InlineData(3, 1)]
    [InlineData(4, 2)]
    public void ForwardEqualsAHandBuiltBertWithTheSharedWeightsInEveryLayer(int layers, int groups)
    {
        manual_seed(11);
        using var model = new AlbertForSequenceClassification(Tiny(layers, groups));
        model.eval();
        var bert = Unrolled(model.albert);
        var x = Batch();
        var output = model.forward(x, OutputRequest.All);
        var (hidden, probs, pooled) = HandForward(model.albert, bert, x);
        Assert.Equal(layers + 1, output.Encoder.HiddenStates!.Count);
        for (int l = 0; l <= layers; l++) Close(hidden[l], output.Encoder.HiddenStates[l]);
        for (int l = 0; l < layers; l++) Close(probs[l], output.Encoder.Attentions![l]);
        Close(pooled, output.Encoder.PooledOutput!);
        Close(pooled.matmul(model.classifier.weight!.t()) + model.classifier.bias!, output.Logits);
        // The fused attention path (no attention maps requested) gives the same states.
        Close(hidden[layers], model.forward(x).Encoder.LastHiddenState);
    }

    [Theory]
    [InlineData(3, 1)]
    [InlineData(4, 2)]
    public void AGradientOnEveryLayerOfAGroupLandsInTheGroupsOneTensor(int layers, int groups)
    {
        manual_seed(12);
        using var model = new AlbertForSequenceClassification(Tiny(layers, groups));
        model.eval();
        var bert = Unrolled(model.albert);
        var x = Batch();
        // A loss that reads layer 1 and the last layer (not only the top), with fixed random weights.
        var r1 = randn(2, 6, 16);
        var rl = randn(2, 6, 16);
        var states = model.forward(x, OutputRequest.All).Encoder.HiddenStates!;
        (states[1] * r1 + states[layers] * rl).sum().backward();
        var (hidden, _, _) = HandForward(model.albert, bert, x);
        (hidden[1] * r1 + hidden[layers] * rl).sum().backward();

        int perGroup = layers / groups;
        for (int g = 0; g < groups; g++)
        {
            var shared = model.albert.encoder.albert_layer_groups[g].albert_layers[0];
            for (int l = g * perGroup; l < (g + 1) * perGroup; l++)
            {
                Assert.Same(shared, model.albert.Layer(l));
                Assert.Same(shared.attention.query, model.albert.SelfAttention(l).query);
            }
            foreach (var (albertKey, bertKey) in AlbertStudents.LayerKeys)
            {
                var albertGrad = shared.named_parameters().Single(p => p.name == albertKey).parameter.grad!;
                var summed = Enumerable.Range(g * perGroup, perGroup)
                    .Select(l => bert[l].named_parameters().Single(p => p.name == bertKey).parameter.grad!)
                    .Aggregate((a, b) => a + b);
                Close(summed, albertGrad, 1e-4);
            }
        }
        // The sum really has several uses: layer 1's use alone differs from the group's gradient (G = 1: layers 1..L share).
        if (groups == 1)
        {
            var q = model.albert.Layer(0).attention.query.weight!.grad!;
            Assert.False(allclose(q, bert[0].attention.self.query.weight!.grad!, rtol: 0, atol: 1e-6), "the shared gradient must include the later layers");
        }
    }

    static readonly string[] HfLayerKeys =
    [
        "full_layer_layer_norm.weight", "full_layer_layer_norm.bias", "attention.query.weight", "attention.query.bias", "attention.key.weight",
        "attention.key.bias", "attention.value.weight", "attention.value.bias", "attention.dense.weight", "attention.dense.bias",
        "attention.LayerNorm.weight", "attention.LayerNorm.bias", "ffn.weight", "ffn.bias", "ffn_output.weight", "ffn_output.bias",
    ];

    /// <summary>HF's AlbertForSequenceClassification keys (as in albert-base-v2's tensor list), for G groups.</summary>
    static IEnumerable<string> HfKeys(int groups) =>
        new[]
        {
            "albert.embeddings.word_embeddings.weight", "albert.embeddings.position_embeddings.weight", "albert.embeddings.token_type_embeddings.weight",
            "albert.embeddings.LayerNorm.weight", "albert.embeddings.LayerNorm.bias",
            "albert.encoder.embedding_hidden_mapping_in.weight", "albert.encoder.embedding_hidden_mapping_in.bias",
            "albert.pooler.weight", "albert.pooler.bias", "classifier.weight", "classifier.bias",
        }.Concat(Enumerable.Range(0, groups).SelectMany(g => HfLayerKeys.Select(k => $"albert.encoder.albert_layer_groups.{g}.albert_layers.0.{k}")));

    string Tokenizer()
    {
        string dir = Path.Combine(root, "tok");
        Directory.CreateDirectory(dir);
        File.WriteAllLines(Path.Combine(dir, "vocab.txt"), Enumerable.Range(0, 50).Select(i => $"tok{i}"));
        return dir;
    }

    [Fact]
    public void SaveLoadRoundTripUsesHfKeyNamesAndConfig()
    {
        manual_seed(13);
        using var model = new AlbertForSequenceClassification(Tiny(layers: 4, groups: 2));
        model.eval();
        string dir = Path.Combine(root, "albert");
        ModelFolder.Save(dir, model, Tokenizer());

        var keys = SafeTensors.Read(Path.Combine(dir, "model.safetensors"));
        Assert.Equal(HfKeys(2).Order(StringComparer.Ordinal), keys.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(new long[] { 16, 8 }, keys["albert.encoder.embedding_hidden_mapping_in.weight"].shape); // (H, E) as nn.Linear(E, H)
        foreach (var t in keys.Values) t.Dispose();
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "config.json")))!;
        Assert.Equal("albert", config["model_type"]!.GetValue<string>());
        Assert.Equal("AlbertForSequenceClassification", config["architectures"]![0]!.GetValue<string>());
        Assert.Equal(8, config["embedding_size"]!.GetValue<int>());
        Assert.Equal(2, config["num_hidden_groups"]!.GetValue<int>());
        Assert.Equal(1, config["inner_group_num"]!.GetValue<int>());
        Assert.Null(config["Shape"]);

        var x = Batch();
        using var loaded = ModelFolder.LoadEncoderClassifier(dir);
        var albert = Assert.IsType<AlbertForSequenceClassification>(loaded);
        albert.eval();
        Assert.Equal(model.Config.Labels, albert.Config.Labels);
        Assert.True(Same(model.forward(x).Logits, albert.forward(x).Logits));
        using var any = ClassifierFolder.Load(dir);
        Assert.Equal("albert", any.ModelType);
        any.Module.eval();
        Assert.True(Same(model.forward(x).Logits, any.Logits(x)));
    }

    [Fact]
    public void AnHfAlbertEncoderCheckpointLoadsWithANewHeadAndBadFoldersAreClearErrors()
    {
        // What AlbertForMaskedLM.save_pretrained writes (albert-base-v2 style): albert.* keys, position_ids, an MLM head.
        manual_seed(14);
        var c = Tiny(layers: 2) with { Id2Label = null, Label2Id = null };
        using var encoder = new AlbertModel(c);
        string dir = Path.Combine(root, "hf");
        Directory.CreateDirectory(dir);
        var tensors = encoder.state_dict().ToDictionary(p => "albert." + p.Key, p => p.Value);
        tensors["albert.embeddings.position_ids"] = arange(20, dtype: int64).unsqueeze(0);
        tensors["predictions.bias"] = zeros(50);
        SafeTensors.Write(Path.Combine(dir, "model.safetensors"), tensors);
        File.WriteAllText(Path.Combine(dir, "config.json"), c.ToJson().Replace("\"model_type\": \"albert\"", "\"model_type\": \"albert\", \"bos_token_id\": 2"));

        var (model, report) = AlbertFolder.LoadForClassification(dir, new[] { "neg", "pos" });
        using (model)
        {
            Assert.Equal(new[] { "classifier.bias", "classifier.weight" }, report.NewlyInitialised.Order(StringComparer.Ordinal));
            Assert.Equal(new[] { "predictions.bias" }, report.Unexpected);
            Assert.True(Same(encoder.encoder.albert_layer_groups[0].albert_layers[0].ffn.weight!, model.albert.encoder.albert_layer_groups[0].albert_layers[0].ffn.weight!));
            Assert.Equal(2, model.Config.Extra!["bos_token_id"].GetInt32()); // unknown HF keys survive
        }

        // A config whose sharing does not match the weights, and an unsupported inner_group_num, name the problem.
        File.WriteAllText(Path.Combine(dir, "config.json"), (c with { NumHiddenGroups = 2 }).ToJson());
        var missing = Assert.Throws<DistilException>(() => AlbertFolder.LoadForClassification(dir, new[] { "neg", "pos" }));
        Assert.Contains("albert_layer_groups.1", missing.Message);
        File.WriteAllText(Path.Combine(dir, "config.json"), c.ToJson().Replace("\"inner_group_num\": 1", "\"inner_group_num\": 2"));
        Assert.Contains("inner_group_num", Assert.Throws<DistilException>(() => AlbertFolder.LoadForClassification(dir)).Message);
    }

    [Fact]
    public void StudentShapeNamesGiveAlbertConfigs()
    {
        var teacher = TinyBert.Config(layers: 6, hidden: 384, heads: 12, vocab: 30522) with { ClassifierPooling = "mean" };
        var c = AlbertStudents.FromName("albert-L6-H384-E128", teacher);
        Assert.Equal((6, 384, 128, 1, 12, 1536), (c.NumHiddenLayers, c.HiddenSize, c.EmbeddingSize, c.NumHiddenGroups, c.NumAttentionHeads, c.IntermediateSize));
        Assert.Equal(("mean", 30522), (c.ClassifierPooling, c.VocabSize));
        var g = AlbertStudents.FromName("albert-L4-H256-E64-A4-I512-G2", teacher);
        Assert.Equal((4, 256, 64, 2, 4, 512), (g.NumHiddenLayers, g.HiddenSize, g.EmbeddingSize, g.NumHiddenGroups, g.NumAttentionHeads, g.IntermediateSize));
        Assert.Equal(new[] { 0, 0, 1, 1 }, Enumerable.Range(0, 4).Select(g.GroupOf));
        Assert.Throws<DistilException>(() => AlbertStudents.FromName("albert-L6-H384-E128-G4", teacher)); // 4 does not divide 6
        Assert.Throws<DistilException>(() => AlbertStudents.FromName("albert-6x384", teacher));
    }

    [Fact]
    public void TeacherInitCopiesLayersIntoGroupsAndFactorisesTheEmbedding()
    {
        manual_seed(15);
        var teacherConfig = TinyBert.Config(layers: 4, hidden: 16, heads: 4, vocab: 50) with { IntermediateSize = 24 };
        using var teacher = new BertForSequenceClassification(teacherConfig);
        var config = AlbertStudents.FromName("albert-L4-H16-E6-A4-I24-G2", teacherConfig);
        using var student = AlbertStudents.Create(config, teacher, "teacher", seed: 1);
        var t = teacher.state_dict();
        var s = student.state_dict();
        // Group g copies teacher layer TeacherLayersFor(2, 4)[g] = 0, 2.
        foreach (var (g, layer) in new[] { (0, 0), (1, 2) })
            foreach (var (albertKey, bertKey) in AlbertStudents.LayerKeys)
                Assert.True(Same(t[$"bert.encoder.layer.{layer}.{bertKey}"], s[$"albert.encoder.albert_layer_groups.{g}.albert_layers.0.{albertKey}"]), albertKey);
        Assert.True(Same(t["classifier.weight"], s["classifier.weight"]));
        Assert.True(Same(t["bert.pooler.dense.weight"], s["albert.pooler.weight"]));

        // The word table times the map's direction part is the best rank-E approximation of the teacher's table
        // (Eckart-Young: the sum of its discarded squared singular values is the squared error).
        var map = s["albert.encoder.embedding_hidden_mapping_in.weight"]; // (H, E) = diag(gamma) B^T sqrt(H/E)
        var gamma = t["bert.embeddings.LayerNorm.weight"].unsqueeze(1);
        var directions = map / gamma / Math.Sqrt(16.0 / 6);                  // B^T (H, E), orthonormal columns
        Close(eye(6), directions.t().matmul(directions), 1e-5);
        var words = t["bert.embeddings.word_embeddings.weight"];
        var rebuilt = s["albert.embeddings.word_embeddings.weight"].matmul(directions.t()); // (V, E) @ (E, H)
        var singular = linalg.svdvals(words);
        double expected = singular.narrow(0, 6, 10).square().sum().item<float>();
        Assert.Equal(expected, (words - rebuilt).square().sum().item<float>(), expected * 1e-3);
        Assert.Throws<DistilException>(() => AlbertStudents.Create(AlbertStudents.FromName("albert-L4-H32-E6-A4", teacherConfig), teacher, "teacher", 1));
    }

    [Fact]
    public void EveryPresetsMatchesReachTheSharedLayerOfAnAlbertStudent()
    {
        // Teacher 2 layers H16, 2 heads; student albert-L2-H8-E4 (narrower: projections, MiniLM relations).
        manual_seed(16);
        var teacherConfig = TinyBert.Config(layers: 2, hidden: 16, heads: 2, vocab: 50);
        using var teacher = new BertForSequenceClassification(teacherConfig);
        var config = AlbertStudents.FromName("albert-L2-H8-E4-A2-I16", teacherConfig);
        using var batch = Distil.Data.Collator.Collate(new[]
        {
            new Distil.Data.EncodedExample([2, 17, 5, 33, 9, 3], [0, 0, 0, 0, 0, 0], 1, 0),
            new Distil.Data.EncodedExample([2, 40, 11, 3], [0, 0, 0, 0], 0, 0),
        }, 0, [0, 1]);
        foreach (var preset in DistillationPresets.Names)
        {
            using var student = AlbertStudents.Create(config, teacher, "random", seed: 1);
            var plan = DistillationPresets.Get(preset, teacherConfig, student.Shape);
            foreach (var matches in plan.Stages)
            {
                using var projections = new Projections(matches, student.Shape.HiddenSize, teacherConfig.HiddenSize);
                var objective = new DistillationObjective(student, teacher, matches, projections, CPU);
                student.zero_grad();
                var loss = objective.Compute(batch).Loss;
                Assert.True(double.IsFinite(loss.item<float>()), $"{preset}: loss {loss.item<float>()}");
                loss.backward();
                if (matches.Any(m => m.IsLayered)) // every intermediate stage trains the one shared layer
                    Assert.True(student.albert.Layer(1).attention.query.weight!.grad!.abs().sum().item<float>() > 0, $"{preset}: no gradient on the shared layer");
            }
        }
    }

    static string Data(string name, int rows, int seed)
    {
        var rng = new Random(seed);
        var w = TinyBert.Words;
        string path = Path.Combine(TempDir.Scratch("albert-data"), name);
        File.WriteAllLines(path, new[] { "text\tlabel" }.Concat(Enumerable.Range(0, rows).Select(i =>
            $"the {w[9 + rng.Next(3)]} was {(i % 2 == 1 ? w[rng.Next(4)] : w[4 + rng.Next(4)])} .\t{i % 2}")));
        return path;
    }

    /// <summary>Mean of the first and of the last three logged values of a train-row key in a stage (logged every step).</summary>
    static (double First, double Last) Losses(string run, int? stage, string key)
    {
        var rows = File.ReadAllLines(Path.Combine(run, "metrics.jsonl")).Select(l => JsonNode.Parse(l)!)
            .Where(n => n["type"]!.GetValue<string>() == "train" && (stage == null || n["stage"]?.GetValue<int>() == stage))
            .Select(n => n[key]!.GetValue<double>()).ToList();
        Assert.True(rows.Count >= 12, $"{rows.Count} logged steps");
        return (rows.Take(3).Average(), rows.TakeLast(3).Average());
    }

    /// <summary>Mean KL(teacher || student) at T = 1 over all 24 sentences of the toy task; the student is best/'s
    /// architecture with the weights of <paramref name="weights"/> (a stage's student.safetensors).</summary>
    static double KlToTeacher(string teacherDir, string studentDir, string weights)
    {
        // "[CLS] the {movie|phone|food} was {adjective} . [SEP]" in TinyBert.TeacherFolder's vocabulary (words from id 7).
        var rows = (from noun in new[] { 16, 17, 18 } from adjective in Enumerable.Range(7, 8) select new long[] { 2, 15, noun, 19, adjective, 5, 3 }).ToArray();
        var ids = tensor(rows.SelectMany(r => r).ToArray(), rows.Length, 7);
        var x = new BertInputs(ids, ones_like(ids));
        var (teacher, _) = ModelFolder.LoadForClassification(teacherDir);
        var (student, _) = AlbertFolder.LoadForClassification(studentDir);
        using (teacher)
        using (student)
        using (no_grad())
        {
            StateDictLoader.LoadFile(student, weights, strict: true);
            teacher.eval();
            student.eval();
            var t = F.log_softmax(teacher.forward(x).Logits, 1);
            var st = F.log_softmax(student.forward(x).Logits, 1);
            return (t.exp() * (t - st)).sum(1).mean().item<float>();
        }
    }

    [Fact]
    public void KdAndTinyBertDistilIntoAnAlbertStudentAndLowerTheLoss()
    {
        // Teacher: a 2-layer BERT (hidden 16, 2 heads, FFN 32) fine-tuned by the real command, long enough to be confident
        // (soft-label terms cannot fall below the teacher's own entropy).
        string encoder = TinyBert.TeacherFolder(layers: 2);
        string train = Data("train.tsv", 48, 1), dev = Data("dev.tsv", 16, 2);
        string ft = Path.Combine(root, "ft");
        Assert.Equal(ExitCodes.Ok, CliApp.Run(new[] { "finetune", "--model", encoder, "--train", train, "--dev", dev, "--out", ft,
            "--epochs", "15", "--batch-size", "8", "--lr", "5e-3", "--max-seq-len", "16", "--pooling", "mean", "--threads", "1" }));
        string teacher = Path.Combine(ft, "best");
        string config = Path.Combine(root, "log-every-step.json");
        File.WriteAllText(config, """{"log_every_steps": 1}""");

        foreach (var (preset, init) in new[] { ("kd", "teacher"), ("tinybert", "random") })
        {
            string run = Path.Combine(root, preset);
            Assert.Equal(ExitCodes.Ok, CliApp.Run(new[] { "distill", "--config", config, "--teacher", teacher, "--student", "albert-L2-H16-E8-A2-I32",
                "--init", init, "--preset", preset, "--train", train, "--dev", dev, "--out", run, "--epochs", "5", "--batch-size", "8",
                "--max-seq-len", "16", "--lr", "3e-3", "--threads", "1" }));
            using (var best = ModelFolder.LoadEncoderClassifier(Path.Combine(run, "best")))
            {
                var albert = Assert.IsType<AlbertForSequenceClassification>(best);
                Assert.Equal((2, 1, 8), (albert.Config.NumHiddenLayers, albert.Config.NumHiddenGroups, albert.Config.EmbeddingSize));
            }
            // The soft terms cannot fall below the teacher's own entropy, and this tiny teacher is unsure (near ln 2), so:
            // kd: the hard-label CE of the logged steps; tinybert stage 1: its logged total (hidden, embedding and attention
            // MSE, floor 0); stage 2: KL(teacher || student) on every sentence of the task, before and after the stage.
            var (first, last) = Losses(run, preset == "kd" ? null : 1, preset == "kd" ? "labels_hard_ce" : "loss");
            Assert.True(last < 0.8 * first, $"{preset}: logged loss {first:G4} -> {last:G4}");
            if (preset == "tinybert")
            {
                double before = KlToTeacher(teacher, Path.Combine(run, "best"), Path.Combine(run, "stage-1", "student.safetensors"));
                double after = KlToTeacher(teacher, Path.Combine(run, "best"), Path.Combine(run, "stage-2", "student.safetensors"));
                Assert.True(after < 0.8 * before, $"tinybert stage 2: KL to the teacher {before:G4} -> {after:G4}");
            }
            var result = JsonNode.Parse(File.ReadAllText(Path.Combine(run, "result.json")))!;
            Assert.Equal("albert", result["student_model_type"]!.GetValue<string>());
            // One shared 16-wide layer + classifier (mean pooling: no pooler): 4*(16*16+16) + 2*16 + (16*32+32) + (32*16+16) + 2*16 + (16*2+2).
            Assert.Equal(4 * 272 + 32 + 544 + 528 + 32 + 34, result["student"]!["NonEmbeddingParameters"]!.GetValue<long>());
            Assert.Contains("ALBERT", File.ReadAllText(Path.Combine(run, "report.md")));
        }
    }
}
