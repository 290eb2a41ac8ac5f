namespace Distil.Sweeps;

/// <summary>
/// One trial: a command line (<see cref="Command"/> and <see cref="Args"/>, --out included) whose run folder is
/// <see cref="RunDir"/>. Runnable by name anywhere the CLI runs (given the same run root). <see cref="Group"/> names
/// its settings without the seed: the trials of a group are averaged.
/// </summary>
public sealed record SweepTrial(string Name, string Command, IReadOnlyList<string> Args, string RunDir,
    IReadOnlyList<KeyValuePair<string, string>> Settings, int? Seed)
{
    public const string ResultFile = "result.json";

    public string Group => Settings.Count == 0 ? "(all)" : string.Join(", ", Settings.Select(s => $"{s.Key}={s.Value}"));

    /// <summary>A trial is done when its command wrote result.json (the last file every command writes).</summary>
    public bool IsDone => File.Exists(Path.Combine(RunDir, ResultFile));

    public string CommandLine => string.Join(' ', new[] { Command }.Concat(Args).Select(a => a.Contains(' ') ? $"\"{a}\"" : a));
}
