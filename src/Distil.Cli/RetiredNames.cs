using System.CommandLine;
using Distil.Augment.L2A;
using Distil.MetaKD;
using Distil.Search;

namespace Distil.Cli;

/// <summary>
/// Option names and config keys that were renamed so that one name has one meaning (OptionMeanings). An old name is
/// refused with the new one in the message, never accepted quietly: the same value under the new name gives exactly
/// the settings the old name gave.
/// </summary>
public static class RetiredNames
{
    /// <summary>(command, old flag, new flag).</summary>
    public static readonly IReadOnlyList<(string Command, string Old, string New)> Flags = new[]
    {
        ("augment", "--copies", "--augment"),
        ("augment", "--p", "--augment-p"),
        ("augment", "--candidates", "--augment-candidates"),
        ("augment", "--seed", "--augment-seed"),
        ("l2a", "--copies", "--augment"),
        ("search", "--pooling", "--token-pooling"),
        ("metakd", "--finetuned-teacher", "--teacher"),
        ("quantize", "--format", "--int8"),
        ("eval", "--json", "--metrics-json"),
    };

    /// <summary>(config section type, old key, new key) of the JSON config files.</summary>
    public static readonly IReadOnlyList<(Type Section, string Old, string New)> Keys = new[]
    {
        (typeof(MetaKdConfig), "finetuned_teacher", "teacher"),
        (typeof(SearchOptions), "pooling", "token_pooling"),
        (typeof(L2aConfig), "copies", "augment_copies"),
        (typeof(L2aConfig), "candidates", "augment_candidates"),
    };

    /// <summary>Adds this command's old flags as hidden options whose use is a usage error naming the new flag.</summary>
    public static void AddTo(Command c)
    {
        foreach (var (command, old, now) in Flags.Where(f => f.Command == c.Name))
        {
            // Takes the old option's value, if any, so the error is the only one printed.
            var o = new Option<string?>(old) { Hidden = true, Arity = ArgumentArity.ZeroOrOne };
            o.Validators.Add(r => r.AddError($"distil {command}: {old} is now {now} (same values, same meaning)"));
            c.Options.Add(o);
        }
    }

    /// <summary>The new key of an old one in this section, or null.</summary>
    public static string? NewKey(Type section, string key) =>
        Keys.Where(k => k.Section == section && k.Old == key).Select(k => k.New).FirstOrDefault();
}
