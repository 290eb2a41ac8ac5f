using Distil;
using Distil.Checkpoints;
using Distil.Data;
using Distil.Onnx;
using SharpFuzz;
using TorchSharp;

// One fuzz target per parser of user files. Under afl-fuzz (bench/fuzz.sh) the input comes through SharpFuzz;
// `Distil.Fuzz TARGET --replay FILE...` runs files once, as the regression tests do.
// A DistilException is the parser's documented way to refuse bad input; anything else escaping is a bug (a crash).
if (args.Length < 1 || !Targets.All.ContainsKey(args[0]))
{
    Console.Error.WriteLine($"usage: Distil.Fuzz {string.Join('|', Targets.All.Keys)} [--replay FILE...]");
    return 2;
}
torch.set_num_threads(1);
var target = Targets.All[args[0]];
if (args.Length > 1 && args[1] == "--replay")
{
    foreach (string f in args.Skip(2)) { target(File.ReadAllBytes(f)); Console.WriteLine($"ok {f}"); }
    return 0;
}
Fuzzer.OutOfProcess.Run(stream =>
{
    using var ms = new MemoryStream();
    stream.CopyTo(ms);
    target(ms.ToArray());
});
return 0;

static class Targets
{
    // The parsers take paths (they report file:line), so each input is written to a file in RAM first.
    static readonly string Scratch = Directory.CreateDirectory(Path.Combine(Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath(), $"distil-fuzz-{Environment.ProcessId}")).FullName;

    public static readonly Dictionary<string, Action<byte[]>> All = new()
    {
        ["safetensors"] = bytes => Refusing(() =>
        {
            string path = Write("input.safetensors", bytes);
            SafeTensors.ReadEntries(path, out _);
            foreach (var t in SafeTensors.Read(path).Values) t.Dispose();
        }),
        ["onnx"] = bytes => Refusing(() =>
        {
            var import = OnnxBertImporter.Import(Write("input.onnx", bytes));
            foreach (var t in import.StateDict.Values) t.Dispose();
        }),
        ["tsv"] = bytes => Refusing(() => DatasetReader.Read(Write("input.tsv", bytes), format: DataFormat.Tsv)),
        ["csv"] = bytes => Refusing(() => DatasetReader.Read(Write("input.csv", bytes), format: DataFormat.Csv)),
        ["jsonl"] = bytes => Refusing(() => DatasetReader.Read(Write("input.jsonl", bytes), format: DataFormat.Jsonl)),
    };

    static string Write(string name, byte[] bytes)
    {
        string path = Path.Combine(Scratch, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    static void Refusing(Action parse)
    {
        try { parse(); }
        catch (DistilException) { }
    }
}
