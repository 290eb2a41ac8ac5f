using Distil.Cli;

return CliApp.Run(args);
