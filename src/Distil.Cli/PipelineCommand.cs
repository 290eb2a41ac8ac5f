using System.CommandLine;
using System.Text.Json.Nodes;
using Distil.Pipelines;
using Distil.Reports;

namespace Distil.Cli;

/// <summary>
/// How every training command runs its pipeline: the config (file, or the run folder's own on --resume, then the
/// flags), validated before anything is loaded; the device; the run folder (refused when it is another command's or a
/// user's); the pipeline with the progress display; a refused input leaves no folder behind.
/// </summary>
public static class PipelineCommand
{
    public static (TResult Result, RunFolder Run) Run<TConfig, TResult>(ParseResult r, CommonOptions common, string command,
        Func<TConfig, RunContext, TResult> pipeline, Dictionary<string, JsonNode?>? overrides = null, bool progressBar = true)
        where TConfig : IRunConfig, new()
    {
        var (config, resolved) = ConfigResolver.Resolve<TConfig>(CommonOptions.ConfigOrRunConfig(r, common, command), overrides ?? common.Overrides(r));
        config.Validate();
        var device = CommonOptions.Setup(config.Device, config.Threads);
        bool resume = r.GetValue(common.Resume);
        var run = RunFolder.Create(config.Out!, command, resolved, resume);
        var result = run.Run(() => progressBar
            ? TrainingProgress.Run(command, p => pipeline(config, new RunContext(run, resume, device, p, Console.WriteLine)))
            : pipeline(config, new RunContext(run, resume, device, null, Console.WriteLine)));
        return (result, run);
    }
}
