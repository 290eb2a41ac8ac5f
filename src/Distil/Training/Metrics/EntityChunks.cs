namespace Distil.Training.Metrics;

/// <summary>One entity: its type and the first and last token it covers (inclusive), within one sentence.</summary>
public readonly record struct EntityChunk(string Type, int Start, int End);

/// <summary>
/// Tag sequences to entities, exactly as seqeval's <c>get_entities</c> (default, prefix mode) reads them, so that
/// scores agree with the CoNLL numbers papers report (docs/tasks.md §Entities). One reader serves BIO/IOB2 and
/// IOBES: it never rejects a sequence for its shape, it only decides where chunks start and end.
/// </summary>
public static class EntityChunks
{
    /// <summary>
    /// A tag split into its prefix letter (O, B, I, E, S) and its type ("" for O); null when it is none of
    /// O, B-X, I-X, E-X, S-X with a non-empty X. The type is everything after the first '-', as seqeval splits it.
    /// </summary>
    public static (char Prefix, string Type)? Parse(string tag)
    {
        if (tag == "O") return ('O', "");
        if (tag.Length < 3 || tag[1] != '-' || tag[0] is not ('B' or 'I' or 'E' or 'S')) return null;
        return (tag[0], tag[2..]);
    }

    /// <summary>
    /// The chunks of one sentence. seqeval walks the tags with a trailing O appended and closes or opens a chunk at
    /// each step by its <c>end_of_chunk</c> and <c>start_of_chunk</c> rules; in particular an I-X (or E-X) after O,
    /// after E/S, or after a tag of another type opens a new chunk instead of being dropped.
    /// <paramref name="sentence"/> names the sentence in the error for a malformed tag.
    /// </summary>
    public static List<EntityChunk> Extract(IReadOnlyList<string> tags, int sentence = 0)
    {
        var chunks = new List<EntityChunk>();
        char prevTag = 'O';
        string prevType = "";
        int begin = 0;
        for (int i = 0; i <= tags.Count; i++)
        {
            var (tag, type) = i == tags.Count ? ('O', "") : Parse(tags[i]) ?? throw Malformed(tags[i], sentence, i);
            if (EndOfChunk(prevTag, tag, prevType, type)) chunks.Add(new EntityChunk(prevType, begin, i - 1));
            if (StartOfChunk(prevTag, tag, prevType, type)) begin = i;
            prevTag = tag;
            prevType = type;
        }
        return chunks;
    }

    static bool EndOfChunk(char prevTag, char tag, string prevType, string type) =>
        prevTag is 'E' or 'S'
        || (prevTag is 'B' or 'I' && tag is 'B' or 'S' or 'O')
        || (prevTag != 'O' && prevType != type);

    static bool StartOfChunk(char prevTag, char tag, string prevType, string type) =>
        tag is 'B' or 'S'
        || (prevTag is 'E' or 'S' or 'O' && tag is 'E' or 'I')
        || (tag != 'O' && prevType != type);

    /// <summary>
    /// Strict BIO, for reading data: the first position where an I-X follows neither B-X nor I-X (an I- that opens a
    /// sentence, follows O, or follows another type), or null when there is none. Any tag other than O, B-X, I-X
    /// (E-/S- included: they are not BIO) is a DistilException naming the sentence and position.
    /// </summary>
    public static int? FirstBrokenInside(IReadOnlyList<string> tags, int sentence = 0)
    {
        char prevTag = 'O';
        string prevType = "";
        for (int i = 0; i < tags.Count; i++)
        {
            var (tag, type) = Parse(tags[i]) ?? throw Malformed(tags[i], sentence, i, BioOnly);
            if (tag is 'E' or 'S') throw Malformed(tags[i], sentence, i, BioOnly);
            if (tag == 'I' && (prevTag == 'O' || prevType != type)) return i;
            (prevTag, prevType) = (tag, type);
        }
        return null;
    }

    const string BioOnly = "BIO allows only O, B-X and I-X";

    static DistilException Malformed(string tag, int sentence, int position, string allowed = "tags are O or B-, I-, E-, S- followed by a type") =>
        DistilException.BadInput($"sentence {sentence}, token {position}: tag '{tag}' is not a valid tag ({allowed})");
}
