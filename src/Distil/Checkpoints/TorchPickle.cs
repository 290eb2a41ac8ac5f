using System.Buffers.Binary;
using System.Text;

namespace Distil.Checkpoints;

/// <summary>
/// A restricted unpickler for the <c>data.pkl</c> of a <c>torch.save</c> archive. It never runs Python: it knows only
/// the opcodes a state dict is written with and the few globals it names (OrderedDict, the tensor and parameter
/// rebuilders, the storage classes), and builds plain values from them. Any other global, or a call of an allowed
/// global that a state dict never makes, is refused before anything happens.
/// </summary>
public static class TorchPickle
{
    /// <summary>A Python global named by GLOBAL / STACK_GLOBAL (only allowed ones are ever created).</summary>
    public sealed record Global(string Module, string Name)
    {
        public override string ToString() => $"{Module}.{Name}";
    }

    /// <summary>A tuple; a list is a <see cref="List{T}"/> of objects.</summary>
    public sealed record Tuple(object?[] Items);

    /// <summary>A dict or OrderedDict, in insertion order.</summary>
    public sealed class Dict : List<KeyValuePair<object?, object?>> { }

    /// <summary>A storage persistent id: <c>('storage', torch.FloatStorage, key, location, numel)</c>.</summary>
    public sealed record Storage(string Type, string Key, long Numel);

    /// <summary>What <c>torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)</c> would build.</summary>
    public sealed record TensorView(Storage Storage, long Offset, long[] Size, long[] Stride);

    /// <summary>The storage classes a state dict's tensors come in, and their element size in bytes.</summary>
    public static readonly IReadOnlyDictionary<string, int> StorageTypes = new Dictionary<string, int>(StringComparer.Ordinal)
    {
        ["FloatStorage"] = 4, ["HalfStorage"] = 2, ["BFloat16Storage"] = 2, ["DoubleStorage"] = 8,
        ["LongStorage"] = 8, ["IntStorage"] = 4, ["ByteStorage"] = 1, ["BoolStorage"] = 1,
    };

    const string OrderedDict = "collections.OrderedDict", RebuildTensor = "torch._utils._rebuild_tensor_v2",
        RebuildParameter = "torch._utils._rebuild_parameter";

    sealed class Mark { public static readonly Mark Instance = new(); }

    /// <summary>Unpickles <paramref name="data"/>; <paramref name="where"/> names the file (and entry) in errors.</summary>
    public static object? Load(ReadOnlySpan<byte> data, string where)
    {
        var stack = new List<object?>();
        var marks = new Stack<int>();
        var memo = new Dictionary<long, object?>();
        int pos = 0;

        DistilException Bad(string what) => DistilException.BadInput($"{where}: {what}; the file is corrupt or not a PyTorch state dict");
        ReadOnlySpan<byte> Take(ReadOnlySpan<byte> d, long n)
        {
            if (n < 0 || n > d.Length - pos) throw Bad($"an opcode at byte {pos} needs {n} bytes but only {d.Length - pos} are left (truncated pickle?)");
            var s = d.Slice(pos, (int)n);
            pos += (int)n;
            return s;
        }
        object? Pop()
        {
            if (stack.Count == 0 || stack[^1] is Mark) throw Bad($"the pickle pops an empty stack at byte {pos}");
            var v = stack[^1];
            stack.RemoveAt(stack.Count - 1);
            return v;
        }
        object?[] PopMark()
        {
            if (marks.Count == 0) throw Bad($"the pickle ends a MARK that was never set, at byte {pos}");
            int m = marks.Pop();
            var items = stack.GetRange(m + 1, stack.Count - m - 1).ToArray();
            stack.RemoveRange(m, stack.Count - m);
            return items;
        }
        object? Top() => stack.Count > 0 && stack[^1] is not Mark ? stack[^1] : throw Bad($"the pickle reads an empty stack at byte {pos}");
        object? Get(long id) => memo.TryGetValue(id, out var v) ? v : throw Bad($"memo entry {id} is read before it is written, at byte {pos}");
        string Text(ReadOnlySpan<byte> b)
        {
            try { return new UTF8Encoding(false, true).GetString(b); }
            catch (DecoderFallbackException) { throw Bad($"a string at byte {pos} is not valid UTF-8"); }
        }
        Global Allow(string module, string name)
        {
            var g = new Global(module, name);
            string full = g.ToString();
            if (full is OrderedDict or RebuildTensor or RebuildParameter) return g;
            if (module == "torch" && StorageTypes.ContainsKey(name)) return g;
            throw DistilException.BadInput(
                $"{where}: the pickle asks for the Python global '{full}', which a state dict never needs; it was refused and not run " +
                "(Distil reads pickles without executing them). Do not load this file in Python unless you trust where it came from; " +
                "if you do, re-save the weights as model.safetensors");
        }
        void Push(object? v) => stack.Add(v);

        while (true)
        {
            if (pos >= data.Length) throw Bad("the pickle ends without STOP (truncated?)");
            int at = pos;
            byte op = data[pos++];
            switch (op)
            {
                case 0x80: Take(data, 1); break; // PROTO
                case 0x95: Take(data, 8); break; // FRAME: only a read-ahead hint
                case (byte)'.': return stack.Count == 1 && marks.Count == 0 ? stack[0] : throw Bad($"the pickle stops with {stack.Count} values on the stack");
                case (byte)'(': marks.Push(stack.Count); stack.Add(Mark.Instance); break;
                case (byte)'}': Push(new Dict()); break;
                case (byte)']': Push(new List<object?>()); break;
                case (byte)')': Push(new Tuple([])); break;
                case (byte)'N': Push(null); break;
                case 0x88: Push(true); break;
                case 0x89: Push(false); break;
                case (byte)'K': Push((long)Take(data, 1)[0]); break;
                case (byte)'M': Push((long)BinaryPrimitives.ReadUInt16LittleEndian(Take(data, 2))); break;
                case (byte)'J': Push((long)BinaryPrimitives.ReadInt32LittleEndian(Take(data, 4))); break;
                case 0x8a: // LONG1: n bytes, little-endian two's complement
                    {
                        int n = Take(data, 1)[0];
                        if (n > 8) throw Bad($"an integer of {n} bytes at byte {at} is larger than any size or offset");
                        var b = Take(data, n);
                        long v = 0;
                        for (int i = n - 1; i >= 0; i--) v = (v << 8) | b[i];
                        if (n is > 0 and < 8 && (b[n - 1] & 0x80) != 0) v -= 1L << (8 * n);
                        Push(v);
                        break;
                    }
                case (byte)'G': Push(BinaryPrimitives.ReadDoubleBigEndian(Take(data, 8))); break;
                case (byte)'X': Push(Text(Take(data, BinaryPrimitives.ReadUInt32LittleEndian(Take(data, 4))))); break;
                case 0x8c: Push(Text(Take(data, Take(data, 1)[0]))); break;
                case 0x8d: Push(Text(Take(data, checked((long)BinaryPrimitives.ReadUInt64LittleEndian(Take(data, 8)))))); break;
                case (byte)'U': Push(Encoding.Latin1.GetString(Take(data, Take(data, 1)[0]))); break;
                case (byte)'T': Push(Encoding.Latin1.GetString(Take(data, BinaryPrimitives.ReadInt32LittleEndian(Take(data, 4))))); break;
                case (byte)'C': Push(Take(data, Take(data, 1)[0]).ToArray()); break;
                case (byte)'B': Push(Take(data, BinaryPrimitives.ReadUInt32LittleEndian(Take(data, 4))).ToArray()); break;
                case (byte)'q': memo[Take(data, 1)[0]] = Top(); break;
                case (byte)'r': memo[BinaryPrimitives.ReadUInt32LittleEndian(Take(data, 4))] = Top(); break;
                case 0x94: memo[memo.Count] = Top(); break; // MEMOIZE
                case (byte)'h': Push(Get(Take(data, 1)[0])); break;
                case (byte)'j': Push(Get(BinaryPrimitives.ReadUInt32LittleEndian(Take(data, 4)))); break;
                case (byte)'0': Pop(); break;
                case (byte)'t': Push(new Tuple(PopMark())); break;
                case 0x85: Push(new Tuple([Pop()])); break;
                case 0x86: { var b = Pop(); var a = Pop(); Push(new Tuple([a, b])); break; }
                case 0x87: { var c = Pop(); var b = Pop(); var a = Pop(); Push(new Tuple([a, b, c])); break; }
                case (byte)'a': { var v = Pop(); AsList(Top(), at).Add(v); break; }
                case (byte)'e': { var items = PopMark(); AsList(Top(), at).AddRange(items); break; }
                case (byte)'s': { var v = Pop(); var k = Pop(); AsDict(Top(), at).Add(new(k, v)); break; }
                case (byte)'u':
                    {
                        var items = PopMark();
                        if (items.Length % 2 != 0) throw Bad($"SETITEMS at byte {at} has an odd number of items");
                        var d = AsDict(Top(), at);
                        for (int i = 0; i < items.Length; i += 2) d.Add(new(items[i], items[i + 1]));
                        break;
                    }
                case (byte)'c':
                    {
                        string module = Line(data, ref pos, where), name = Line(data, ref pos, where);
                        Push(Allow(module, name));
                        break;
                    }
                case 0x93: // STACK_GLOBAL
                    {
                        var name = Pop(); var module = Pop();
                        if (module is not string m || name is not string n) throw Bad($"STACK_GLOBAL at byte {at} names a global with values that are not strings");
                        Push(Allow(m, n));
                        break;
                    }
                case (byte)'Q': Push(PersistentId(Pop(), where)); break;
                case (byte)'R':
                    {
                        var args = Pop(); var callable = Pop();
                        if (args is not Tuple t) throw Bad($"REDUCE at byte {at} has arguments that are not a tuple");
                        Push(Call(callable, t.Items, where, at));
                        break;
                    }
                case (byte)'b': // BUILD: OrderedDict's attributes (a state dict's _metadata), which a reader does not need
                    {
                        var state = Pop();
                        if (Top() is not Dict || state is not (Dict or null))
                            throw DistilException.BadInput($"{where}: BUILD at byte {at} sets the state of a {Describe(Top())}, which a state dict never does; it was refused and not run");
                        break;
                    }
                default:
                    throw DistilException.BadInput(
                        $"{where}: pickle opcode 0x{op:x2} ('{(op is >= 0x20 and < 0x7f ? ((char)op).ToString() : "?")}') at byte {at} is not one a state dict is written with; it was refused and not run");
            }
        }

        List<object?> AsList(object? o, int at) => o as List<object?> ?? throw Bad($"APPEND at byte {at} on a {Describe(o)}");
        Dict AsDict(object? o, int at) => o as Dict ?? throw Bad($"SETITEM at byte {at} on a {Describe(o)}");
    }

    static string Line(ReadOnlySpan<byte> data, ref int pos, string where)
    {
        int end = data[pos..].IndexOf((byte)'\n');
        if (end < 0 || end > 256) throw DistilException.BadInput($"{where}: a GLOBAL at byte {pos} has no name line; the file is corrupt");
        string s = Encoding.ASCII.GetString(data.Slice(pos, end));
        pos += end + 1;
        return s;
    }

    static string Describe(object? o) => o switch
    {
        null => "None",
        Global g => $"global {g}",
        Tuple => "tuple",
        Dict => "dict",
        List<object?> => "list",
        TensorView => "tensor",
        Storage => "storage",
        _ => o.GetType().Name,
    };

    static Storage PersistentId(object? pid, string where)
    {
        DistilException Bad(string what) => DistilException.BadInput($"{where}: a persistent id {what}; torch writes ('storage', torch.FloatStorage, key, location, numel)");
        if (pid is not Tuple { Items: var p } || p.Length != 5 || p[0] is not "storage") throw Bad("is not a storage tuple");
        if (p[1] is not Global { Module: "torch" } g || !StorageTypes.ContainsKey(g.Name)) throw Bad($"names storage type {Describe(p[1])}");
        if (p[2] is not string key || key.Length == 0) throw Bad("has no storage key");
        if (p[4] is not long numel || numel < 0) throw Bad($"of storage '{key}' has no element count");
        return new Storage(g.Name, key, numel);
    }

    static object? Call(object? callable, object?[] args, string where, int at)
    {
        DistilException Refused(string what) => DistilException.BadInput($"{where}: REDUCE at byte {at} calls {what}, which a state dict never does; it was refused and not run");
        DistilException Bad(string what) => DistilException.BadInput($"{where}: {what} at byte {at}; the file is corrupt or not a PyTorch state dict");
        if (callable is not Global g) throw Refused($"a {Describe(callable)}");
        switch (g.ToString())
        {
            case OrderedDict:
                if (args.Length != 0) throw Refused($"{g} with arguments");
                return new Dict();
            case RebuildTensor:
                {
                    // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
                    if (args.Length is < 6 or > 7) throw Bad($"{g} has {args.Length} arguments, not 6");
                    if (args[0] is not Storage s) throw Bad($"{g} gets a {Describe(args[0])} for its storage");
                    if (args[1] is not long offset || offset < 0) throw Bad($"{g} gets no storage offset");
                    long[] size = Longs(args[2]) ?? throw Bad($"{g} gets a size that is not a tuple of integers");
                    long[] stride = Longs(args[3]) ?? throw Bad($"{g} gets a stride that is not a tuple of integers");
                    if (size.Length != stride.Length) throw Bad($"{g} gets size ({string.Join(", ", size)}) and stride ({string.Join(", ", stride)}) of different lengths");
                    return new TensorView(s, offset, size, stride);
                }
            case RebuildParameter:
                if (args.Length != 3 || args[0] is not TensorView) throw Bad($"{g} gets {args.Length} arguments, not (tensor, requires_grad, hooks)");
                return args[0];
            default:
                throw Refused($"{g}");
        }
    }

    static long[]? Longs(object? o)
    {
        if (o is not Tuple t) return null;
        var r = new long[t.Items.Length];
        for (int i = 0; i < r.Length; i++)
        {
            if (t.Items[i] is not long v || v < 0) return null;
            r[i] = v;
        }
        return r;
    }
}
