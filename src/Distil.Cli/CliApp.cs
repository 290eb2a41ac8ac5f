using System.CommandLine;
using Distil.Cli.Commands;
using Spectre.Console;

namespace Distil.Cli;

/// <summary>The `distil` command tree and the one place where failures become exit codes (Distil.ExitCodes).</summary>
public static class CliApp
{
    public static RootCommand Build()
    {
        var root = new RootCommand("distil: compress BERT teachers into small, fast students, and prove it with numbers.");
        root.Subcommands.Add(FinetuneCommand.Create());
        root.Subcommands.Add(DistillCommand.Create());
        root.Subcommands.Add(AugmentCommand.Create());
        root.Subcommands.Add(SearchCommand.Create());
        root.Subcommands.Add(L2aCommand.Create());
        root.Subcommands.Add(EvalCommand.Create());
        root.Subcommands.Add(BaselineCommand.Create());
        root.Subcommands.Add(PredictCommand.Create());
        root.Subcommands.Add(ImportOnnxCommand.Create());
        root.Subcommands.Add(ExportCommand.Create());
        root.Subcommands.Add(QuantizeCommand.Create());
        root.Subcommands.Add(BenchCommand.Create());
        root.Subcommands.Add(MetaKdCommand.Create());
        root.Subcommands.Add(DemoCommand.Create());
        root.Subcommands.Add(LabelCommand.Create());
        root.Subcommands.Add(SweepCommand.Create());
        root.Subcommands.Add(WorkerCommand.Create());
        root.Subcommands.Add(DigestCommand.Create());
        return root;
    }

    public static int Run(string[] args)
    {
        try
        {
            var parsed = Build().Parse(args);
            if (parsed.Errors.Count > 0)
            {
                foreach (var error in parsed.Errors) AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {error.Message}");
                AnsiConsole.MarkupLine("see [bold]distil <command> --help[/]");
                return ExitCodes.InvalidUsage;
            }
            // Our handler below maps exceptions to documented exit codes, instead of System.CommandLine's generic 1.
            return parsed.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (DistilException e)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {e.Message}");
            return e.ExitCode;
        }
        catch (Exception e) when (Checkpoints.WriteFault.TranslateUnguarded(e) is DistilException d)
        {
            // A full or read-only disk hit by a write outside the atomic writers: still a message and its exit code.
            AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {d.Message}");
            return d.ExitCode;
        }
        catch (OperationCanceledException)
        {
            AnsiConsole.MarkupLine("[yellow]cancelled[/]; the last checkpoint is kept (use --resume)");
            return ExitCodes.Cancelled;
        }
    }
}
