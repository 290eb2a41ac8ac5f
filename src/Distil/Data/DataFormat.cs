namespace Distil.Data;

public enum DataFormat { Tsv, Csv, Jsonl }

public static class DataFormats
{
    /// <summary>The format of a file by its extension; other extensions need an explicit format.</summary>
    public static DataFormat FromPath(string path) => Path.GetExtension(path).ToLowerInvariant() switch
    {
        ".tsv" or ".tab" => DataFormat.Tsv,
        ".csv" => DataFormat.Csv,
        ".jsonl" or ".ndjson" => DataFormat.Jsonl,
        var ext => throw DistilException.Usage($"{path}: cannot tell the format from the extension '{ext}'; pass --format tsv, csv or jsonl"),
    };

    public static DataFormat Parse(string value) => value.ToLowerInvariant() switch
    {
        "tsv" => DataFormat.Tsv,
        "csv" => DataFormat.Csv,
        "jsonl" or "ndjson" => DataFormat.Jsonl,
        _ => throw DistilException.Usage($"unknown data format '{value}'; use tsv, csv or jsonl"),
    };
}
