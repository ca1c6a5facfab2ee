using System.CommandLine;
using Orchestrator.Cli;

var app = new CliApp(CliApp.ProcessEnvironment());
var root = app.Build();
var parse = root.Parse(args);
if (parse.Errors.Count > 0 && parse.Action is System.CommandLine.Invocation.ParseErrorAction)
{
    // Usage errors exit 2, as for every Unix tool, with the errors and where to read more.
    foreach (var error in parse.Errors)
    {
        Console.Error.WriteLine($"error: {error.Message}");
    }

    Console.Error.WriteLine($"Run '{string.Join(' ', parse.CommandResult.Command.Name == root.Name ? ["orch"] : new[] { "orch", parse.CommandResult.Command.Name })} --help' for usage.");
    return ExitCodes.Usage;
}

return await parse.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = TimeSpan.FromSeconds(5) });
