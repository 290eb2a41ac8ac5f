namespace Distil.Training;

/// <summary>
/// The numerical-fault check of the small loops that do not run through the Trainer (AdaBERT's architecture step and
/// teacher probes, L2A's discriminator, selector and inner KD steps): like the Trainer they stop on a NaN/Inf loss
/// with exit code NumericalFault and a message saying what to change, and never keep training on garbage.
/// </summary>
public static class NonFinite
{
    /// <summary>Returns <paramref name="value"/> when finite; otherwise throws "{where} diverged: {what} is NaN ...; {advice}".</summary>
    public static double Check(double value, string what, string where, string advice) =>
        double.IsFinite(value) ? value
        : throw new DistilException(ExitCodes.NumericalFault, $"{where} diverged: {what} is {value}; {advice}");
}
