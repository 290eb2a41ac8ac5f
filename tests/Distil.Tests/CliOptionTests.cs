using System.CommandLine;
using Distil.Augment.L2A;
using Distil.Cli;
using Distil.Distillation;
using Distil.MetaKD;
using Distil.Models;
using Distil.Search;
using Xunit;

namespace Distil.Tests;

/// <summary>
/// One name, one meaning across the CLI: every command of the real command tree is walked, so an option added later
/// with a known name but another meaning (or a renamed option that is quietly accepted again) fails here.
/// </summary>
public class CliOptionTests
{
    /// <summary>(command path, option) of every visible option of every command under the root.</summary>
    static List<(string Command, Option Option)> VisibleOptions()
    {
        var found = new List<(string, Option)>();
        void Walk(Command c, string path)
        {
            foreach (var o in c.Options.Where(o => !o.Hidden && o.Name is not ("--help" or "--version")))
                found.Add((path, o));
            foreach (var sub in c.Subcommands) Walk(sub, path + " " + sub.Name);
        }
        foreach (var sub in CliApp.Build().Subcommands) Walk(sub, sub.Name);
        return found;
    }

    static bool StartsWithMeaning(string description, string meaning) =>
        description == meaning || (description.StartsWith(meaning, StringComparison.Ordinal) && description[meaning.Length] is ' ' or ':' or ';' or ',');

    [Fact]
    public void EveryOptionNameHasOneMeaningInEveryCommand()
    {
        var options = VisibleOptions();
        Assert.True(options.Count > 100, $"the walk found only {options.Count} options");
        var problems = new List<string>();
        foreach (var group in options.GroupBy(x => x.Option.Name))
        {
            var uses = group.Select(x => (x.Command, Description: x.Option.Description ?? "")).ToList();
            if (OptionMeanings.Meaning.TryGetValue(group.Key, out var meaning))
                problems.AddRange(uses.Where(u => !StartsWithMeaning(u.Description, meaning))
                    .Select(u => $"{u.Command} {group.Key}: \"{u.Description}\" does not start with its meaning \"{meaning}\""));
            else if (uses.Select(u => u.Description).Distinct().Count() > 1)
                problems.Add($"{group.Key} is described differently in {string.Join(", ", uses.Select(u => $"{u.Command} (\"{u.Description}\")"))}: "
                    + "give them one text, or one meaning in OptionMeanings");
        }
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public void NoMeaningHasTwoNames()
    {
        var options = VisibleOptions();
        foreach (var name in OptionMeanings.Meaning.Keys)
            Assert.True(options.Any(x => x.Option.Name == name), $"OptionMeanings lists {name}, which no command takes");
        var meanings = OptionMeanings.Meaning.GroupBy(kv => kv.Value).Where(g => g.Count() > 1).Select(g => string.Join(" = ", g.Select(kv => kv.Key)));
        Assert.Empty(meanings);
        // The same help text under two names is the same concept spelled twice.
        var twice = options.Where(x => !string.IsNullOrEmpty(x.Option.Description)).GroupBy(x => x.Option.Description!)
            .Where(g => g.Select(x => x.Option.Name).Distinct().Count() > 1)
            .Select(g => $"\"{g.Key}\": {string.Join(", ", g.Select(x => $"{x.Command} {x.Option.Name}").Distinct())}");
        Assert.Empty(twice);
    }

    [Fact]
    public void EachRenamedFlagIsRefusedWithItsNewName()
    {
        var root = CliApp.Build();
        foreach (var (command, old, now) in RetiredNames.Flags)
        {
            var c = root.Subcommands.Single(s => s.Name == command);
            Assert.Contains(c.Options, o => o.Name == now && !o.Hidden);
            Assert.DoesNotContain(c.Options, o => o.Name == old && !o.Hidden);
            var errors = root.Parse([command, old, "1"]).Errors.Select(e => e.Message).ToList();
            Assert.Contains(errors, m => m.Contains($"{old} is now {now}"));
            // The new name parses (no error about it), the retired one only errors when given.
            Assert.DoesNotContain(root.Parse([command, now, "1"]).Errors, e => e.Message.Contains(" is now "));
        }
        Assert.Equal(ExitCodes.InvalidUsage, CliApp.Run(["l2a", "--copies", "2", "--teacher", "x", "--out", "y"]));
    }

    [Fact]
    public void EachRenamedConfigKeyIsRefusedWithItsNewKey()
    {
        using var tmp = new TempDir();
        string Write(string json) { string p = Path.Combine(tmp.Path, $"c{Guid.NewGuid():N}.json"); File.WriteAllText(p, json); return p; }
        var empty = new Dictionary<string, System.Text.Json.Nodes.JsonNode?>();
        var e = Assert.Throws<DistilException>(() => ConfigResolver.Resolve<MetaKdConfig>(Write("{\"finetuned_teacher\": \"t\"}"), empty));
        Assert.Contains("'finetuned_teacher' is now 'teacher'", e.Message);
        e = Assert.Throws<DistilException>(() => ConfigResolver.Resolve<SearchConfig>(Write("{\"search\": {\"pooling\": \"max\"}}"), empty));
        Assert.Contains("'search.pooling' is now 'search.token_pooling'", e.Message);
        e = Assert.Throws<DistilException>(() => ConfigResolver.Resolve<L2aConfig>(Write("{\"copies\": 2}"), empty));
        Assert.Contains("'copies' is now 'augment_copies'", e.Message);
        Assert.Equal(ExitCodes.InvalidUsage, e.ExitCode);
        // A key that was never a name keeps the "did you mean" of an unknown key.
        e = Assert.Throws<DistilException>(() => ConfigResolver.Resolve<L2aConfig>(Write("{\"augment_copy\": 2}"), empty));
        Assert.Contains("did you mean 'augment_copies'", e.Message);
    }

    /// <summary>
    /// The settings a command resolved from its flags, read back from config.resolved.json. The run folder is made
    /// beforehand as an empty run of that command (config {}), resumed with the flags: so it is kept when the run then
    /// fails on the missing data, and what it holds is exactly the defaults plus the flags.
    /// </summary>
    static T Resolved<T>(TempDir tmp, string name, params string[] args) where T : new()
    {
        string run = Path.Combine(tmp.Path, name);
        Directory.CreateDirectory(run);
        File.WriteAllText(Path.Combine(run, "config.resolved.json"), $$"""{ "command": "{{args[0]}}", "distil_version": "{{Distil.Version.Value}}", "config": {} }""");
        string missing = Path.Combine(tmp.Path, "missing.tsv");
        int code = CliApp.Run([.. args, "--train", missing, "--dev", missing, "--out", run, "--threads", "1", "--resume"]);
        Assert.NotEqual(ExitCodes.Ok, code);
        string saved = Path.Combine(run, "config.resolved.json");
        Assert.True(File.Exists(saved), $"{name}: exit {code} before the config was written");
        return ConfigResolver.Resolve<T>(saved, new Dictionary<string, System.Text.Json.Nodes.JsonNode?>()).Config;
    }

    [Fact]
    public void RenamedFlagsSetTheSameSettingsTheOldNamesSet()
    {
        using var tmp = new TempDir();
        string teacher = Path.Combine(tmp.Path, "teacher"), encoder = Path.Combine(tmp.Path, "encoder");

        var distill = Resolved<DistillConfig>(tmp, "distill", "distill", "--teacher", teacher, "--augment", "3", "--augment-p", "0.25",
            "--augment-candidates", "7", "--augment-seed", "5");
        Assert.Equal(new Distil.Augment.AugmentOptions { Copies = 3, P = 0.25, Candidates = 7, Seed = 5 }, distill.Augment);

        var search = Resolved<SearchConfig>(tmp, "search", "search", "--teacher", teacher, "--token-pooling", "max", "--cnn-head", "pair", "--augment", "2",
            "--augment-p", "0.3", "--augment-candidates", "9", "--augment-seed", "4");
        Assert.Equal((CnnInputs.MaxPooling, CnnInputs.PairHead), (search.Search.Pooling, search.Search.Head));
        Assert.Equal(new Distil.Augment.AugmentOptions { Copies = 2, P = 0.3, Candidates = 9, Seed = 4 }, search.Retrain.Augment);

        var l2a = Resolved<L2aConfig>(tmp, "l2a", "l2a", "--teacher", teacher, "--target", "a", "--sources", "b", "--augment", "6", "--augment-candidates", "8");
        Assert.Equal((6, 8), (l2a.Copies, l2a.Candidates));

        var metakd = Resolved<MetaKdConfig>(tmp, "metakd", "metakd", "--model", encoder, "--teacher", teacher, "--init", "random", "--pooling", "pooler");
        Assert.Equal((encoder, teacher, "random", "pooler"), (metakd.Teacher, metakd.FinetunedTeacher, metakd.Init, metakd.Pooling));
        // The default start copies the encoder's layers, as "pretrained" did: the pipeline tells only "random" apart.
        Assert.Equal("model", new MetaKdConfig().Init);
    }

    [Fact]
    public void MetaKdNamesTheNewOptionsWhenGivenTheOldMeanings()
    {
        using var tmp = new TempDir();
        string dev = Path.Combine(tmp.Path, "dev.tsv");
        // The old call: --teacher was the encoder. Without --model the error says where the encoder goes now.
        var e = Assert.Throws<DistilException>(() => new MetaKdConfig { FinetunedTeacher = "enc", Out = "o", Data = new() { Train = dev, Dev = dev } }.Validate());
        Assert.Contains("pass --model DIR", e.Message);
        e = Assert.Throws<DistilException>(() => new MetaKdConfig { Teacher = "enc", Init = "pretrained", Out = "o", Data = new() { Train = dev, Dev = dev } }.Validate());
        Assert.Contains("--init pretrained is now --init model", e.Message);
        new MetaKdConfig { Teacher = "enc", Init = "model", Out = "o", Data = new() { Train = dev, Dev = dev } }.Validate();
    }
}
