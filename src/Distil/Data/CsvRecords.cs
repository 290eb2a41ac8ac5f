using System.Text;

namespace Distil.Data;

/// <summary>One record of a delimited file: its first line, its fields, or why it could not be parsed.</summary>
public readonly record struct RawRecord(int Line, string[]? Fields, string? Error);

/// <summary>
/// RFC 4180 records: fields separated by commas; a field in double quotes may hold commas, newlines and "" (one quote).
/// Lenient where Python's csv module is: a quote inside an unquoted field is kept as a character.
/// </summary>
public static class CsvRecords
{
    public static IEnumerable<RawRecord> Parse(IEnumerable<(int Line, string Text)> lines, char separator = ',')
    {
        using var it = lines.GetEnumerator();
        var fields = new List<string>();
        var field = new StringBuilder();
        while (it.MoveNext())
        {
            var (startLine, text) = it.Current;
            fields.Clear();
            field.Clear();
            string? error = null;
            int i = 0;
            bool more = true;
            while (more && error == null)
            {
                // At the start of a field.
                if (i < text.Length && text[i] == '"')
                {
                    i++;
                    while (true)
                    {
                        if (i >= text.Length)
                        {
                            // Quoted field continues on the next line.
                            if (!it.MoveNext()) { error = "a quoted field is not closed (missing \")"; break; }
                            field.Append('\n');
                            text = it.Current.Text;
                            i = 0;
                            continue;
                        }
                        char c = text[i++];
                        if (c != '"') { field.Append(c); continue; }
                        if (i < text.Length && text[i] == '"') { field.Append('"'); i++; continue; }
                        break; // closing quote
                    }
                    if (error != null) break;
                    if (i < text.Length && text[i] != separator)
                    {
                        error = $"unexpected text after a closing quote in field {fields.Count + 1} (a quote inside a quoted field must be doubled: \"\")";
                        break;
                    }
                }
                else
                {
                    int end = text.IndexOf(separator, i);
                    if (end < 0) end = text.Length;
                    field.Append(text, i, end - i);
                    i = end;
                }
                fields.Add(field.ToString());
                field.Clear();
                if (i < text.Length) i++; // separator
                else more = false;
            }
            yield return error == null ? new RawRecord(startLine, fields.ToArray(), null) : new RawRecord(startLine, null, error);
        }
    }
}
