namespace Distil.Pipelines;

/// <summary>A finished stage: its typed result, the seconds it took when it ran, and whether it was read back on --resume.</summary>
public sealed record StageResult<T>(T Value, double Seconds, bool Resumed);

/// <summary>run/STAGE/done.json: the one marker of a finished stage, for every command.</summary>
public sealed record StageDone<T>(string Stage, double Seconds, T Result);
