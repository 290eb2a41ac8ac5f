namespace Distil;

/// <summary>Exit codes of the `distil` command, in one place (documented in README).</summary>
public static class ExitCodes
{
    public const int Ok = 0;
    public const int Unhandled = 1;
    /// <summary>Bad usage or configuration: unknown option/key, invalid value, inconsistent settings.</summary>
    public const int InvalidUsage = 2;
    /// <summary>An input file or folder is missing or unreadable.</summary>
    public const int InputNotFound = 3;
    /// <summary>An input exists but is malformed: bad row, corrupt checkpoint, shape mismatch, not a BERT graph.</summary>
    public const int InvalidInput = 4;
    /// <summary>Training diverged (NaN/Inf loss or gradient); the last good checkpoint is kept.</summary>
    public const int NumericalFault = 5;
    /// <summary>A quality gate failed (e.g. an export whose outputs differ from the original).</summary>
    public const int CheckFailed = 6;
    /// <summary>An output (checkpoint, best/, a run file, a cache) could not be written: the disk is full. Nothing half-written is left.</summary>
    public const int DiskFull = 7;
    /// <summary>An output could not be written: its folder is read-only or not writable. Nothing half-written is left.</summary>
    public const int OutputNotWritable = 8;
    public const int Cancelled = 130;
}

/// <summary>A failure the user can act on: the message names the problem and what to do; the code is the exit code.</summary>
public class DistilException : Exception
{
    public int ExitCode { get; }
    public DistilException(int exitCode, string message, Exception? inner = null) : base(message, inner) => ExitCode = exitCode;

    public static DistilException BadInput(string message) => new(ExitCodes.InvalidInput, message);
    public static DistilException NotFound(string message) => new(ExitCodes.InputNotFound, message);
    public static DistilException Usage(string message) => new(ExitCodes.InvalidUsage, message);
}
