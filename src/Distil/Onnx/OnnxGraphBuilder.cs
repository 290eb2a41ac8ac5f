using System.Runtime.InteropServices;
using Google.Protobuf;
using Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace Distil.Onnx;

/// <summary>
/// Writes an ONNX graph with the onnx.proto types, one small helper per operator (MatMul, Add, LayerNorm, Conv, ...),
/// so that a model family's exporter reads like its forward pass. Tensor names are made unique by a prefix + counter;
/// weights become float/int8 initializers stored as raw little-endian bytes. Exporters of other model families (a CNN
/// student) reuse the same helpers: <see cref="Linear"/>, <see cref="Conv"/>, <see cref="LayerNorm"/>, <see cref="Relu"/>.
/// </summary>
public sealed class OnnxGraphBuilder
{
    /// <summary>ONNX opset of the default domain (17: LayerNormalization is a standard op from here on).</summary>
    public const int Opset = 17;
    public const string MicrosoftDomain = "com.microsoft";

    readonly GraphProto graph = new() { Name = "distil" };
    readonly HashSet<string> names = new(StringComparer.Ordinal);
    readonly Dictionary<string, int> counters = new(StringComparer.Ordinal);
    bool usesMicrosoftDomain;

    public GraphProto Graph => graph;

    /// <summary>A fresh tensor name: "<paramref name="hint"/>" if still free, else hint_1, hint_2, ...</summary>
    public string Name(string hint)
    {
        if (names.Add(hint)) return hint;
        while (true)
        {
            int n = counters[hint] = counters.GetValueOrDefault(hint) + 1;
            string candidate = $"{hint}_{n}";
            if (names.Add(candidate)) return candidate;
        }
    }

    // ---- graph inputs, outputs and constants ---------------------------------------------------------------------

    /// <summary>A graph input; a string dim is symbolic (dynamic), a long dim fixed.</summary>
    public string Input(string name, DataType type, params object[] dims)
    {
        names.Add(name);
        graph.Input.Add(ValueInfo(name, type, dims));
        return name;
    }

    /// <summary>Declares <paramref name="tensor"/> as a graph output (renamed through an Identity when the name differs).</summary>
    public string Output(string tensor, string name, DataType type, params object[] dims)
    {
        if (tensor != name) Node("Identity", [tensor], [Reserve(name)]);
        graph.Output.Add(ValueInfo(name, type, dims));
        return name;
    }

    string Reserve(string name) => names.Add(name) ? name : throw new InvalidOperationException($"tensor name '{name}' is already used");

    static ValueInfoProto ValueInfo(string name, DataType type, object[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims)
            shape.Dim.Add(d switch
            {
                string s => new TensorShapeProto.Types.Dimension { DimParam = s },
                int i => new TensorShapeProto.Types.Dimension { DimValue = i },
                long l => new TensorShapeProto.Types.Dimension { DimValue = l },
                _ => throw new ArgumentException($"dimension {d} must be a string (symbolic) or an integer"),
            });
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } } };
    }

    public string Initializer(string hint, ReadOnlySpan<float> values, params long[] dims) => Initializer(hint, DataType.Float, MemoryMarshal.AsBytes(values), dims);
    public string Initializer(string hint, ReadOnlySpan<sbyte> values, params long[] dims) => Initializer(hint, DataType.Int8, MemoryMarshal.AsBytes(values), dims);
    public string Initializer(string hint, ReadOnlySpan<byte> values, params long[] dims) => Initializer(hint, DataType.Uint8, values, dims);
    public string Initializer(string hint, ReadOnlySpan<long> values, params long[] dims) => Initializer(hint, DataType.Int64, MemoryMarshal.AsBytes(values), dims);

    string Initializer(string hint, DataType type, ReadOnlySpan<byte> raw, long[] dims)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("ONNX raw_data is little-endian; this machine is not");
        var t = new TensorProto { Name = Name(hint), DataType = (int)type, RawData = ByteString.CopyFrom(raw) };
        t.Dims.AddRange(dims);
        graph.Initializer.Add(t);
        return t.Name;
    }

    public string Scalar(string hint, float value) => Initializer(hint, [value]);
    public string Longs(string hint, params long[] values) => Initializer(hint, values, values.Length);

    // ---- nodes ---------------------------------------------------------------------------------------------------

    /// <summary>Adds a node; outputs are fresh names derived from the op type unless given.</summary>
    public string[] Node(string op, string[] inputs, string[]? outputs = null, int outputCount = 1, string? domain = null, params AttributeProto[] attributes)
    {
        outputs ??= Enumerable.Range(0, outputCount).Select(_ => Name(op.ToLowerInvariant())).ToArray();
        var n = new NodeProto { OpType = op, Name = Name("n_" + op) };
        if (domain != null) { n.Domain = domain; usesMicrosoftDomain |= domain == MicrosoftDomain; }
        n.Input.AddRange(inputs);
        n.Output.AddRange(outputs);
        n.Attribute.AddRange(attributes);
        graph.Node.Add(n);
        return outputs;
    }

    string Op(string op, params string[] inputs) => Node(op, inputs)[0];
    string Op(string op, string[] inputs, params AttributeProto[] attributes) => Node(op, inputs, attributes: attributes)[0];

    public static AttributeProto Attr(string name, long value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };
    public static AttributeProto Attr(string name, float value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };
    public static AttributeProto Attr(string name, long[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(values);
        return a;
    }

    public string Add(string a, string b) => Op("Add", a, b);
    public string Sub(string a, string b) => Op("Sub", a, b);
    public string Mul(string a, string b) => Op("Mul", a, b);
    public string Div(string a, string b) => Op("Div", a, b);
    public string Max(string a, string b) => Op("Max", a, b);
    public string Min(string a, string b) => Op("Min", a, b);
    public string Equal(string a, string b) => Op("Equal", a, b);
    public string Greater(string a, string b) => Op("Greater", a, b);
    public string Where(string condition, string x, string y) => Op("Where", condition, x, y);
    /// <summary>Inclusive running sum along <paramref name="axis"/>.</summary>
    public string CumSum(string x, long axis) => Op("CumSum", x, Initializer("cumsum_axis", new[] { axis })); // a 0-D axis, as the spec asks
    public string MatMul(string a, string b) => Op("MatMul", a, b);
    public string Tanh(string x) => Op("Tanh", x);
    public string Relu(string x) => Op("Relu", x);
    public string Erf(string x) => Op("Erf", x);
    public string Cast(string x, DataType to) => Op("Cast", [x], Attr("to", (long)to));
    public string Softmax(string x, long axis = -1) => Op("Softmax", [x], Attr("axis", axis));
    public string Transpose(string x, params long[] perm) => Op("Transpose", [x], Attr("perm", perm));
    /// <summary>ONNX Reshape: 0 copies the input's dimension, -1 is inferred.</summary>
    public string Reshape(string x, params long[] shape) => Op("Reshape", x, Longs("shape", shape));
    public string Concat(long axis, params string[] xs) => Op("Concat", xs, Attr("axis", axis));
    public string Unsqueeze(string x, params long[] axes) => Op("Unsqueeze", x, Longs("axes", axes));
    public string Gather(string data, string indices, long axis = 0) => Op("Gather", [data, indices], Attr("axis", axis));
    public string ReduceSum(string x, long axis, bool keepDims) => Op("ReduceSum", [x, Longs("axes", axis)], Attr("keepdims", keepDims ? 1L : 0L));
    /// <summary>ReduceMax over one axis (opset 17: axes is an attribute).</summary>
    public string ReduceMax(string x, long axis, bool keepDims) => Op("ReduceMax", [x], Attr("axes", new[] { axis }), Attr("keepdims", keepDims ? 1L : 0L));
    /// <summary>Dimensions start..end-1 of a tensor's shape as an int64 vector (Shape with start/end, opset 15+).</summary>
    public string ShapeSlice(string x, long start, long end) => Op("Shape", [x], Attr("start", start), Attr("end", end));
    public string Slice(string x, string starts, string ends, string axes) => Op("Slice", x, starts, ends, axes);

    /// <summary>torch's Linear: x @ W^T + b, with W given as (out, in) row-major as torch stores it.</summary>
    public string Linear(string x, float[] weightOutIn, float[]? bias, int outFeatures, int inFeatures, string hint)
    {
        var wT = new float[weightOutIn.Length]; // (out, in) -> (in, out): MatMul's B layout
        for (int o = 0; o < outFeatures; o++)
            for (int i = 0; i < inFeatures; i++) wT[i * outFeatures + o] = weightOutIn[o * inFeatures + i];
        string y = MatMul(x, Initializer(hint + ".weight", wT, inFeatures, outFeatures));
        return bias == null ? y : Add(y, Initializer(hint + ".bias", bias, outFeatures));
    }

    /// <summary>LayerNormalization over the last axis (a standard op from opset 17).</summary>
    public string LayerNorm(string x, float[] weight, float[] bias, double eps, string hint) =>
        Op("LayerNormalization", [x, Initializer(hint + ".weight", weight, weight.Length), Initializer(hint + ".bias", bias, bias.Length)],
            Attr("axis", -1L), Attr("epsilon", (float)eps));

    /// <summary>Exact GELU, 0.5 x (1 + erf(x / sqrt 2)): the pattern ONNX Runtime fuses into one Gelu kernel.</summary>
    public string Gelu(string x)
    {
        string inner = Erf(Div(x, Scalar("sqrt2", MathF.Sqrt(2f))));
        return Mul(Mul(x, Add(inner, Scalar("one", 1f))), Scalar("half", 0.5f));
    }

    /// <summary>Tanh GELU (HF gelu_new): 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).</summary>
    public string GeluTanh(string x)
    {
        string cube = Mul(Mul(x, x), x);
        string inner = Mul(Add(x, Mul(cube, Scalar("c044715", 0.044715f))), Scalar("sqrt_2_over_pi", MathF.Sqrt(2f / MathF.PI)));
        return Mul(Mul(x, Add(Tanh(inner), Scalar("one", 1f))), Scalar("half", 0.5f));
    }

    /// <summary>Conv1d/2d with torch's (out, in/groups, k...) weight layout, which is also ONNX's.</summary>
    public string Conv(string x, float[] weight, long[] weightDims, float[]? bias, long[] pads, long[] dilations, long[] strides, long group, string hint)
    {
        var inputs = new List<string> { x, Initializer(hint + ".weight", weight, weightDims) };
        if (bias != null) inputs.Add(Initializer(hint + ".bias", bias, bias.Length));
        return Op("Conv", inputs.ToArray(), Attr("pads", pads), Attr("dilations", dilations), Attr("strides", strides), Attr("group", group));
    }

    /// <summary>The finished model: opset <see cref="Opset"/> (+ com.microsoft 1 if used), producer and metadata.</summary>
    public ModelProto Build(IReadOnlyDictionary<string, string>? metadata = null)
    {
        var model = new ModelProto
        {
            IrVersion = 8, // the IR version of opset 17
            ProducerName = "distil",
            ProducerVersion = Version.Value,
            Graph = graph,
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        if (usesMicrosoftDomain) model.OpsetImport.Add(new OperatorSetIdProto { Domain = MicrosoftDomain, Version = 1 });
        foreach (var (k, v) in metadata ?? new Dictionary<string, string>())
            model.MetadataProps.Add(new StringStringEntryProto { Key = k, Value = v });
        return model;
    }
}
