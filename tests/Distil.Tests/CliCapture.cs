using Distil.Cli;
using Spectre.Console;

namespace Distil.Tests;

/// <summary>Runs the CLI as a user would and returns its exit code with everything it printed (plain text, one line
/// per message: no colours, no wrapping at a terminal's width).</summary>
public static class CliCapture
{
    public static (int Code, string Output) Run(params string[] args)
    {
        var writer = new StringWriter();
        var saved = AnsiConsole.Console;
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors, Out = new AnsiConsoleOutput(writer), Interactive = InteractionSupport.No,
        });
        console.Profile.Width = 100_000;
        AnsiConsole.Console = console;
        try { return (CliApp.Run(args), writer.ToString()); }
        finally { AnsiConsole.Console = saved; }
    }
}
