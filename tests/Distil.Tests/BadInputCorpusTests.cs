using System.Text.Json.Nodes;
using Distil.Cli;
using Spectre.Console;
using TorchSharp;
using Xunit;

namespace Distil.Tests;

/// <summary>
/// The checked-in bad-input corpus (data/bad-inputs, made by make_cases.py): every hostile or broken file a user can
/// hand to `distil` gives its documented exit code and one error line that names the problem, never a crash, and
/// leaves nothing half-written behind.
/// </summary>
public class BadInputCorpusTests
{
    static readonly string CorpusDir = Path.Combine(AppContext.BaseDirectory, "data", "bad-inputs");

    public BadInputCorpusTests() => torch.set_num_threads(1);

    public static IEnumerable<object[]> Cases() =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(CorpusDir, "cases.json")))!.AsArray().Select(c => new object[] { c!["name"]!.GetValue<string>() });

    [Theory]
    [MemberData(nameof(Cases))]
    public void CaseGivesItsExitCodeAndMessage(string name)
    {
        var spec = JsonNode.Parse(File.ReadAllText(Path.Combine(CorpusDir, "cases.json")))!.AsArray().Single(c => c!["name"]!.GetValue<string>() == name)!;
        string work = TempDir.Scratch($"bad-{name}");
        string caseDir = Path.Combine(work, "case");
        TempDir.CopyTree(Path.Combine(CorpusDir, name), caseDir);

        // A valid tiny encoder with the case's model/ files laid over it, valid data, a fresh run folder.
        string model = Path.Combine(work, "model");
        TempDir.CopyTree(TinyBert.TeacherFolder(), model);
        if (Directory.Exists(Path.Combine(caseDir, "model"))) TempDir.CopyTree(Path.Combine(caseDir, "model"), model);
        string train = Path.Combine(work, "train.tsv");
        File.WriteAllLines(train, new[] { "text\tlabel", "the movie was good .\t1", "the phone was bad .\t0", "the food is great .\t1", "the movie was awful .\t0" });
        string output = Path.Combine(work, "out");

        string[] args = spec["args"]!.AsArray().Select(a => a!.GetValue<string>()
            .Replace("{model}", model).Replace("{train}", train).Replace("{out}", output).Replace("{case}", caseDir)).ToArray();
        var (code, text) = RunCapturingOutput(args);

        int expected = spec["exit"]!.GetValue<int>();
        string message = spec["message"]!.GetValue<string>();
        string[] errors = text.Split('\n').Where(l => l.StartsWith("error:", StringComparison.Ordinal)).ToArray();
        Assert.True(code == expected, $"{name}: exit {code}, expected {expected}; output:\n{text}");
        Assert.True(errors.Length == 1, $"{name}: expected one error line, got {errors.Length}:\n{text}");
        Assert.True(errors[0].Contains(message, StringComparison.Ordinal), $"{name}: the error does not mention '{message}': {errors[0]}");
        AssertNothingHalfDone(output);
    }

    /// <summary>A 10 MB line with no newline is an error naming the file and line, read without holding it twice over.</summary>
    [Fact]
    public void TenMegabyteSingleLineIsRefused()
    {
        string work = TempDir.Scratch("bad-longline");
        string train = Path.Combine(work, "train.tsv");
        using (var w = new StreamWriter(train))
        {
            w.Write("text\tlabel\nthe movie was good .\t1\n");
            w.Write(new string('a', 10 * 1024 * 1024));
            w.Write("\t1\n");
        }
        string output = Path.Combine(work, "out");
        var (code, text) = RunCapturingOutput(new[] { "finetune", "--model", TinyBert.TeacherFolder(), "--train", train, "--out", output, "--max-steps", "1", "--threads", "1" });
        Assert.True(code == ExitCodes.InvalidInput, $"exit {code}; output:\n{text}");
        Assert.Contains("train.tsv:3", text);
        AssertNothingHalfDone(output);
    }

    /// <summary>No trained weights, checkpoints or temp files are left; at most the resolved config of the refused run.</summary>
    static void AssertNothingHalfDone(string output)
    {
        if (!Directory.Exists(output)) return;
        var left = Directory.EnumerateFileSystemEntries(output, "*", SearchOption.AllDirectories).Select(p => Path.GetRelativePath(output, p)).ToList();
        Assert.True(left.Count == 0, $"a refused run left files behind in {output}: {string.Join(", ", left)}");
    }

    static (int Code, string Output) RunCapturingOutput(string[] args)
    {
        var writer = new StringWriter();
        var saved = AnsiConsole.Console;
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors, Out = new AnsiConsoleOutput(writer),
            Interactive = InteractionSupport.No,
        });
        console.Profile.Width = 100_000; // one message, one line: no wrapping at a terminal's width
        AnsiConsole.Console = console;
        try
        {
            int code = CliApp.Run(args);
            return (code, writer.ToString());
        }
        catch (Exception e)
        {
            return (-1, writer + $"\nerror: CRASH {e.GetType().Name}: {e.Message}");
        }
        finally
        {
            AnsiConsole.Console = saved;
        }
    }
}
