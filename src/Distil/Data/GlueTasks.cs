namespace Distil.Data;

public enum DataSplit { Train, Dev, Test }

/// <summary>
/// Where a GLUE task keeps its files and columns (the layout of the GLUE download script). Test files are unlabelled
/// and start with an index column, so they get their own columns.
/// </summary>
public sealed record GlueLayout(string Task, string FolderName, string DevFile, string TestFile, bool TrainDevHeader, ColumnMapping Columns, ColumnMapping TestColumns)
{
    public string FileOf(DataSplit split) => split switch
    {
        DataSplit.Train => "train.tsv",
        DataSplit.Dev => DevFile,
        _ => TestFile,
    };
}

public static class GlueTasks
{
    static Column N(string name) => Column.Named(name);

    static readonly GlueLayout[] Table =
    {
        new("sst2", "SST-2", "dev.tsv", "test.tsv", true, new(N("sentence"), null, N("label")), new(N("sentence"))),
        // CoLA train/dev have no header: source, label, original label (always empty), sentence.
        new("cola", "CoLA", "dev.tsv", "test.tsv", false, new(Column.At(3), null, Column.At(1)), new(N("sentence"))),
        new("mrpc", "MRPC", "dev.tsv", "test.tsv", true, new(N("#1 String"), N("#2 String"), N("Quality")), new(N("#1 String"), N("#2 String"))),
        new("qqp", "QQP", "dev.tsv", "test.tsv", true, new(N("question1"), N("question2"), N("is_duplicate")), new(N("question1"), N("question2"))),
        new("qnli", "QNLI", "dev.tsv", "test.tsv", true, new(N("question"), N("sentence"), N("label")), new(N("question"), N("sentence"))),
        new("rte", "RTE", "dev.tsv", "test.tsv", true, new(N("sentence1"), N("sentence2"), N("label")), new(N("sentence1"), N("sentence2"))),
        new("mnli", "MNLI", "dev_matched.tsv", "test_matched.tsv", true, new(N("sentence1"), N("sentence2"), N("gold_label"), N("genre")), new(N("sentence1"), N("sentence2"), null, N("genre"))),
    };

    public static IReadOnlyList<string> Names { get; } = Table.Select(t => t.Task).ToArray();

    /// <summary>The layout of a task; names are matched without case, "-" and "_" ("SST-2" = "sst2").</summary>
    public static GlueLayout Get(string task)
    {
        var key = task.Replace("-", "").Replace("_", "").ToLowerInvariant();
        return Table.FirstOrDefault(t => t.Task == key)
            ?? throw DistilException.Usage($"unknown GLUE task '{task}'; known: {string.Join(", ", Names)}");
    }

    /// <summary>The file of a split: in <paramref name="folder"/> itself, or in its task subfolder (glue_data/SST-2/...).</summary>
    public static string PathOf(string folder, string task, DataSplit split)
    {
        var layout = Get(task);
        var file = layout.FileOf(split);
        var direct = Path.Combine(folder, file);
        if (File.Exists(direct)) return direct;
        var nested = Path.Combine(folder, layout.FolderName, file);
        if (File.Exists(nested)) return nested;
        throw DistilException.NotFound($"{direct}: GLUE {layout.Task} {split.ToString().ToLowerInvariant()} file not found (also looked in {nested}); pass the folder of the task's files");
    }

    public static DatasetFile Read(string folder, string task, DataSplit split, bool skipBadRows = false)
    {
        var layout = Get(task);
        var path = PathOf(folder, task, split);
        return split == DataSplit.Test
            ? DatasetReader.Read(path, layout.TestColumns, DataFormat.Tsv, hasHeader: true, skipBadRows)
            : DatasetReader.Read(path, layout.Columns, DataFormat.Tsv, layout.TrainDevHeader, skipBadRows);
    }
}
