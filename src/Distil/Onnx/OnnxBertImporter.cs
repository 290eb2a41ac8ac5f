using Distil.Models;
using Onnx;
using static TorchSharp.torch;

namespace Distil.Onnx;

/// <summary>
/// The result of an ONNX import: HF BertModel keys WITHOUT the "bert." prefix, plus the graph's own input/output
/// names (for running the same file in ONNX Runtime). The caller owns (and disposes) the tensors.
/// </summary>
public sealed record OnnxBertImport(
    BertConfig Config,
    Dictionary<string, Tensor> StateDict,
    IReadOnlyList<string> InputNames,
    string LastHiddenStateOutput,
    string? PoolerOutput)
{
    public void Deconstruct(out BertConfig config, out Dictionary<string, Tensor> stateDict) => (config, stateDict) = (Config, StateDict);
}

/// <summary>
/// Turns an ONNX BERT encoder (as exported by torch.onnx / optimum) into a BertConfig and an HF state dict.
/// Weights are identified by following the data path, never by initializer names (exporters often name them
/// "onnx::MatMul_1234"): embedding Gathers → LayerNorm → per layer Q/K/V projections (told apart by how they
/// feed the score and context MatMuls) → output dense → residual + LayerNorm → FFN → residual + LayerNorm.
/// </summary>
public static class OnnxBertImporter
{
    /// <summary>A linear layer found in the graph: weight constant, its layout, bias constant, and the output after the bias.</summary>
    sealed record Linear(string Weight, bool WeightIsOutIn, string Bias, string Output, long In, long Out);
    sealed record LayerNorm(string Weight, string Bias, double Eps, string Output);

    public static OnnxBertImport Import(string onnxPath)
    {
        var g = OnnxGraph.Load(onnxPath);
        var m = new Matcher(g);
        var sd = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try { return m.Run(sd); }
        catch
        {
            foreach (var t in sd.Values) t.Dispose();
            throw;
        }
    }

    sealed class Matcher(OnnxGraph g)
    {
        DistilException NotBert(string what) => DistilException.BadInput($"{g.Source}: not a BERT encoder: {what}");

        public OnnxBertImport Run(Dictionary<string, Tensor> sd)
        {
            var (word, position, tokenType, sumOut) = Embeddings();
            var embLn = MatchLayerNorm(sumOut) ?? throw NotBert("no LayerNorm after the embedding sum");
            long vocab = g.Dims(word)[0], hidden = g.Dims(word)[1];
            if (g.Dims(position)[1] != hidden || g.Dims(tokenType)[1] != hidden)
                throw NotBert($"embedding tables have different widths ({hidden}, {g.Dims(position)[1]}, {g.Dims(tokenType)[1]})");
            sd["embeddings.word_embeddings.weight"] = g.FloatTensor(word);
            sd["embeddings.position_embeddings.weight"] = g.FloatTensor(position);
            sd["embeddings.token_type_embeddings.weight"] = g.FloatTensor(tokenType);
            AddLayerNorm(sd, "embeddings.LayerNorm", embLn, hidden);

            string h = embLn.Output;
            int layers = 0, heads = 0;
            long intermediate = 0;
            string act = "gelu";
            while (true)
            {
                var proj = Linears(h).Where(l => l.In == hidden && l.Out == hidden).ToList();
                if (proj.Count == 0) break;
                if (proj.Count != 3) throw NotBert($"layer {layers}: expected 3 projections (query, key, value) of the hidden state, found {proj.Count}");
                var (q, k, v, ctx, layerHeads) = Attention(proj, hidden, layers);
                if (heads != 0 && layerHeads != heads) throw NotBert($"layer {layers} has {layerHeads} attention heads, earlier layers {heads}");
                heads = layerHeads;

                var o = FollowToLinear(ctx.Output[0]) ?? throw NotBert($"layer {layers}: no output dense after the attention context");
                if (o.In != hidden || o.Out != hidden) throw NotBert($"layer {layers}: attention output dense is [{o.In}, {o.Out}], expected [{hidden}, {hidden}]");
                var ln1 = Residual(o.Output, h, layers, "attention output");

                var inter = Linears(ln1.Output).SingleOrDefault() ?? throw NotBert($"layer {layers}: no intermediate dense after the attention LayerNorm");
                var (outDense, layerAct) = Activation(inter, layers);
                if (outDense.In != inter.Out || outDense.Out != hidden) throw NotBert($"layer {layers}: output dense is [{outDense.In}, {outDense.Out}], expected [{inter.Out}, {hidden}]");
                var ln2 = Residual(outDense.Output, ln1.Output, layers, "output");
                if (intermediate != 0 && inter.Out != intermediate) throw NotBert($"layer {layers} has intermediate size {inter.Out}, earlier layers {intermediate}");
                intermediate = inter.Out;
                act = layerAct;

                string p = $"encoder.layer.{layers}.";
                AddLinear(sd, p + "attention.self.query", q);
                AddLinear(sd, p + "attention.self.key", k);
                AddLinear(sd, p + "attention.self.value", v);
                AddLinear(sd, p + "attention.output.dense", o);
                AddLayerNorm(sd, p + "attention.output.LayerNorm", ln1, hidden);
                AddLinear(sd, p + "intermediate.dense", inter);
                AddLinear(sd, p + "output.dense", outDense);
                AddLayerNorm(sd, p + "output.LayerNorm", ln2, hidden);
                h = ln2.Output;
                layers++;
            }
            if (layers == 0) throw NotBert("no self-attention layer (three hidden x hidden projections) after the embedding LayerNorm");

            string? poolerOut = null;
            if (Pooler(h, hidden) is { } pooler)
            {
                AddLinear(sd, "pooler.dense", pooler.dense);
                poolerOut = pooler.output;
            }

            var config = new BertConfig
            {
                Architectures = new[] { "BertModel" },
                VocabSize = checked((int)vocab),
                HiddenSize = checked((int)hidden),
                NumHiddenLayers = layers,
                NumAttentionHeads = heads,
                IntermediateSize = checked((int)intermediate),
                HiddenAct = act,
                MaxPositionEmbeddings = checked((int)g.Dims(position)[0]),
                TypeVocabSize = checked((int)g.Dims(tokenType)[0]),
                LayerNormEps = embLn.Eps,
            };
            config.Validate(g.Source);
            return new OnnxBertImport(config, sd, g.GraphInputs.ToList(), h, poolerOut);
        }

        // ---- embeddings ----

        /// <summary>The three embedding tables and the tensor that holds their sum (the LayerNorm's input).</summary>
        (string word, string position, string tokenType, string sum) Embeddings()
        {
            var inputs = g.GraphInputs.ToHashSet(StringComparer.Ordinal);
            var tableGathers = g.Graph.Node.Where(n => n.OpType == "Gather" && n.Input.Count == 2 && g.IsFloatConst(n.Input[0], 2)).ToList();
            // The word embedding is the table read with input_ids (by name, else the largest table read with any graph input).
            var wordGather = tableGathers.FirstOrDefault(n => n.Input[1] == "input_ids")
                ?? tableGathers.Where(n => inputs.Contains(n.Input[1])).OrderByDescending(n => g.Dims(n.Input[0])[0]).FirstOrDefault()
                ?? throw NotBert("no embedding Gather reads a graph input (input_ids)");

            // Walk the sum of embeddings: word + token_type + position, in whatever order the exporter added them.
            var others = new List<NodeProto>();
            string x = wordGather.Output[0];
            for (int step = 0; step < 8 && MatchLayerNorm(x) == null; step++)
            {
                var add = g.Consumers(x).SingleOrDefault(n => n.OpType == "Add")
                    ?? throw NotBert("the word embedding is not summed with position and token-type embeddings");
                CollectGathers(add.Input[0] == x ? add.Input[1] : add.Input[0], others, 0);
                x = add.Output[0];
            }
            if (others.Count != 2) throw NotBert($"expected 3 embedding tables (word, position, token type), found {others.Count + 1}");
            // token_type_ids by name; otherwise the smaller table is token types (2 rows) and the larger positions (512).
            var type = others.FirstOrDefault(n => n.Input[1].Contains("token_type", StringComparison.Ordinal))
                ?? others.OrderBy(n => g.Dims(n.Input[0])[0]).First();
            var pos = others.Single(n => n != type);
            return (wordGather.Input[0], pos.Input[0], type.Input[0], x);
        }

        void CollectGathers(string t, List<NodeProto> found, int depth)
        {
            var p = g.Producer(t);
            if (p == null || depth > 4) throw NotBert($"embedding sum operand '{t}' is not an embedding lookup");
            if (p.OpType == "Gather" && g.IsFloatConst(p.Input[0], 2)) found.Add(p);
            else if (p.OpType == "Add") { CollectGathers(p.Input[0], found, depth + 1); CollectGathers(p.Input[1], found, depth + 1); }
            else throw NotBert($"embedding sum operand '{t}' comes from {p.OpType}, not an embedding Gather");
        }

        // ---- attention ----

        (Linear q, Linear k, Linear v, NodeProto context, int heads) Attention(List<Linear> proj, long hidden, int layer)
        {
            var reached = proj.Select(p => (p, hit: TraceToMatMul(p.Output))).ToList();
            if (reached.Any(r => r.hit == null)) throw NotBert($"layer {layer}: a projection does not reach an attention MatMul");
            // Scores = Q · Kᵀ is the MatMul that two projections reach (Q as its first input, K as its second); V is the other.
            var scores = reached.GroupBy(r => r.hit!.Value.node).FirstOrDefault(gr => gr.Count() == 2)
                ?? throw NotBert($"layer {layer}: no MatMul combines two projections into attention scores");
            var q = scores.SingleOrDefault(r => r.hit!.Value.index == 0);
            var k = scores.SingleOrDefault(r => r.hit!.Value.index == 1);
            if (q.p == null || k.p == null) throw NotBert($"layer {layer}: the score MatMul does not take query and key as its two inputs");
            var v = reached.Single(r => r.hit!.Value.node != scores.Key);
            var context = v.hit!.Value.node;
            if (v.hit.Value.index != 1 || !ReachesBack(context.Input[0], scores.Key, "Softmax"))
                throw NotBert($"layer {layer}: the value projection is not multiplied by softmax(scores)");
            int heads = Heads(q.hit!.Value.reshape, hidden) ?? Heads(k.hit!.Value.reshape, hidden) ?? Heads(v.hit.Value.reshape, hidden)
                ?? throw NotBert($"layer {layer}: cannot infer num_attention_heads from the Reshape of query/key/value");
            return (q.p, k.p, v.p, context, heads);
        }

        /// <summary>Follows a projection through Reshape/Transpose/scaling to the first MatMul of two activations.</summary>
        (NodeProto node, int index, NodeProto? reshape)? TraceToMatMul(string t)
        {
            NodeProto? reshape = null;
            for (int step = 0; step < 8; step++)
            {
                var next = g.Consumers(t).Where(n => n.OpType != "Shape").ToList();
                if (next.Count != 1) return null;
                var n = next[0];
                switch (n.OpType)
                {
                    case "MatMul": return (n, n.Input[0] == t ? 0 : 1, reshape);
                    case "Reshape": reshape ??= n; break;
                    case "Transpose": break;
                    case "Div" or "Mul" when n.Input.Any(g.IsConst): break;
                    default: return null;
                }
                t = n.Output[0];
            }
            return null;
        }

        /// <summary>True when walking back along first inputs from <paramref name="t"/> passes an <paramref name="op"/> node and reaches <paramref name="target"/>.</summary>
        bool ReachesBack(string t, NodeProto target, string op)
        {
            bool sawOp = false;
            for (int step = 0; step < 10; step++)
            {
                var p = g.Producer(t);
                if (p == null) return false;
                if (p == target) return sawOp;
                sawOp |= p.OpType == op;
                // Masking adds a constant-free mask tensor: stay on the operand that is not the mask (the scores path).
                t = p.Input.FirstOrDefault(i => !g.IsConst(i) && g.Producer(i) is { } pp && (pp == target || pp.OpType is "Div" or "Mul" or "Softmax" or "Add" or "Cast" or "Where" or "Dropout")) ?? p.Input[0];
            }
            return false;
        }

        /// <summary>num_heads from a [batch, seq, heads, head_dim] Reshape whose shape is a constant or a Concat of constants.</summary>
        int? Heads(NodeProto? reshape, long hidden)
        {
            if (reshape == null || reshape.Input.Count < 2) return null;
            long[]? shape = null;
            string s = reshape.Input[1];
            if (g.IsConst(s)) shape = g.Longs(s);
            else if (g.Producer(s) is { OpType: "Concat" } c && c.Input.Count == 4 && g.IsConst(c.Input[2]) && g.IsConst(c.Input[3]))
                shape = new long[] { -1, -1, g.Longs(c.Input[2]).Single(), g.Longs(c.Input[3]).Single() };
            if (shape is not { Length: 4 } || shape[2] <= 0 || shape[2] * shape[3] != hidden) return null;
            return checked((int)shape[2]);
        }

        // ---- linear layers, activations, LayerNorm ----

        /// <summary>Linear layers (MatMul + bias Add, or Gemm) applied to <paramref name="x"/>.</summary>
        List<Linear> Linears(string x)
        {
            var list = new List<Linear>();
            foreach (var n in g.Consumers(x))
            {
                if (n.OpType == "MatMul" && n.Input[0] == x && g.IsFloatConst(n.Input[1], 2))
                {
                    var d = g.Dims(n.Input[1]);
                    var bias = g.Consumers(n.Output[0]).FirstOrDefault(a => a.OpType == "Add" && a.Input.Any(i => IsBias(i, d[1])));
                    if (bias == null) continue;
                    list.Add(new Linear(n.Input[1], false, bias.Input.First(i => IsBias(i, d[1])), bias.Output[0], d[0], d[1]));
                }
                else if (n.OpType == "Gemm" && n.Input[0] == x && n.Input.Count == 3 && g.IsFloatConst(n.Input[1], 2) && IntAttr(n, "transA", 0) == 0)
                {
                    var d = g.Dims(n.Input[1]);
                    bool outIn = IntAttr(n, "transB", 0) == 1;
                    long inF = outIn ? d[1] : d[0], outF = outIn ? d[0] : d[1];
                    if (!IsBias(n.Input[2], outF) || FloatAttr(n, "alpha", 1) != 1 || FloatAttr(n, "beta", 1) != 1) continue;
                    list.Add(new Linear(n.Input[1], outIn, n.Input[2], n.Output[0], inF, outF));
                }
            }
            return list;
        }

        bool IsBias(string name, long size) => g.IsFloatConst(name, 1) && g.Dims(name)[0] == size;

        /// <summary>The linear layer reached from <paramref name="t"/> through shape-only ops (the head merge).</summary>
        Linear? FollowToLinear(string t)
        {
            for (int step = 0; step < 6; step++)
            {
                if (Linears(t) is [var l]) return l;
                var next = g.Consumers(t).Where(n => n.OpType != "Shape").ToList();
                if (next is not [{ OpType: "Transpose" or "Reshape" } n]) return null;
                t = n.Output[0];
            }
            return null;
        }

        /// <summary>From the intermediate dense to the output dense: the elementwise ops between them name the activation.</summary>
        (Linear output, string act) Activation(Linear inter, int layer)
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            var frontier = new Queue<string>();
            frontier.Enqueue(inter.Output);
            var visited = new HashSet<NodeProto>();
            while (frontier.Count > 0 && visited.Count < 16)
            {
                string t = frontier.Dequeue();
                if (Linears(t).FirstOrDefault(l => l.In == inter.Out) is { } outDense)
                {
                    string act = seen.Contains("Erf") ? "gelu" : seen.Contains("Tanh") ? "gelu_new" : seen.Contains("Relu") ? "relu"
                        : throw NotBert($"layer {layer}: unsupported activation between the dense layers (ops: {string.Join(", ", seen)})");
                    return (outDense, act);
                }
                foreach (var n in g.Consumers(t))
                {
                    if (!visited.Add(n)) continue;
                    if (n.OpType is not ("Div" or "Mul" or "Add" or "Erf" or "Tanh" or "Pow" or "Relu" or "Sigmoid")) continue;
                    seen.Add(n.OpType);
                    frontier.Enqueue(n.Output[0]);
                }
            }
            throw NotBert($"layer {layer}: no output dense after the intermediate activation");
        }

        /// <summary>Add(x, residual) followed by a LayerNorm.</summary>
        LayerNorm Residual(string x, string residual, int layer, string what)
        {
            var add = g.Consumers(x).FirstOrDefault(n => n.OpType == "Add" && n.Input.Contains(residual))
                ?? throw NotBert($"layer {layer}: no residual connection around the {what} dense");
            return MatchLayerNorm(add.Output[0]) ?? throw NotBert($"layer {layer}: no LayerNorm after the {what} residual");
        }

        /// <summary>A LayerNorm over the last axis applied to <paramref name="x"/>: one LayerNormalization node or its decomposition.</summary>
        LayerNorm? MatchLayerNorm(string x)
        {
            var fused = g.Consumers(x).FirstOrDefault(n => n.OpType == "LayerNormalization" && n.Input[0] == x);
            if (fused != null)
            {
                if (fused.Input.Count < 3 || !g.IsConst(fused.Input[1]) || !g.IsConst(fused.Input[2]))
                    throw NotBert($"LayerNormalization '{fused.Name}' has no constant scale and bias");
                return new LayerNorm(fused.Input[1], fused.Input[2], Round(FloatAttr(fused, "epsilon", 1e-5f)), fused.Output[0]);
            }
            // (x - mean(x)) / sqrt(mean((x - mean(x))^2) + eps) * gamma + beta, as torch.onnx writes it before opset 17.
            var mean = g.Consumers(x).FirstOrDefault(n => n.OpType == "ReduceMean");
            if (mean == null) return null;
            var sub = g.Consumers(x).FirstOrDefault(n => n.OpType == "Sub" && n.Input[0] == x && n.Input[1] == mean.Output[0]);
            if (sub == null) return null;
            string d = sub.Output[0];
            var sq = g.Consumers(d).FirstOrDefault(n => n.OpType == "Pow" || (n.OpType == "Mul" && n.Input[0] == d && n.Input[1] == d));
            var var_ = sq == null ? null : Next(sq.Output[0], "ReduceMean");
            var addEps = var_ == null ? null : Next(var_.Output[0], "Add");
            string? eps = addEps?.Input.FirstOrDefault(g.IsConst);
            var sqrt = addEps == null ? null : Next(addEps.Output[0], "Sqrt");
            var div = sqrt == null ? null : g.Consumers(sqrt.Output[0]).FirstOrDefault(n => n.OpType == "Div" && n.Input[0] == d);
            var mul = div == null ? null : Next(div.Output[0], "Mul");
            string? gamma = mul?.Input.FirstOrDefault(g.IsConst);
            var add = mul == null ? null : Next(mul.Output[0], "Add");
            string? beta = add?.Input.FirstOrDefault(g.IsConst);
            if (eps == null || gamma == null || beta == null || add == null)
                throw NotBert($"'{x}' is normalized (ReduceMean, Sub) but not in the LayerNorm pattern this importer knows");
            return new LayerNorm(gamma, beta, Round(g.Floats(eps).Single()), add.Output[0]);
        }

        NodeProto? Next(string t, string op) => g.Consumers(t).FirstOrDefault(n => n.OpType == op);

        /// <summary>Pooler: tanh(dense(hidden[:, 0])), if the graph computes it.</summary>
        (Linear dense, string output)? Pooler(string h, long hidden)
        {
            foreach (var n in g.Consumers(h))
            {
                bool firstToken = n.OpType == "Gather" && IntAttr(n, "axis", 0) == 1 && g.IsConst(n.Input[1]) && g.Longs(n.Input[1]) is [0];
                if (!firstToken) continue;
                var dense = Linears(n.Output[0]).FirstOrDefault(l => l.In == hidden && l.Out == hidden);
                if (dense != null && Next(dense.Output, "Tanh") is { } tanh) return (dense, tanh.Output[0]);
            }
            return null;
        }

        // ---- state dict ----

        void AddLinear(Dictionary<string, Tensor> sd, string prefix, Linear l)
        {
            sd[prefix + ".weight"] = g.FloatTensor(l.Weight, transpose: !l.WeightIsOutIn);
            sd[prefix + ".bias"] = g.FloatTensor(l.Bias);
        }

        void AddLayerNorm(Dictionary<string, Tensor> sd, string prefix, LayerNorm ln, long hidden)
        {
            if (!IsBias(ln.Weight, hidden) || !IsBias(ln.Bias, hidden)) throw NotBert($"{prefix} scale/bias are not vectors of size {hidden}");
            sd[prefix + ".weight"] = g.FloatTensor(ln.Weight);
            sd[prefix + ".bias"] = g.FloatTensor(ln.Bias);
        }

        static long IntAttr(NodeProto n, string name, long dflt) => n.Attribute.FirstOrDefault(a => a.Name == name)?.I ?? dflt;
        static float FloatAttr(NodeProto n, string name, float dflt) => n.Attribute.FirstOrDefault(a => a.Name == name)?.F ?? dflt;

        /// <summary>eps is stored as float32 (1e-12 becomes 9.9999999e-13): keep the shortest decimal that round-trips.</summary>
        static double Round(float eps) => double.Parse(eps.ToString("R", System.Globalization.CultureInfo.InvariantCulture), System.Globalization.CultureInfo.InvariantCulture);
    }
}
