using Distil.Training;
using Spectre.Console;

namespace Distil.Cli;

/// <summary>
/// Progress of a training run: a Spectre bar (loss, examples/s, ETA) on a terminal, plain lines otherwise (CI, logs).
/// </summary>
public sealed class TrainingProgress : TrainerCallback
{
    readonly ProgressTask? task;
    readonly string command;
    string label;
    readonly int plainEvery;

    TrainingProgress(ProgressTask? task, string label, int plainEvery)
    {
        this.task = task;
        this.command = label;
        this.label = label;
        this.plainEvery = plainEvery;
    }

    public static bool Interactive => AnsiConsole.Profile.Capabilities.Interactive && !Console.IsOutputRedirected;

    /// <summary>Runs work with a progress display; work receives the callback to hand to the Trainer.</summary>
    public static T Run<T>(string label, Func<TrainerCallback, T> work)
    {
        if (!Interactive) return work(new TrainingProgress(null, label, 20));
        T result = default!;
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(),
                     new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(ctx => result = work(new TrainingProgress(ctx.AddTask(label, maxValue: 1), label, 0)));
        return result;
    }

    /// <summary>"search retrain", "metakd student meta-kd": which training of a multi-stage command is running.</summary>
    public override void OnStageBegin(string stage) => label = stage == command ? command : $"{command} {stage}";

    public override void OnTrainBegin(TrainerState state)
    {
        if (task != null) { task.MaxValue = state.TotalSteps; task.Value = state.GlobalStep; }
        else Console.WriteLine($"{label}: {state.TotalSteps} steps" + (state.GlobalStep > 0 ? $", resuming at step {state.GlobalStep}" : ""));
    }

    public override void OnStepEnd(TrainerState state, StepReport r)
    {
        string text = $"{label} epoch {r.Epoch + 1} loss {r.Loss:F4} {r.ExamplesPerSecond:F0} ex/s";
        if (task != null)
        {
            task.Description = Markup.Escape(text);
            task.Value = r.Step;
        }
        else if (r.Step % plainEvery == 0 || r.Step == r.TotalSteps)
            Console.WriteLine($"step {r.Step}/{r.TotalSteps} {text} lr {r.LearningRate:E2}");
    }

    public override void OnStepSkipped(TrainerState state, SkippedStep s)
    {
        string line = $"step {s.Step} skipped: {s.What} is {s.Value} ({s.SkippedSoFar} skipped so far; no update)";
        if (task != null) AnsiConsole.MarkupLine(Markup.Escape(line));
        else Console.WriteLine(line);
    }

    public override void OnEvaluate(TrainerState state, IReadOnlyDictionary<string, double> metrics, bool isBest)
    {
        string line = $"eval @ step {state.GlobalStep}: " + string.Join("  ", metrics.Select(kv => $"{kv.Key} {kv.Value:F4}")) + (isBest ? "  (best)" : "");
        if (task != null) AnsiConsole.MarkupLine(Markup.Escape(line));
        else Console.WriteLine(line);
    }
}
