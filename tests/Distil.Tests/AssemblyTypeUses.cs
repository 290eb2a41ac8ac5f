using System.Collections.Immutable;
using System.Reflection;
using System.Reflection.Emit;
using System.Reflection.Metadata;
using System.Reflection.Metadata.Ecma335;
using System.Reflection.PortableExecutable;

namespace Distil.Tests;

/// <summary>One type of an assembly mentioning another type of the same assembly. Nested and compiler-made types
/// (lambdas, iterators, async state machines) count as their outermost declaring type, whose code they are.</summary>
public readonly record struct TypeUse(string From, string FromNamespace, string To, string ToNamespace);

/// <summary>Reads, from an assembly file's metadata, which of its own types each type uses: base type, interfaces,
/// generic constraints, attributes, field and method signatures, and inside every method body its locals, catch
/// clauses and each IL operand that names a type, method or field. Signatures alone would miss a pipeline that only
/// calls into another namespace, so the method bodies are the point.</summary>
public static class AssemblyTypeUses
{
    public static IReadOnlyList<TypeUse> Read(string assemblyPath)
    {
        using var pe = new PEReader(File.OpenRead(assemblyPath));
        var md = pe.GetMetadataReader();
        var uses = new HashSet<TypeUse>();
        foreach (var th in md.TypeDefinitions)
        {
            var found = new Collector(md);
            CollectType(pe, md, md.GetTypeDefinition(th), found);
            var (from, fromNs) = Name(md, th);
            foreach (var used in found.Types)
            {
                var (to, toNs) = Name(md, used);
                if (to != from) uses.Add(new TypeUse(from, fromNs, to, toNs));
            }
        }
        return uses.OrderBy(u => u.From, StringComparer.Ordinal).ThenBy(u => u.To, StringComparer.Ordinal).ToList();
    }

    static void CollectType(PEReader pe, MetadataReader md, TypeDefinition t, Collector c)
    {
        if (!t.BaseType.IsNil) c.Add(t.BaseType);
        foreach (var i in t.GetInterfaceImplementations()) c.Add(md.GetInterfaceImplementation(i).Interface);
        c.Constraints(t.GetGenericParameters());
        c.Attributes(t.GetCustomAttributes());
        foreach (var fh in t.GetFields())
        {
            var f = md.GetFieldDefinition(fh);
            f.DecodeSignature(c, null);
            c.Attributes(f.GetCustomAttributes());
        }
        foreach (var ph in t.GetProperties())
        {
            var p = md.GetPropertyDefinition(ph);
            p.DecodeSignature(c, null);
            c.Attributes(p.GetCustomAttributes());
        }
        foreach (var mh in t.GetMethods())
        {
            var m = md.GetMethodDefinition(mh);
            m.DecodeSignature(c, null);
            c.Constraints(m.GetGenericParameters());
            c.Attributes(m.GetCustomAttributes());
            if (m.RelativeVirtualAddress != 0) CollectBody(pe.GetMethodBody(m.RelativeVirtualAddress), c);
        }
    }

    static void CollectBody(MethodBodyBlock body, Collector c)
    {
        if (!body.LocalSignature.IsNil) c.Add(body.LocalSignature);
        foreach (var region in body.ExceptionRegions)
            if (!region.CatchType.IsNil) c.Add(region.CatchType);
        var il = body.GetILReader();
        while (il.RemainingBytes > 0)
        {
            var code = il.ReadByte();
            var op = code == 0xFE ? TwoByte[il.ReadByte()] : OneByte[code];
            switch (op.OperandType)
            {
                case OperandType.InlineField:
                case OperandType.InlineMethod:
                case OperandType.InlineTok:
                case OperandType.InlineType:
                case OperandType.InlineSig:
                    c.Add(MetadataTokens.EntityHandle(il.ReadInt32()));
                    break;
                case OperandType.InlineSwitch:
                    {
                        // The count first: `Offset += 4 * ReadInt32()` would read Offset before the count moves it.
                        int targets = il.ReadInt32();
                        il.Offset += 4 * targets;
                        break;
                    }
                default:
                    il.Offset += OperandSize(op.OperandType);
                    break;
            }
        }
    }

    static int OperandSize(OperandType t) => t switch
    {
        OperandType.InlineNone => 0,
        OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar => 1,
        OperandType.InlineVar => 2,
        OperandType.InlineI8 or OperandType.InlineR => 8,
        _ => 4,
    };

    static readonly OpCode[] OneByte = new OpCode[256], TwoByte = new OpCode[256];

    static AssemblyTypeUses()
    {
        foreach (var f in typeof(OpCodes).GetFields(BindingFlags.Public | BindingFlags.Static))
        {
            var op = (OpCode)f.GetValue(null)!;
            var v = (ushort)op.Value;
            if (op.Size == 1) OneByte[v] = op; else TwoByte[v & 0xFF] = op;
        }
    }

    /// <summary>The outermost declaring type's full name and namespace.</summary>
    static (string Name, string Namespace) Name(MetadataReader md, TypeDefinitionHandle h)
    {
        var t = md.GetTypeDefinition(h);
        while (t.IsNested) t = md.GetTypeDefinition(t.GetDeclaringType());
        var ns = md.GetString(t.Namespace);
        var name = md.GetString(t.Name);
        return (ns.Length == 0 ? name : ns + "." + name, ns);
    }

    /// <summary>Gathers the assembly's own type definitions that handles and signatures mention; references to
    /// other assemblies (TypeReference) are not layering questions and are dropped.</summary>
    sealed class Collector(MetadataReader md) : ISignatureTypeProvider<bool, object?>
    {
        public HashSet<TypeDefinitionHandle> Types { get; } = [];

        public void Add(EntityHandle h)
        {
            switch (h.Kind)
            {
                case HandleKind.TypeDefinition: Types.Add((TypeDefinitionHandle)h); break;
                case HandleKind.TypeSpecification: md.GetTypeSpecification((TypeSpecificationHandle)h).DecodeSignature(this, null); break;
                case HandleKind.MethodDefinition: Types.Add(md.GetMethodDefinition((MethodDefinitionHandle)h).GetDeclaringType()); break;
                case HandleKind.FieldDefinition: Types.Add(md.GetFieldDefinition((FieldDefinitionHandle)h).GetDeclaringType()); break;
                case HandleKind.MethodSpecification:
                    var spec = md.GetMethodSpecification((MethodSpecificationHandle)h);
                    Add(spec.Method);
                    spec.DecodeSignature(this, null);
                    break;
                case HandleKind.MemberReference:
                    var member = md.GetMemberReference((MemberReferenceHandle)h);
                    Add(member.Parent);
                    if (member.GetKind() == MemberReferenceKind.Method) member.DecodeMethodSignature(this, null);
                    else member.DecodeFieldSignature(this, null);
                    break;
                case HandleKind.StandaloneSignature:
                    var sig = md.GetStandaloneSignature((StandaloneSignatureHandle)h);
                    if (sig.GetKind() == StandaloneSignatureKind.LocalVariables) sig.DecodeLocalSignature(this, null);
                    else sig.DecodeMethodSignature(this, null);
                    break;
            }
        }

        public void Attributes(CustomAttributeHandleCollection attributes)
        {
            foreach (var a in attributes) Add(md.GetCustomAttribute(a).Constructor);
        }

        public void Constraints(GenericParameterHandleCollection parameters)
        {
            foreach (var p in parameters)
                foreach (var c in md.GetGenericParameter(p).GetConstraints()) Add(md.GetGenericParameterConstraint(c).Type);
        }

        public bool GetTypeFromDefinition(MetadataReader reader, TypeDefinitionHandle handle, byte rawTypeKind) => Types.Add(handle);
        public bool GetTypeFromReference(MetadataReader reader, TypeReferenceHandle handle, byte rawTypeKind) => false;
        public bool GetTypeFromSpecification(MetadataReader reader, object? context, TypeSpecificationHandle handle, byte rawTypeKind)
        {
            reader.GetTypeSpecification(handle).DecodeSignature(this, context);
            return false;
        }
        public bool GetArrayType(bool elementType, ArrayShape shape) => false;
        public bool GetByReferenceType(bool elementType) => false;
        public bool GetFunctionPointerType(MethodSignature<bool> signature) => false;
        public bool GetGenericInstantiation(bool genericType, ImmutableArray<bool> typeArguments) => false;
        public bool GetGenericMethodParameter(object? genericContext, int index) => false;
        public bool GetGenericTypeParameter(object? genericContext, int index) => false;
        public bool GetModifiedType(bool modifier, bool unmodifiedType, bool isRequired) => false;
        public bool GetPinnedType(bool elementType) => false;
        public bool GetPointerType(bool elementType) => false;
        public bool GetPrimitiveType(PrimitiveTypeCode typeCode) => false;
        public bool GetSZArrayType(bool elementType) => false;
    }
}
