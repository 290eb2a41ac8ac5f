namespace Distil.Data;

/// <summary>The rows read from one file, with how many malformed rows were skipped (only with skip-bad-rows) and why.</summary>
public sealed record DatasetFile(string Path, IReadOnlyList<Example> Examples, int SkippedRows, IReadOnlyList<string> SkipReasons)
{
    public int Count => Examples.Count;
}
