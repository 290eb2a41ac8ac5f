using System.Text;

namespace Distil.Text;

/// <summary>
/// The parts of a SentencePiece .model file (protobuf ModelProto) the tokenizer needs: the pieces with scores and
/// types, the model type, the special ids and the normaliser spec. A minimal protobuf reader: only varint,
/// 32-bit and length-delimited fields occur; every other field is skipped by its wire type.
/// </summary>
public sealed class SentencePieceModel
{
    public enum PieceType { Normal = 1, Unknown = 2, Control = 3, UserDefined = 4, Unused = 5, Byte = 6 }
    public sealed record Piece(string Text, float Score, PieceType Type);

    public List<Piece> Pieces { get; } = new();
    /// <summary>1 unigram, 2 bpe, 3 word, 4 char (trainer_spec.model_type).</summary>
    public int ModelType { get; internal set; } = 1;
    public int UnkId { get; internal set; }
    public int BosId { get; private set; } = 1;
    public int EosId { get; private set; } = 2;
    public int PadId { get; private set; } = -1;
    public bool ByteFallback { get; private set; }
    public byte[] PrecompiledCharsMap { get; internal set; } = [];
    public bool AddDummyPrefix { get; internal set; } = true;
    public bool RemoveExtraWhitespaces { get; internal set; } = true;
    public bool EscapeWhitespaces { get; private set; } = true;
    public string NormalizerName { get; private set; } = "";

    public static SentencePieceModel Load(string path)
    {
        if (!File.Exists(path)) throw DistilException.NotFound($"{path}: SentencePiece model not found");
        var m = new SentencePieceModel();
        try { m.ReadModel(File.ReadAllBytes(path)); }
        catch (Exception e) when (e is IndexOutOfRangeException or ArgumentException or OverflowException or DecoderFallbackException)
        {
            throw DistilException.BadInput($"{path}: not a SentencePiece model (protobuf ModelProto): {e.Message}; use the .model file saved with the tokenizer");
        }
        if (m.Pieces.Count == 0) throw DistilException.BadInput($"{path}: a SentencePiece model without pieces; use the .model file saved with the tokenizer");
        return m;
    }

    void ReadModel(byte[] data)
    {
        var r = new Reader(data, 0, data.Length);
        while (r.More)
        {
            var (field, wire) = r.Tag();
            if (field == 1 && wire == 2) Pieces.Add(ReadPiece(r.Sub()));
            else if (field == 2 && wire == 2) ReadTrainer(r.Sub());
            else if (field == 3 && wire == 2) ReadNormalizer(r.Sub());
            else r.Skip(wire);
        }
    }

    static Piece ReadPiece(Reader r)
    {
        string text = ""; float score = 0; var type = PieceType.Normal;
        while (r.More)
        {
            var (field, wire) = r.Tag();
            if (field == 1 && wire == 2) text = r.String();
            else if (field == 2 && wire == 5) score = r.Float();
            else if (field == 3 && wire == 0) type = (PieceType)(int)r.Varint();
            else r.Skip(wire);
        }
        return new Piece(text, score, type);
    }

    void ReadTrainer(Reader r)
    {
        while (r.More)
        {
            var (field, wire) = r.Tag();
            if (wire != 0) { r.Skip(wire); continue; }
            long v = (long)r.Varint();
            switch (field)
            {
                case 3: ModelType = (int)v; break;
                case 35: ByteFallback = v != 0; break;
                case 40: UnkId = (int)v; break;
                case 41: BosId = (int)v; break;
                case 42: EosId = (int)v; break;
                case 43: PadId = (int)v; break;
            }
        }
    }

    void ReadNormalizer(Reader r)
    {
        while (r.More)
        {
            var (field, wire) = r.Tag();
            if (field == 1 && wire == 2) NormalizerName = r.String();
            else if (field == 2 && wire == 2) PrecompiledCharsMap = r.Bytes();
            else if (field == 3 && wire == 0) AddDummyPrefix = r.Varint() != 0;
            else if (field == 4 && wire == 0) RemoveExtraWhitespaces = r.Varint() != 0;
            else if (field == 5 && wire == 0) EscapeWhitespaces = r.Varint() != 0;
            else r.Skip(wire);
        }
    }

    sealed class Reader(byte[] data, int pos, int end)
    {
        int _pos = pos;
        public bool More => _pos < end;
        public (int Field, int Wire) Tag() { ulong t = Varint(); return ((int)(t >> 3), (int)(t & 7)); }
        public ulong Varint()
        {
            ulong v = 0;
            for (int shift = 0; shift < 64; shift += 7)
            {
                byte b = data[_pos++];
                v |= (ulong)(b & 0x7F) << shift;
                if (b < 0x80) return v;
            }
            throw new OverflowException("varint longer than 10 bytes");
        }
        public float Float() { float f = BitConverter.ToSingle(data, _pos); _pos += 4; return f; }
        int Length() { int n = checked((int)Varint()); if (n < 0 || _pos + n > end) throw new ArgumentException($"field of {n} bytes runs past the end"); return n; }
        public Reader Sub() { int n = Length(); var sub = new Reader(data, _pos, _pos + n); _pos += n; return sub; }
        public byte[] Bytes() { int n = Length(); var b = data.AsSpan(_pos, n).ToArray(); _pos += n; return b; }
        public string String() { int n = Length(); var s = new UTF8Encoding(false, true).GetString(data, _pos, n); _pos += n; return s; }
        public void Skip(int wire)
        {
            switch (wire)
            {
                case 0: Varint(); break;
                case 1: _pos += 8; break;
                case 2: { int n = Length(); _pos += n; break; } // not "_pos += Length()": that adds to _pos as it was before the length
                case 5: _pos += 4; break;
                default: throw new ArgumentException($"unsupported protobuf wire type {wire}");
            }
        }
    }
}
