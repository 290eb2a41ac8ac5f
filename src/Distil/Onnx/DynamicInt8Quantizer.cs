using System.Runtime.InteropServices;
using Google.Protobuf;
using Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace Distil.Onnx;

/// <summary>
/// How a quantized MatMul is written. All three quantize the weight once (int8, per output channel) and the
/// activation on every call (uint8, per tensor, DynamicQuantizeLinear); they differ in the operators ORT sees:
/// <list type="bullet">
/// <item><c>Integer</c>: DynamicQuantizeLinear + MatMulInteger + Cast + Mul (standard ONNX, what onnxruntime's
/// Python quantize_dynamic writes; ORT fuses it into one kernel).</item>
/// <item><c>Contrib</c>: com.microsoft DynamicQuantizeMatMul (ORT's fused kernel, written directly).</item>
/// <item><c>Qdq</c>: DynamicQuantizeLinear + DequantizeLinear on the activation, DequantizeLinear on the weight, float
/// MatMul (the QDQ form; fast only where the runtime turns QDQ pairs into integer kernels).</item>
/// </list>
/// </summary>
public enum Int8Format { Integer, Contrib, Qdq }

public sealed record QuantizeOptions
{
    public Int8Format Format { get; init; } = Int8Format.Integer;
    /// <summary>Also store float embedding tables (Gather on a float initializer) as int8 with one scale per row.</summary>
    public bool Embeddings { get; init; } = true;
    /// <summary>7-bit weights (-63..63): needed on x86 CPUs without AVX-512 VNNI / AVX-VNNI, whose u8 x s8 kernels can saturate.</summary>
    public bool ReduceRange { get; init; }
    /// <summary>Weights (initializer names) to leave in float.</summary>
    public IReadOnlyCollection<string> Exclude { get; init; } = [];
    /// <summary>
    /// MatMuls that read the same activation, each followed by a bias Add (BERT's query, key and value), become one int8
    /// MatMul over the concatenated weights and biases, then a Split (integer and contrib forms): one activation
    /// quantization, one packed A, one wider GEMM instead of three. The values are the same (per-column scales).
    /// </summary>
    public bool FuseSharedInput { get; init; }
}

public sealed record QuantizeReport(Int8Format Format, int MatMuls, int Embeddings, long Int8Values, long FloatValuesLeft, IReadOnlyList<string> QuantizedWeights)
{
    /// <summary>Convolutions made int8 (ConvInteger, or DequantizeLinear + Conv in the QDQ form).</summary>
    public int Convs { get; init; }
    /// <summary>MatMuls merged with others that read the same input (<see cref="QuantizeOptions.FuseSharedInput"/>).</summary>
    public int FusedMatMuls { get; init; }
}

/// <summary>
/// Post-training dynamic int8 quantization of an ONNX graph: every MatMul whose B input is a constant 2-D float weight
/// gets int8 per-channel weights (<see cref="Int8Math.QuantizePerColumn"/>) and a uint8 dynamically quantized
/// activation; embedding tables optionally become int8 per row. Nothing is model specific, so any exported family
/// (BERT, a CNN student's MatMuls) goes through the same pass. Needs no calibration data.
/// </summary>
public static class DynamicInt8Quantizer
{
    public static (ModelProto Model, QuantizeReport Report) Quantize(ModelProto fp32, QuantizeOptions o)
    {
        var pass = new Pass(fp32.Clone(), o);
        pass.RewriteNodes();
        return pass.Finish();
    }

    /// <summary>
    /// One quantization of one graph: the nodes written so far, the names taken, the activations already quantized, and
    /// the counts for the report. Each step below appends its nodes and initializers in the order the graph needs them,
    /// so the same model and options always give the same bytes.
    /// </summary>
    sealed class Pass
    {
        readonly ModelProto model;
        readonly GraphProto g;
        readonly QuantizeOptions o;
        readonly Dictionary<string, TensorProto> inits;
        readonly HashSet<string> used;
        readonly int maxQ;
        readonly Dictionary<string, (string Q, string Scale, string ZeroPoint)> dynamicQuant = new(StringComparer.Ordinal);
        readonly Dictionary<string, string> dequantized = new(StringComparer.Ordinal);
        readonly List<NodeProto> nodes = [];
        readonly List<string> quantized = [];
        int matmuls, embeddings, convs, fusedMatMuls;
        long int8Values;

        public Pass(ModelProto model, QuantizeOptions o)
        {
            this.model = model;
            this.o = o;
            g = model.Graph;
            inits = g.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal);
            used = new HashSet<string>(g.Node.SelectMany(n => n.Input.Concat(n.Output)).Concat(inits.Keys).Concat(g.Input.Select(i => i.Name)), StringComparer.Ordinal);
            maxQ = o.ReduceRange ? 63 : 127;
        }

        /// <summary>Every node in graph order: a quantizable one is replaced by its int8 form, any other is kept.</summary>
        public void RewriteNodes()
        {
            var fusedGroups = o.FuseSharedInput && o.Format != Int8Format.Qdq ? SharedInputGroups(g, inits, o) : [];
            var fusedAway = new HashSet<NodeProto>(fusedGroups.SelectMany(grp => grp.Skip(1).SelectMany(m => new[] { m.MatMul, m.Add })), ReferenceEqualityComparer.Instance);
            var groupOf = new Dictionary<NodeProto, List<Member>>(ReferenceEqualityComparer.Instance);
            foreach (var grp in fusedGroups) groupOf[grp[0].MatMul] = grp;
            foreach (var grp in fusedGroups) fusedAway.Add(grp[0].Add);

            foreach (var n in g.Node)
            {
                if (groupOf.TryGetValue(n, out var group)) FusedMatMul(n, group);
                else if (fusedAway.Contains(n)) continue;
                else if (n.OpType == "MatMul" && n.Domain is "" or null && FloatWeight(inits, n.Input[1], o) is { } w) MatMul(n, w);
                else if (n.OpType == "Attention" && n.Domain == "com.microsoft" && FloatWeight(inits, n.Input[1], o) is { } qkv) Attention(n, qkv);
                else if (n.OpType == "Conv" && n.Domain is "" or null && ConvWeight(inits, n.Input[1], o) is { } cw) Conv(n, cw);
                else if (o.Embeddings && n.OpType == "Gather" && n.Domain is "" or null && Axis(n) == 0 && FloatWeight(inits, n.Input[0], o) is { } table) Embedding(n, table);
                else nodes.Add(n);
            }
        }

        /// <summary>
        /// The rewritten graph: the new nodes, only the initializers something still reads (the float weights that were
        /// quantized go), the com.microsoft opset when a contrib op was written, and the int8 metadata.
        /// </summary>
        public (ModelProto Model, QuantizeReport Report) Finish()
        {
            g.Node.Clear();
            g.Node.AddRange(nodes);
            var read = new HashSet<string>(g.Node.SelectMany(n => n.Input), StringComparer.Ordinal);
            var keep = g.Initializer.Where(t => read.Contains(t.Name)).ToList();
            g.Initializer.Clear();
            g.Initializer.AddRange(keep);
            if (g.Node.Any(n => n.Domain == "com.microsoft") && model.OpsetImport.All(s => s.Domain != "com.microsoft"))
                model.OpsetImport.Add(new OperatorSetIdProto { Domain = "com.microsoft", Version = 1 });
            SetMetadata(model, "distil.precision", "int8");
            SetMetadata(model, "distil.int8_format", o.Format.ToString().ToLowerInvariant());

            long floatsLeft = keep.Where(t => t.DataType == (int)DataType.Float).Sum(t => t.Dims.Aggregate(1L, (a, d) => a * d));
            return (model, new QuantizeReport(o.Format, matmuls, embeddings, int8Values, floatsLeft, quantized) { Convs = convs, FusedMatMuls = fusedMatMuls });
        }

        /// <summary>One int8 MatMul over [W1 | W2 | ...] and [b1 | b2 | ...], split back into the bias Adds' outputs.</summary>
        void FusedMatMul(NodeProto n, List<Member> group)
        {
            int k = (int)group[0].Weight.Dims[0];
            int[] widths = group.Select(m => (int)m.Weight.Dims[1]).ToArray();
            int cols = widths.Sum();
            var (wcat, bcat) = Concatenate(group, k, widths);
            string hint = string.Join("+", group.Select(m => m.Weight.Name));
            var (wq, ws, wzp, values) = PerColumnWeight(hint, wcat, k, cols);
            string bias = Init(hint + "_bias", DataType.Float, MemoryMarshal.AsBytes(bcat.AsSpan()), cols);
            string x = n.Input[0], y = Fresh(hint + "_output");
            if (o.Format == Int8Format.Contrib)
                nodes.Add(Node("DynamicQuantizeMatMul", [x, wq, ws, wzp, bias], [y], "com.microsoft"));
            else
            {
                var (xq, xs, xzp) = QuantizeActivation(x);
                string acc = Fresh(y + "_int32"), accF = Fresh(y + "_int32_float"), scale = Fresh(y + "_scale"), scaled = Fresh(y + "_scaled");
                nodes.Add(Node("MatMulInteger", [xq, wq, xzp, wzp], [acc]));
                nodes.Add(Node("Cast", [acc], [accF], null, Attr("to", (long)DataType.Float)));
                nodes.Add(Node("Mul", [xs, ws], [scale]));
                nodes.Add(Node("Mul", [accF, scale], [scaled]));
                nodes.Add(Node("Add", [scaled, bias], [y]));
            }
            string sizes = Init(hint + "_split", DataType.Int64, MemoryMarshal.AsBytes(widths.Select(w => (long)w).ToArray().AsSpan()), widths.Length);
            nodes.Add(Node("Split", [y, sizes], group.Select(m => m.Add.Output[0]).ToArray(), null, Attr("axis", -1)));
            matmuls += group.Count;
            fusedMatMuls += group.Count;
            int8Values += values;
            quantized.AddRange(group.Select(m => m.Weight.Name));
        }

        /// <summary>A MatMul with a constant (K, N) weight, in the chosen <see cref="Int8Format"/>.</summary>
        void MatMul(NodeProto n, TensorProto w)
        {
            int k = (int)w.Dims[0], cols = (int)w.Dims[1];
            var (wq, ws, wzp, values) = PerColumnWeight(w.Name, Floats(w), k, cols);
            string x = n.Input[0], y = n.Output[0];
            switch (o.Format)
            {
                case Int8Format.Contrib:
                    nodes.Add(Node("DynamicQuantizeMatMul", [x, wq, ws, wzp], [y], "com.microsoft"));
                    break;
                case Int8Format.Integer:
                    {
                        var (xq, xs, xzp) = QuantizeActivation(x);
                        string acc = Fresh(y + "_int32"), accF = Fresh(y + "_int32_float"), scale = Fresh(y + "_scale");
                        nodes.Add(Node("MatMulInteger", [xq, wq, xzp, wzp], [acc]));
                        nodes.Add(Node("Cast", [acc], [accF], null, Attr("to", (long)DataType.Float)));
                        nodes.Add(Node("Mul", [xs, ws], [scale])); // per-tensor activation scale x per-channel weight scale: [N]
                        nodes.Add(Node("Mul", [accF, scale], [y]));
                        break;
                    }
                case Int8Format.Qdq:
                    {
                        string xdq = Dequantized(x);
                        string wdq = Fresh(w.Name + "_dequantized");
                        nodes.Add(Node("DequantizeLinear", [wq, ws, wzp], [wdq], null, Attr("axis", 1)));
                        nodes.Add(Node("MatMul", [xdq, wdq], [y]));
                        break;
                    }
            }
            matmuls++;
            int8Values += values;
            quantized.Add(w.Name);
        }

        /// <summary>
        /// ORT's fused attention (an --ort-fused export): its (H, 3H) Q/K/V weight goes int8 per column, and the node
        /// becomes QAttention fed by the dynamically quantized input.
        /// </summary>
        void Attention(NodeProto n, TensorProto qkv)
        {
            int k = (int)qkv.Dims[0], cols = (int)qkv.Dims[1];
            var (wq, ws, wzp, values) = PerColumnWeight(qkv.Name, Floats(qkv), k, cols);
            var (xq, xs, xzp) = QuantizeActivation(n.Input[0]);
            string mask = n.Input.Count > 3 ? n.Input[3] : "";
            var attention = Node("QAttention", [xq, wq, n.Input[2], xs, ws, mask, xzp, wzp], n.Output.ToArray(), "com.microsoft");
            attention.Attribute.AddRange(n.Attribute);
            nodes.Add(attention);
            matmuls++;
            int8Values += values;
            quantized.Add(qkv.Name);
        }

        /// <summary>
        /// A convolution (the CNN student's): int8 per output channel, with the per-channel scales shaped (C, 1, ...) to
        /// broadcast over (B, C, T...), and the bias (if any) as a per-channel initializer of the same shape.
        /// </summary>
        void Conv(NodeProto n, TensorProto cw)
        {
            int outC = (int)cw.Dims[0], perOut = (int)(cw.Dims.Aggregate(1L, (a, d) => a * d) / outC);
            var (q, scales) = Int8Math.QuantizePerRow(Floats(cw), outC, perOut, maxQ);
            string x = n.Input[0], y = n.Output[0];
            var scaleDims = new long[cw.Dims.Count - 1];
            Array.Fill(scaleDims, 1L);
            scaleDims[0] = outC;
            string ws = Init(cw.Name + "_scale", DataType.Float, MemoryMarshal.AsBytes(scales.AsSpan()), scaleDims);
            string? bias = n.Input.Count > 2 && n.Input[2].Length > 0 && inits.TryGetValue(n.Input[2], out var b)
                ? Init(b.Name + "_per_channel", DataType.Float, MemoryMarshal.AsBytes(Floats(b).AsSpan()), scaleDims) : null;
            var attrs = n.Attribute.ToArray();
            if (o.Format == Int8Format.Qdq) DequantizedConv(n, cw, q, scales, x, y, attrs);
            else IntegerConv(cw, q, x, y, ws, bias, attrs);
            convs++;
            int8Values += q.Length;
            quantized.Add(cw.Name);
        }

        /// <summary>QDQ form: the weight dequantized per output channel (axis 0), then the float Conv with the original bias.</summary>
        void DequantizedConv(NodeProto n, TensorProto cw, sbyte[] q, float[] scales, string x, string y, AttributeProto[] attrs)
        {
            string xdq = Dequantized(x);
            int outC = (int)cw.Dims[0];
            string wq = Init(cw.Name + "_quantized", DataType.Int8, MemoryMarshal.AsBytes(q.AsSpan()), cw.Dims.ToArray());
            string flatScale = Init(cw.Name + "_scale_vector", DataType.Float, MemoryMarshal.AsBytes(scales.AsSpan()), outC);
            string wzp = Init(cw.Name + "_zero_point", DataType.Int8, new byte[outC], outC);
            string wdq = Fresh(cw.Name + "_dequantized");
            nodes.Add(Node("DequantizeLinear", [wq, flatScale, wzp], [wdq], null, Attr("axis", 0)));
            var conv = Node("Conv", n.Input.Count > 2 ? [xdq, wdq, n.Input[2]] : [xdq, wdq], [y]);
            conv.Attribute.AddRange(attrs);
            nodes.Add(conv);
        }

        /// <summary>
        /// ConvInteger form. ORT's ConvInteger takes uint8 weights with one zero point, so the symmetric int8 values are
        /// shifted by 128 (zero point 128 for every channel); the per-channel scales and the bias are applied after the
        /// integer conv: y = acc * (x_scale * w_scale[c]) + b[c].
        /// </summary>
        void IntegerConv(TensorProto cw, sbyte[] q, string x, string y, string ws, string? bias, AttributeProto[] attrs)
        {
            var u8 = new byte[q.Length];
            for (int i = 0; i < q.Length; i++) u8[i] = (byte)(q[i] + 128);
            string wq = Init(cw.Name + "_quantized", DataType.Uint8, u8, cw.Dims.ToArray());
            string wzp = Init(cw.Name + "_zero_point", DataType.Uint8, [128]);
            var (xq, xs, xzp) = QuantizeActivation(x);
            string acc = Fresh(y + "_int32"), accF = Fresh(y + "_int32_float"), scale = Fresh(y + "_scale");
            var conv = Node("ConvInteger", [xq, wq, xzp, wzp], [acc]);
            conv.Attribute.AddRange(attrs);
            nodes.Add(conv);
            nodes.Add(Node("Cast", [acc], [accF], null, Attr("to", (long)DataType.Float)));
            nodes.Add(Node("Mul", [xs, ws], [scale]));                 // (C, 1): activation scale x channel scale
            if (bias == null) nodes.Add(Node("Mul", [accF, scale], [y]));
            else
            {
                string scaled = Fresh(y + "_scaled");
                nodes.Add(Node("Mul", [accF, scale], [scaled]));
                nodes.Add(Node("Add", [scaled, bias], [y]));
            }
        }

        /// <summary>An embedding table read by Gather: int8 with one scale per row, gathered and rescaled per token.</summary>
        void Embedding(NodeProto n, TensorProto table)
        {
            int rows = (int)table.Dims[0], cols = (int)table.Dims[1];
            var (q, scales) = Int8Math.QuantizePerRow(Floats(table), rows, cols, 127);
            string tq = Init(table.Name + "_quantized", DataType.Int8, MemoryMarshal.AsBytes(q.AsSpan()), rows, cols);
            string ts = Init(table.Name + "_scale", DataType.Float, MemoryMarshal.AsBytes(scales.AsSpan()), rows, 1);
            string y = n.Output[0];
            string gq = Fresh(y + "_int8"), gqF = Fresh(y + "_int8_float"), gs = Fresh(y + "_row_scale");
            nodes.Add(Node("Gather", [tq, n.Input[1]], [gq], null, Attr("axis", 0)));     // (..., H) int8
            nodes.Add(Node("Gather", [ts, n.Input[1]], [gs], null, Attr("axis", 0)));     // (..., 1): each row's scale
            nodes.Add(Node("Cast", [gq], [gqF], null, Attr("to", (long)DataType.Float)));
            nodes.Add(Node("Mul", [gqF, gs], [y]));
            embeddings++;
            int8Values += q.Length;
            quantized.Add(table.Name);
        }

        /// <summary>A (K, N) float weight as int8 per column (<see cref="Int8Math.QuantizePerColumn"/>): values, scales, zero points.</summary>
        (string Q, string Scale, string ZeroPoint, int Values) PerColumnWeight(string hint, float[] w, int k, int cols)
        {
            var (q, scales) = Int8Math.QuantizePerColumn(w, k, cols, maxQ);
            string wq = Init(hint + "_quantized", DataType.Int8, MemoryMarshal.AsBytes(q.AsSpan()), k, cols);
            string ws = Init(hint + "_scale", DataType.Float, MemoryMarshal.AsBytes(scales.AsSpan()), cols);
            string wzp = Init(hint + "_zero_point", DataType.Int8, new byte[cols], cols);
            return (wq, ws, wzp, q.Length);
        }

        /// <summary>One DynamicQuantizeLinear per activation, shared by its consumers (query, key and value read the same hidden state).</summary>
        (string Q, string Scale, string ZeroPoint) QuantizeActivation(string x)
        {
            if (dynamicQuant.TryGetValue(x, out var done)) return done;
            var outs = (Fresh(x + "_quantized"), Fresh(x + "_scale"), Fresh(x + "_zero_point"));
            nodes.Add(Node("DynamicQuantizeLinear", [x], [outs.Item1, outs.Item2, outs.Item3]));
            return dynamicQuant[x] = outs;
        }

        /// <summary>The QDQ form's float view of a quantized activation, one DequantizeLinear shared like the quantization.</summary>
        string Dequantized(string x)
        {
            if (!dequantized.TryGetValue(x, out var xdq))
            {
                var (xq, xs, xzp) = QuantizeActivation(x);
                nodes.Add(Node("DequantizeLinear", [xq, xs, xzp], [xdq = dequantized[x] = Fresh(x + "_dequantized")]));
            }
            return xdq;
        }

        /// <summary>A name not yet in the graph: the hint, else hint_1, hint_2, ...</summary>
        string Fresh(string hint)
        {
            string name = hint;
            for (int i = 1; !used.Add(name); i++) name = $"{hint}_{i}";
            return name;
        }

        string Init(string hint, DataType type, ReadOnlySpan<byte> raw, params long[] dims)
        {
            var t = new TensorProto { Name = Fresh(hint), DataType = (int)type, RawData = ByteString.CopyFrom(raw) };
            t.Dims.AddRange(dims);
            g.Initializer.Add(t);
            return t.Name;
        }

        NodeProto Node(string op, string[] inputs, string[] outputs, string? domain = null, params AttributeProto[] attrs)
        {
            var n = new NodeProto { OpType = op, Name = Fresh("q_" + op) };
            if (domain != null) n.Domain = domain;
            n.Input.AddRange(inputs);
            n.Output.AddRange(outputs);
            n.Attribute.AddRange(attrs);
            return n;
        }
    }

    /// <summary>The members' (K, N_i) weights side by side as one (K, ΣN_i) matrix, and their biases as one vector.</summary>
    static (float[] W, float[] B) Concatenate(List<Member> group, int k, int[] widths)
    {
        int cols = widths.Sum();
        var wcat = new float[k * cols];
        var bcat = new float[cols];
        int offset = 0;
        foreach (var (m, width) in group.Zip(widths))
        {
            var wm = Floats(m.Weight);
            for (int r = 0; r < k; r++) Array.Copy(wm, r * width, wcat, r * cols + offset, width);
            Array.Copy(Floats(m.Bias), 0, bcat, offset, width);
            offset += width;
        }
        return (wcat, bcat);
    }

    static TensorProto? FloatWeight(Dictionary<string, TensorProto> inits, string name, QuantizeOptions o) =>
        inits.TryGetValue(name, out var t) && t.DataType == (int)DataType.Float && t.Dims.Count == 2 && t.Dims[0] > 1 && t.Dims[1] > 0
        && !o.Exclude.Contains(name) ? t : null;

    sealed record Member(NodeProto MatMul, TensorProto Weight, NodeProto Add, TensorProto Bias);

    /// <summary>
    /// Groups of 2+ MatMuls with the same input and constant (K, N_i) weights of one K, each read only by an Add of a
    /// constant (N_i) bias, in graph order: what <see cref="QuantizeOptions.FuseSharedInput"/> merges.
    /// </summary>
    static List<List<Member>> SharedInputGroups(GraphProto g, Dictionary<string, TensorProto> inits, QuantizeOptions o)
    {
        var consumers = new Dictionary<string, List<NodeProto>>(StringComparer.Ordinal);
        foreach (var n in g.Node)
            foreach (var i in n.Input) (consumers.TryGetValue(i, out var l) ? l : consumers[i] = new()).Add(n);
        var graphOutputs = g.Output.Select(v => v.Name).ToHashSet(StringComparer.Ordinal);
        var members = new List<Member>();
        foreach (var n in g.Node)
        {
            if (n.OpType != "MatMul" || n.Domain is not ("" or null) || FloatWeight(inits, n.Input[1], o) is not { } w) continue;
            if (graphOutputs.Contains(n.Output[0]) || !consumers.TryGetValue(n.Output[0], out var readers) || readers.Count != 1) continue;
            var add = readers[0];
            if (add.OpType != "Add" || add.Domain is not ("" or null) || add.Input.Count != 2) continue;
            string other = add.Input[0] == n.Output[0] ? add.Input[1] : add.Input[0];
            if (inits.TryGetValue(other, out var b) && b.DataType == (int)DataType.Float && b.Dims.Count == 1 && b.Dims[0] == w.Dims[1])
                members.Add(new Member(n, w, add, b));
        }
        return members.GroupBy(m => (m.MatMul.Input[0], m.Weight.Dims[0])).Where(grp => grp.Count() > 1).Select(grp => grp.ToList()).ToList();
    }

    static TensorProto? ConvWeight(Dictionary<string, TensorProto> inits, string name, QuantizeOptions o) =>
        inits.TryGetValue(name, out var t) && t.DataType == (int)DataType.Float && t.Dims.Count >= 3 && !o.Exclude.Contains(name) ? t : null;

    static long Axis(NodeProto n) => n.Attribute.FirstOrDefault(a => a.Name == "axis")?.I ?? 0;

    static float[] Floats(TensorProto t)
    {
        if (t.DataLocation == TensorProto.Types.DataLocation.External)
            throw DistilException.BadInput($"tensor '{t.Name}' is stored in an external data file, which is not supported; export the model as one .onnx file");
        return t.RawData.IsEmpty ? t.FloatData.ToArray() : MemoryMarshal.Cast<byte, float>(t.RawData.Span).ToArray();
    }

    static AttributeProto Attr(string name, long value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    static void SetMetadata(ModelProto m, string key, string value)
    {
        var existing = m.MetadataProps.FirstOrDefault(p => p.Key == key);
        if (existing != null) existing.Value = value;
        else m.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });
    }
}
