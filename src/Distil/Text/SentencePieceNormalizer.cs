using System.Buffers.Binary;
using System.Text;

namespace Distil.Text;

/// <summary>
/// SentencePiece's normaliser: the model's precompiled character map (a Darts double-array trie over UTF-8 byte
/// strings, then their replacements), leading / repeated / trailing space removal, the dummy "▁" prefix and space
/// escaping. Each output character remembers the span of the input it came from (for offsets).
/// </summary>
public sealed class SentencePieceNormalizer
{
    public const char Space = '\u2581';
    readonly uint[] _trie;
    readonly byte[] _normalized;
    readonly bool _addDummyPrefix, _removeExtraWhitespaces, _escapeWhitespaces;

    public SentencePieceNormalizer(SentencePieceModel model)
    {
        var map = model.PrecompiledCharsMap;
        _trie = [];
        _normalized = [];
        if (map.Length >= 4)
        {
            int trieBytes = checked((int)BinaryPrimitives.ReadUInt32LittleEndian(map));
            if (trieBytes < 0 || 4 + trieBytes > map.Length || trieBytes % 4 != 0)
                throw DistilException.BadInput($"SentencePiece model: precompiled_charsmap declares a {trieBytes}-byte trie in a {map.Length}-byte map; the .model file is damaged");
            _trie = new uint[trieBytes / 4];
            for (int i = 0; i < _trie.Length; i++) _trie[i] = BinaryPrimitives.ReadUInt32LittleEndian(map.AsSpan(4 + 4 * i));
            _normalized = map[(4 + trieBytes)..];
        }
        _addDummyPrefix = model.AddDummyPrefix;
        _removeExtraWhitespaces = model.RemoveExtraWhitespaces;
        _escapeWhitespaces = model.EscapeWhitespaces;
    }

    /// <summary>The normalised text, and for each of its chars the [start, end) span of <paramref name="text"/> it came from.</summary>
    public (string Text, int[] Start, int[] End) Normalize(string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        var byteChar = new int[bytes.Length + 1]; // char index of each byte
        for (int c = 0, b = 0; c < text.Length; c++)
        {
            int n = char.IsHighSurrogate(text[c]) && c + 1 < text.Length && char.IsLowSurrogate(text[c + 1]) ? 4 : Encoding.UTF8.GetByteCount(text.AsSpan(c, 1));
            for (int k = 0; k < n; k++) byteChar[b++] = c;
            if (n == 4) c++;
        }
        byteChar[bytes.Length] = text.Length;

        var output = new StringBuilder(text.Length + 1);
        var starts = new List<int>(text.Length + 1);
        var ends = new List<int>(text.Length + 1);
        int pos = 0;
        if (_removeExtraWhitespaces)
            while (pos < bytes.Length)
            {
                var (piece, used) = NormalizePrefix(bytes, pos);
                if (piece != " ") break;
                pos += used;
            }
        if (pos == bytes.Length) return ("", [], []);
        if (_addDummyPrefix) { output.Append(_escapeWhitespaces ? Space : ' '); starts.Add(byteChar[pos]); ends.Add(byteChar[pos]); }
        bool prevSpace = _removeExtraWhitespaces;
        while (pos < bytes.Length)
        {
            var (piece, used) = NormalizePrefix(bytes, pos);
            int s = byteChar[pos], e = byteChar[pos + used];
            if (prevSpace) piece = piece.TrimStart(' ');
            if (piece.Length > 0)
            {
                foreach (var ch in piece)
                {
                    output.Append(ch == ' ' && _escapeWhitespaces ? Space : ch);
                    starts.Add(s); ends.Add(e);
                }
                prevSpace = piece.EndsWith(' ');
            }
            pos += used;
            if (!_removeExtraWhitespaces) prevSpace = false;
        }
        if (_removeExtraWhitespaces)
        {
            char space = _escapeWhitespaces ? Space : ' ';
            int n = output.Length;
            while (n > 0 && output[n - 1] == space) n--;
            output.Length = n;
            starts.RemoveRange(n, starts.Count - n);
            ends.RemoveRange(n, ends.Count - n);
        }
        return (output.ToString(), starts.ToArray(), ends.ToArray());
    }

    /// <summary>The longest trie match at <paramref name="pos"/> and its replacement, else one UTF-8 character unchanged.</summary>
    (string Piece, int Used) NormalizePrefix(byte[] bytes, int pos)
    {
        int bestLen = 0, bestValue = -1;
        if (_trie.Length > 0)
        {
            uint nodePos = 0;
            uint unit = _trie[0];
            nodePos ^= Offset(unit);
            for (int i = pos; i < bytes.Length; i++)
            {
                byte c = bytes[i];
                if (c == 0) break;
                nodePos ^= c;
                if (nodePos >= _trie.Length) break;
                unit = _trie[nodePos];
                if ((unit & ((1u << 31) | 0xFF)) != c) break; // label
                nodePos ^= Offset(unit);
                if (((unit >> 8) & 1) != 0 && nodePos < _trie.Length) { bestLen = i - pos + 1; bestValue = (int)(_trie[nodePos] & ((1u << 31) - 1)); }
            }
        }
        if (bestLen > 0)
        {
            int end = Array.IndexOf(_normalized, (byte)0, bestValue);
            if (end < 0) end = _normalized.Length;
            return (Encoding.UTF8.GetString(_normalized, bestValue, end - bestValue), bestLen);
        }
        int len = Utf8Length(bytes[pos]);
        if (len == 0 || pos + len > bytes.Length) return ("\uFFFD", 1);
        return (Encoding.UTF8.GetString(bytes, pos, len), len);
    }

    static uint Offset(uint unit) => (unit >> 10) << (int)((unit & (1u << 9)) >> 6);

    static int Utf8Length(byte b) => b < 0x80 ? 1 : b >> 5 == 0x6 ? 2 : b >> 4 == 0xE ? 3 : b >> 3 == 0x1E ? 4 : 0;
}
