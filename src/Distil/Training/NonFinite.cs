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

/// <summary>
/// training.max_bad_steps for a small loop (L2A's selector and its scout student): a non-finite step is skipped,
/// no update, while fewer than max_bad_steps were skipped, as in the Trainer; then the numerical fault as above.
/// </summary>
public sealed class NonFiniteBudget(int maxBadSteps)
{
    public int Skipped { get; private set; }

    /// <summary>False for a finite value; true when the step is to be skipped; throws once the budget is spent.</summary>
    public bool Skip(double value, string what, string where, string advice)
    {
        if (double.IsFinite(value)) return false;
        if (Skipped >= maxBadSteps)
            NonFinite.Check(value, what, where, advice + (maxBadSteps == 0
                ? "; or --skip-nonfinite N to skip up to N such steps"
                : $" (after {Skipped} skipped steps, --skip-nonfinite {maxBadSteps})"));
        Skipped++;
        return true;
    }
}
