using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Distil.Sweeps;

/// <summary>Expands a sweep file into its trials: every combination of the axes' values times every seed.</summary>
public static class SweepPlan
{
    /// <summary>
    /// Trials in a fixed order, seed-major (every setting for the first seed, then the next), so a sweep cut short
    /// has whole seeds rather than whole settings. Names are the settings, made safe for folder names.
    /// </summary>
    public static IReadOnlyList<SweepTrial> Expand(SweepFile f)
    {
        var axes = f.Axes.Select(a => (Name: a.Key, Values: Values(a.Key, a.Value))).ToList();
        IEnumerable<List<(string Axis, string Value, string[] Args)>> combos = [[]];
        foreach (var (name, values) in axes)
            combos = combos.SelectMany(c => values.Select(v => new List<(string, string, string[])>(c) { (name, v.Name, v.Args) })).ToList();
        var seeds = f.Seeds.Count > 0 ? f.Seeds.Select(s => (int?)s).ToList() : [null];
        var trials = new List<SweepTrial>();
        var names = new HashSet<string>();
        foreach (var seed in seeds)
            foreach (var combo in combos)
            {
                var settings = combo.Select(c => KeyValuePair.Create(c.Axis.TrimStart('-'), c.Value)).ToList();
                var parts = settings.Select(s => $"{s.Key}-{s.Value}").ToList();
                if (seed is int sd) parts.Add($"seed{sd}");
                string name = parts.Count == 0 ? "trial" : SafeName(string.Join("_", parts));
                if (!names.Add(name)) throw DistilException.BadInput($"sweep: two trials would share the folder name '{name}'; rename an axis value");
                string dir = Path.Combine(f.RunRoot, name);
                var args = new List<string>(f.Args);
                foreach (var c in combo) args.AddRange(c.Args);
                if (seed is int s2) { args.Add(f.SeedOption); args.Add(s2.ToString(CultureInfo.InvariantCulture)); }
                args.Add(f.OutOption);
                args.Add(dir);
                trials.Add(new SweepTrial(name, f.Command, args, dir, settings, seed));
            }
        return trials;
    }

    static List<(string Name, string[] Args)> Values(string axis, JsonElement v) =>
        axis.StartsWith("--", StringComparison.Ordinal)
            ? v.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.String ? e.GetString()! : e.GetRawText()).Select(s => (s, new[] { axis, s })).ToList()
            : v.EnumerateObject().Select(p => (p.Name, p.Value.EnumerateArray().Select(e => e.GetString()!).ToArray())).ToList();

    /// <summary>Letters, digits, '.', '-' and '_' kept; anything else (a '+', '/', a space) becomes '-'.</summary>
    public static string SafeName(string s)
    {
        var b = new StringBuilder(s.Length);
        foreach (char ch in s) b.Append(char.IsAsciiLetterOrDigit(ch) || ch is '.' or '-' or '_' ? ch : '-');
        return b.ToString();
    }
}
