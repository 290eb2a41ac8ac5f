using System.Text.Json.Serialization;
using Distil.Text;

namespace Distil.Data;

/// <summary>The "qa" section of extractive-QA runs: windows (with data.max_seq_len) and how answers are read.</summary>
public sealed record QaSettings
{
    /// <summary>Context tokens shared by consecutive windows; null: a quarter of max_seq_len (run_qa.py: 128 of 384).</summary>
    [JsonPropertyName("doc_stride")] public int? DocStride { get; init; }
    [JsonPropertyName("max_answer_length")] public int MaxAnswerLength { get; init; } = 30;
    [JsonPropertyName("n_best")] public int NBest { get; init; } = 20;
    /// <summary>SQuAD 2.0: answer "" when the null score exceeds the best span's score by more than this.</summary>
    [JsonPropertyName("null_threshold")] public double NullThreshold { get; init; }

    public QaWindowing Windowing(int maxSeqLen) => new(maxSeqLen, DocStride ?? maxSeqLen / 4);
    public QaDecoding Decoding(bool allowNoAnswer) => new(NBest, MaxAnswerLength, allowNoAnswer, NullThreshold);

    public void Validate()
    {
        if (DocStride is < 0) throw DistilException.Usage($"doc_stride must be 0 or more (got {DocStride})");
        if (MaxAnswerLength < 1) throw DistilException.Usage($"max_answer_length must be at least 1 (got {MaxAnswerLength})");
        if (NBest < 1) throw DistilException.Usage($"n_best must be at least 1 (got {NBest})");
    }
}

/// <summary>One split of a QA task: its questions and all their windows (each feature names its question by index).</summary>
public sealed record QaSplit(SquadFile File, IReadOnlyList<QaFeature> Features)
{
    public IReadOnlyList<SquadQuestion> Questions => File.Questions;

    public static QaSplit Load(string path, TextTokenizer tokenizer, QaWindowing windowing, bool skipBadRows)
    {
        var file = SquadReader.Read(path, skipBadRows);
        var features = new List<QaFeature>();
        for (int i = 0; i < file.Questions.Count; i++) features.AddRange(QaFeatures.Build(tokenizer, file.Questions[i], i, windowing));
        return new QaSplit(file, features);
    }
}

/// <summary>The splits of a QA task from the "data" section (train required; dev and test optional).</summary>
public sealed record QaTaskData(QaSplit Train, QaSplit? Dev, QaSplit? Test)
{
    public static QaTaskData Load(DataSettings d, QaSettings qa, TextTokenizer tokenizer)
    {
        d.Validate();
        qa.Validate();
        var w = qa.Windowing(d.MaxSeqLen);
        QaSplit? Read(string? path) => path == null ? null : QaSplit.Load(path, tokenizer, w, d.SkipBadRows);
        return new QaTaskData(Read(d.Train)!, Read(d.Dev), Read(d.Test));
    }

    /// <summary>True when the file looks like SQuAD JSON (an object whose "data" holds "paragraphs"): the task is extractive QA.</summary>
    public static bool IsSquad(string? path)
    {
        if (path == null || !System.IO.File.Exists(path) || !path.EndsWith(".json", StringComparison.OrdinalIgnoreCase)) return false;
        using var reader = new StreamReader(path);
        var head = new char[4096];
        int n = reader.ReadBlock(head, 0, head.Length);
        var text = new string(head, 0, n);
        return text.TrimStart().StartsWith('{') && text.Contains("\"paragraphs\"", StringComparison.Ordinal);
    }
}
