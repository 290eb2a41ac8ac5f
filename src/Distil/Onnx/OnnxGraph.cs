using System.Runtime.InteropServices;
using Google.Protobuf;
using Onnx;
using TorchSharp;
using static TorchSharp.torch;

namespace Distil.Onnx;

/// <summary>
/// Read-only view of an ONNX graph for pattern matching: constants (initializers and Constant nodes alike),
/// who produces and who consumes each tensor, and constant values decoded from raw_data or the typed fields.
/// </summary>
public sealed class OnnxGraph
{
    public string Source { get; }
    public ModelProto Model { get; }
    public GraphProto Graph => Model.Graph;
    readonly Dictionary<string, TensorProto> consts = new(StringComparer.Ordinal);
    readonly Dictionary<string, NodeProto> producers = new(StringComparer.Ordinal);
    readonly Dictionary<string, List<NodeProto>> consumers = new(StringComparer.Ordinal);

    OnnxGraph(string source, ModelProto model)
    {
        Source = source;
        Model = model;
        foreach (var t in model.Graph.Initializer) consts[t.Name] = t;
        foreach (var n in model.Graph.Node)
        {
            foreach (var o in n.Output) producers[o] = n;
            foreach (var i in n.Input)
            {
                if (i.Length == 0) continue; // an omitted optional input
                if (!consumers.TryGetValue(i, out var list)) consumers[i] = list = new List<NodeProto>();
                list.Add(n);
            }
            if (n.OpType == "Constant" && n.Output.Count == 1 && ConstantValue(n) is { } value)
                consts[n.Output[0]] = value;
        }
    }

    /// <summary>Parses an .onnx file; a missing file is NotFound, anything unreadable is BadInput.</summary>
    public static OnnxGraph Load(string path)
    {
        if (!File.Exists(path)) throw DistilException.NotFound($"{path}: ONNX file not found");
        ModelProto model;
        try
        {
            using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
            model = ModelProto.Parser.ParseFrom(fs);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw DistilException.BadInput($"{path}: not a valid ONNX model ({e.Message}); the file is truncated or corrupt");
        }
        if (model.Graph == null || model.Graph.Node.Count == 0)
            throw DistilException.BadInput($"{path}: not a valid ONNX model (it holds no graph); the file is truncated or corrupt");
        return new OnnxGraph(path, model);
    }

    /// <summary>The tensor a Constant node holds, whichever of its value attributes is set.</summary>
    static TensorProto? ConstantValue(NodeProto n)
    {
        foreach (var a in n.Attribute)
        {
            switch (a.Name)
            {
                case "value": return a.T;
                case "value_float": return new TensorProto { DataType = (int)TensorProto.Types.DataType.Float, FloatData = { a.F } };
                case "value_floats":
                    {
                        var t = new TensorProto { DataType = (int)TensorProto.Types.DataType.Float, Dims = { a.Floats.Count } };
                        t.FloatData.AddRange(a.Floats);
                        return t;
                    }
                case "value_int": return new TensorProto { DataType = (int)TensorProto.Types.DataType.Int64, Int64Data = { a.I } };
                case "value_ints":
                    {
                        var t = new TensorProto { DataType = (int)TensorProto.Types.DataType.Int64, Dims = { a.Ints.Count } };
                        t.Int64Data.AddRange(a.Ints);
                        return t;
                    }
            }
        }
        return null;
    }

    public IEnumerable<string> GraphInputs => Graph.Input.Select(i => i.Name).Where(n => !consts.ContainsKey(n));
    public IEnumerable<string> GraphOutputs => Graph.Output.Select(o => o.Name);
    public bool IsConst(string name) => consts.ContainsKey(name);
    public NodeProto? Producer(string name) => producers.GetValueOrDefault(name);
    public IReadOnlyList<NodeProto> Consumers(string name) => consumers.TryGetValue(name, out var l) ? l : Array.Empty<NodeProto>();

    public long[] Dims(string name) => consts[name].Dims.ToArray();

    static bool IsFloatType(int t) => t is (int)TensorProto.Types.DataType.Float or (int)TensorProto.Types.DataType.Double
        or (int)TensorProto.Types.DataType.Float16 or (int)TensorProto.Types.DataType.Bfloat16;

    /// <summary>True for a float constant with the given rank.</summary>
    public bool IsFloatConst(string name, int rank) =>
        consts.TryGetValue(name, out var t) && IsFloatType(t.DataType) && t.Dims.Count == rank;

    /// <summary>A float constant's values in row-major order (float, double, float16 and bfloat16 are accepted).</summary>
    public float[] Floats(string name)
    {
        var t = Checked(name);
        var raw = t.RawData.Span;
        bool useRaw = !t.RawData.IsEmpty;
        float[] v = (TensorProto.Types.DataType)t.DataType switch
        {
            TensorProto.Types.DataType.Float => useRaw ? MemoryMarshal.Cast<byte, float>(raw).ToArray() : t.FloatData.ToArray(),
            TensorProto.Types.DataType.Double => (useRaw ? MemoryMarshal.Cast<byte, double>(raw).ToArray() : t.DoubleData.ToArray()).Select(d => (float)d).ToArray(),
            // float16/bfloat16 without raw_data keep their 16 bits in int32_data.
            TensorProto.Types.DataType.Float16 => (useRaw ? MemoryMarshal.Cast<byte, ushort>(raw).ToArray() : t.Int32Data.Select(i => (ushort)i).ToArray())
                .Select(b => (float)BitConverter.UInt16BitsToHalf(b)).ToArray(),
            TensorProto.Types.DataType.Bfloat16 => (useRaw ? MemoryMarshal.Cast<byte, ushort>(raw).ToArray() : t.Int32Data.Select(i => (ushort)i).ToArray())
                .Select(b => BitConverter.Int32BitsToSingle(b << 16)).ToArray(),
            _ => throw DistilException.BadInput($"{Source}: constant '{name}' has ONNX data type {t.DataType}, expected a float type"),
        };
        CheckCount(name, t, v.Length);
        return v;
    }

    /// <summary>An integer constant's values (int64 or int32).</summary>
    public long[] Longs(string name)
    {
        var t = Checked(name);
        var raw = t.RawData.Span;
        bool useRaw = !t.RawData.IsEmpty;
        long[] v = (TensorProto.Types.DataType)t.DataType switch
        {
            TensorProto.Types.DataType.Int64 => useRaw ? MemoryMarshal.Cast<byte, long>(raw).ToArray() : t.Int64Data.ToArray(),
            TensorProto.Types.DataType.Int32 => (useRaw ? MemoryMarshal.Cast<byte, int>(raw).ToArray() : t.Int32Data.ToArray()).Select(i => (long)i).ToArray(),
            _ => throw DistilException.BadInput($"{Source}: constant '{name}' has ONNX data type {t.DataType}, expected an integer type"),
        };
        CheckCount(name, t, v.Length);
        return v;
    }

    /// <summary>A float constant as a float32 tensor; <paramref name="transpose"/> turns an ONNX MatMul [in, out] weight into torch's [out, in].</summary>
    public Tensor FloatTensor(string name, bool transpose = false)
    {
        using var scope = torch.NewDisposeScope();
        var t = torch.tensor(Floats(name), Dims(name));
        if (transpose) t = t.t().contiguous();
        return t.MoveToOuterDisposeScope();
    }

    TensorProto Checked(string name)
    {
        if (!consts.TryGetValue(name, out var t)) throw new InvalidOperationException($"'{name}' is not a constant");
        if (t.DataLocation == TensorProto.Types.DataLocation.External)
            throw DistilException.BadInput($"{Source}: tensor '{name}' is stored in an external data file, which is not supported; re-export the model as a single .onnx file");
        return t;
    }

    void CheckCount(string name, TensorProto t, long count)
    {
        long expected = 1;
        foreach (var d in t.Dims) expected *= d;
        if (expected != count)
            throw DistilException.BadInput($"{Source}: tensor '{name}' has shape [{string.Join(", ", t.Dims)}] but holds {count} values; the file is corrupt");
    }
}
