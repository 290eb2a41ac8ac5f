using System.Text;

namespace Distil.Data;

/// <summary>
/// Lines of a UTF-8 file with 1-based line numbers, decoded line by line so that invalid bytes are reported with
/// their line (a whole-file decoder would only say "somewhere"). Accepts LF and CRLF, skips a leading BOM.
/// </summary>
public static class Utf8Lines
{
    static readonly UTF8Encoding Strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>
    /// Longest row accepted. Real rows (a review, a document) are kilobytes; a row of megabytes is a wrong file or a
    /// missing newline, and would become one huge example, so it is refused with its line number.
    /// </summary>
    public const int MaxLineBytes = 1 << 20;

    public static IEnumerable<(int Line, string Text)> Read(string path)
    {
        if (!File.Exists(path)) throw DistilException.NotFound($"{path}: data file not found; check the path");
        // Whole file in memory: data sets here are at most a few hundred MB, and this keeps line splitting exact.
        var bytes = File.ReadAllBytes(path);
        int start = bytes.Length >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF ? 3 : 0;
        int line = 0;
        while (start < bytes.Length)
        {
            line++;
            int end = Array.IndexOf(bytes, (byte)'\n', start);
            int next = end < 0 ? bytes.Length : end + 1;
            if (end < 0) end = bytes.Length;
            if (end > start && bytes[end - 1] == '\r') end--;
            if (end - start > MaxLineBytes)
                throw DistilException.BadInput($"{path}:{line}: the row is {(end - start) / 1048576.0:F1} MB long, over the {MaxLineBytes >> 20} MB limit for one row; is this the right file, with one example per line?");
            string text;
            try { text = Strict.GetString(bytes, start, end - start); }
            catch (DecoderFallbackException)
            {
                throw DistilException.BadInput($"{path}:{line}: invalid UTF-8 bytes; save the file as UTF-8 (e.g. iconv -f latin1 -t utf-8)");
            }
            yield return (line, text);
            start = next;
        }
    }
}
