namespace Distil.Data;

/// <summary>Reads a TSV, CSV or JSONL data file into <see cref="Example"/>s.</summary>
public static class DatasetReader
{
    /// <param name="format">null: from the extension (.tsv .csv .jsonl).</param>
    /// <param name="hasHeader">TSV/CSV only: the first line names the columns.</param>
    /// <param name="skipBadRows">skip malformed rows (counted in the result) instead of stopping at the first.</param>
    public static DatasetFile Read(string path, ColumnMapping? columns = null, DataFormat? format = null, bool hasHeader = true, bool skipBadRows = false)
    {
        if (!File.Exists(path)) throw DistilException.NotFound($"{path}: data file not found; check the path");
        var f = format ?? DataFormats.FromPath(path);
        columns ??= ColumnMapping.Default;
        return f == DataFormat.Jsonl
            ? JsonlReader.Read(path, columns, skipBadRows)
            : TabularReader.Read(path, f, columns, hasHeader, skipBadRows);
    }
}
