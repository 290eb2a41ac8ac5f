using System.Globalization;
using System.Text;
using Distil.Checkpoints;

namespace Distil.Augment;

/// <summary>
/// One augmented example: which training row it came from, the original and augmented text (a pair's second text is
/// kept as is, as TinyBERT does), the teacher's label and class probabilities for the augmented text, and the domain.
/// </summary>
public sealed record AugmentedRow(int Row, string Original, string Augmented, string? TextPair, string TeacherLabel,
    IReadOnlyList<double> TeacherProbabilities, string? Domain);

/// <summary>
/// The augmented set as a TSV a person can open: a header, then one row per augmented example with columns
/// row, original, augmented, text_pair, teacher_label, teacher_probs (comma-separated, in the label order that the first
/// line, a comment, names), domain. Tabs, newlines and backslashes inside texts are written as \t \n \r \\.
/// </summary>
public static class AugmentedSet
{
    public static readonly string[] Columns = { "row", "original", "augmented", "text_pair", "teacher_label", "teacher_probs", "domain" };
    const string LabelsPrefix = "# teacher_probs order: ";

    public static void Write(string path, IReadOnlyList<string> labels, IEnumerable<AugmentedRow> rows)
    {
        string? dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir != null) Directory.CreateDirectory(dir);
        AtomicFile.Write(path, s =>
        {
            using var w = new StreamWriter(s, new UTF8Encoding(false), 1 << 16, leaveOpen: true) { NewLine = "\n" };
            w.WriteLine(LabelsPrefix + string.Join("\t", labels.Select(Escape)));
            w.WriteLine(string.Join('\t', Columns));
            foreach (var r in rows)
                w.WriteLine(string.Join('\t', r.Row.ToString(CultureInfo.InvariantCulture), Escape(r.Original), Escape(r.Augmented), Escape(r.TextPair ?? ""),
                    Escape(r.TeacherLabel), string.Join(",", r.TeacherProbabilities.Select(p => p.ToString("R", CultureInfo.InvariantCulture))), Escape(r.Domain ?? "")));
        });
    }

    /// <summary>Reads a file written by <see cref="Write"/>; returns the label order and the rows.</summary>
    public static (IReadOnlyList<string> Labels, IReadOnlyList<AugmentedRow> Rows) Read(string path)
    {
        if (!File.Exists(path)) throw DistilException.NotFound($"{path}: augmented set not found; create it with `distil augment`");
        using var r = new StreamReader(path, new UTF8Encoding(false, throwOnInvalidBytes: true));
        string? first = r.ReadLine();
        if (first == null || !first.StartsWith(LabelsPrefix, StringComparison.Ordinal))
            throw DistilException.BadInput($"{path}:1: not an augmented set (expected '{LabelsPrefix}...'); write it with `distil augment`");
        var labels = first[LabelsPrefix.Length..].Split('\t').Select(Unescape).ToArray();
        string? header = r.ReadLine();
        if (header != string.Join('\t', Columns))
            throw DistilException.BadInput($"{path}:2: header must be '{string.Join("\\t", Columns)}'");
        var rows = new List<AugmentedRow>();
        int line = 2;
        for (string? l; (l = r.ReadLine()) != null;)
        {
            line++;
            if (l.Length == 0) continue;
            var f = l.Split('\t');
            if (f.Length != Columns.Length)
                throw DistilException.BadInput($"{path}:{line}: {f.Length} columns, expected {Columns.Length} ({string.Join(", ", Columns)})");
            if (!int.TryParse(f[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out int row) || row < 0)
                throw DistilException.BadInput($"{path}:{line}: row '{f[0]}' is not a row number");
            var probs = f[5].Split(',').Select(p => double.TryParse(p, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && double.IsFinite(v) ? v
                : throw DistilException.BadInput($"{path}:{line}: teacher_probs '{f[5]}' is not a comma-separated list of numbers")).ToArray();
            if (probs.Length != labels.Length)
                throw DistilException.BadInput($"{path}:{line}: {probs.Length} teacher probabilities for {labels.Length} labels");
            string label = Unescape(f[4]);
            if (!labels.Contains(label)) throw DistilException.BadInput($"{path}:{line}: teacher label '{label}' is not one of {string.Join(", ", labels)}");
            rows.Add(new AugmentedRow(row, Unescape(f[1]), Unescape(f[2]), f[3].Length == 0 ? null : Unescape(f[3]), label, probs, f[6].Length == 0 ? null : Unescape(f[6])));
        }
        return (labels, rows);
    }

    static string Escape(string s)
    {
        if (s.IndexOfAny(new[] { '\\', '\t', '\n', '\r' }) < 0) return s;
        var sb = new StringBuilder(s.Length + 8);
        foreach (char c in s)
            sb.Append(c switch { '\\' => "\\\\", '\t' => "\\t", '\n' => "\\n", '\r' => "\\r", _ => c.ToString() });
        return sb.ToString();
    }

    static string Unescape(string s)
    {
        if (s.IndexOf('\\') < 0) return s;
        var sb = new StringBuilder(s.Length);
        for (int i = 0; i < s.Length; i++)
        {
            if (s[i] != '\\' || i + 1 == s.Length) { sb.Append(s[i]); continue; }
            char n = s[++i];
            sb.Append(n switch { 't' => '\t', 'n' => '\n', 'r' => '\r', '\\' => '\\', _ => n });
        }
        return sb.ToString();
    }
}
