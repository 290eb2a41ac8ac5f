using System.CommandLine;
using System.Diagnostics;
using System.Reflection;
using Distil.Cluster;
using Distil.Reports;
using Distil.Sweeps;
using Spectre.Console;

namespace Distil.Cli.Commands;

/// <summary>`distil sweep FILE.json`: a grid of trials, each a normal run folder (docs/sweeps.md).</summary>
public static class SweepCommand
{
    public static Command Create()
    {
        var file = new Argument<string>("FILE") { Description = "The sweep file (.json): command, args, axes, seeds, metric, cost" };
        var dryRun = new Option<bool>("--dry-run") { Description = "List the trials and their command lines; run nothing" };
        var summaryOnly = new Option<bool>("--summary-only") { Description = "Write the summary of the trials done so far; run nothing" };
        var inProcess = new Option<bool>("--in-process") { Description = "Run each trial inside this process instead of a child process (its output then goes to this console)" };
        var cluster = OptionMeanings.Create<string?>("--cluster", "(default: run the trials here, one after another); the run root must then be on a file system every worker shares, at the same path");
        var lease = WorkerCommand.LeaseOption();
        var cmd = new Command("sweep", """
            Run a grid of trials from one JSON file: every combination of the axes' values times every seed is a trial
            of one command, with its own run folder under run_root. A trial whose run folder holds result.json is done
            and skipped, so rerunning the sweep completes a cut-short one. Each trial runs as a child process with its
            output in run_root/NAME.log. Writes run_root/summary.md and summary.json (mean +- sd over seeds per setting)
            and, with a cost, run_root/pareto.png.

            With --cluster the trials not yet done are spread over the cluster's workers (`distil worker`); the run root
            and the paths the trials name must be on a shared file system at the same path on every worker.

            Examples:
              distil sweep bench/sweeps/kd-presets.json
              distil sweep bench/sweeps/kd-presets.json --cluster redis://10.0.0.5:6379
            """);
        cmd.Arguments.Add(file);
        foreach (var o in new Option[] { dryRun, summaryOnly, inProcess, cluster, lease }) cmd.Options.Add(o);
        cmd.SetAction(async (r, cancel) =>
        {
            var sweep = SweepFile.Read(r.GetValue(file)!);
            var trials = SweepPlan.Expand(sweep);
            if (r.GetValue(dryRun))
            {
                foreach (var t in trials) AnsiConsole.WriteLine($"{(t.IsDone ? "done" : "todo")}  {t.Name}: distil {t.CommandLine}");
                return ExitCodes.Ok;
            }
            Directory.CreateDirectory(sweep.RunRoot);
            IReadOnlyList<TrialRun> runs;
            if (r.GetValue(summaryOnly)) runs = [];
            else if (r.GetValue(cluster) is { } url)
            {
                if (r.GetValue(inProcess)) throw DistilException.Usage("--in-process and --cluster: a cluster runs each trial as a child process of a worker; give one");
                var (client, grains) = await WorkerCommand.ConnectAsync(url, cancel);
                using (client) runs = ClusterSweep.Run(grains, sweep.RunRoot, trials, r.GetValue(lease), m => AnsiConsole.WriteLine(m), cancel);
            }
            else runs = SweepRunner.Run(trials, r.GetValue(inProcess) ? InProcess : t => Child(t, null, Path.Combine(sweep.RunRoot, t.Name + ".log")), m => AnsiConsole.WriteLine(m));
            var groups = Summarise(sweep, trials);
            AnsiConsole.WriteLine(SweepSummary.Markdown(groups, sweep.Metric, sweep.Cost));
            int failed = runs.Count(x => x.Outcome == TrialOutcome.Failed);
            AnsiConsole.MarkupLineInterpolated($"{runs.Count(x => x.Outcome == TrialOutcome.Ran)} trials ran, {runs.Count(x => x.Outcome == TrialOutcome.Skipped)} were done, {failed} failed; summary in {Path.Combine(sweep.RunRoot, "summary.md")}");
            return failed > 0 ? ExitCodes.CheckFailed : ExitCodes.Ok;
        });
        return cmd;
    }

    /// <summary>summary.md, summary.json and (with a metric and a cost) pareto.png in the run root.</summary>
    public static IReadOnlyList<SweepGroup> Summarise(SweepFile sweep, IReadOnlyList<SweepTrial> trials)
    {
        var groups = SweepSummary.Summarise(trials, sweep.Metric, sweep.Cost);
        RunFolder.WriteAtomic(Path.Combine(sweep.RunRoot, "summary.md"), $"# Sweep: distil {sweep.Command}\n\n" + SweepSummary.Markdown(groups, sweep.Metric, sweep.Cost));
        RunFolder.WriteAtomic(Path.Combine(sweep.RunRoot, "summary.json"), System.Text.Json.JsonSerializer.Serialize(groups, new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
        if (sweep.Metric != null && sweep.Cost != null && groups.Any(g => g.Mean.HasValue && g.Cost.HasValue))
            SweepPlot.WritePareto(groups, sweep.Metric, sweep.Cost, Path.Combine(sweep.RunRoot, "pareto.png"));
        return groups;
    }

    static int InProcess(SweepTrial t) => CliApp.Run([t.Command, .. t.Args]);

    /// <summary>
    /// The same CLI as a child process (a crash or a leak stays in the trial), in <paramref name="workingDirectory"/>
    /// (null: this one), output in <paramref name="logPath"/> (run_root/NAME.log locally).
    /// </summary>
    public static int Child(SweepTrial t, string? workingDirectory, string logPath)
    {
        string exe = Environment.ProcessPath ?? throw DistilException.Usage("cannot tell which program this is; use --in-process");
        var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (workingDirectory != null) psi.WorkingDirectory = workingDirectory;
        if (Path.GetFileNameWithoutExtension(exe) == "dotnet") psi.ArgumentList.Add(Assembly.GetEntryAssembly()!.Location);
        psi.ArgumentList.Add(t.Command);
        foreach (var a in t.Args) psi.ArgumentList.Add(a);
        using var log = new StreamWriter(logPath);
        using var p = Process.Start(psi)!;
        p.OutputDataReceived += (_, e) => { if (e.Data != null) lock (log) log.WriteLine(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (log) log.WriteLine(e.Data); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        p.WaitForExit();
        return p.ExitCode;
    }
}
