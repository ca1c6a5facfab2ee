using System.Collections;
using System.CommandLine;
using Orchestrator.Cli.Api;
using Orchestrator.Cli.Commands;
using Orchestrator.Cli.Config;
using Orchestrator.Cli.Console;

namespace Orchestrator.Cli;

/// <summary>The command tree, its global options, and how every command's failures become one line and an exit code.</summary>
public sealed class CliApp
{
    public CliApp(IReadOnlyDictionary<string, string?> environment)
    {
        Environment = environment;
        Store = new ConfigStore(environment);
        Output = new Option<string>("--output", "-o")
        {
            Description = "table or json (json is the stable format for scripts; tables only on a terminal by default).",
            Recursive = true,
            HelpName = "table|json",
        };
        Output.AcceptOnlyFromAmong("table", "json");
        NoColor = new Option<bool>("--no-color") { Description = "No colour (also when NO_COLOR is set).", Recursive = true };
        Context = new Option<string?>("--context") { Description = "Use this context instead of the current one.", Recursive = true };
    }

    public IReadOnlyDictionary<string, string?> Environment { get; }

    public ConfigStore Store { get; }

    public Option<string> Output { get; }

    public Option<bool> NoColor { get; }

    public Option<string?> Context { get; }

    public static IReadOnlyDictionary<string, string?> ProcessEnvironment()
    {
        var variables = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (DictionaryEntry entry in System.Environment.GetEnvironmentVariables())
        {
            variables[(string)entry.Key] = entry.Value as string;
        }

        return variables;
    }

    public RootCommand Build()
    {
        var root = new RootCommand(
            "orch: machines, commands, sessions, files, workflows, runs, environments and git on Orchestrator, from a terminal.\n\n"
            + "Examples:\n"
            + "  orch login --url https://orchestrator.example.com --key $KEY\n"
            + "  orch instances create box --region ams --size shared-cpu-1x\n"
            + "  orch exec box -- uname -a\n"
            + "  orch ssh box --session work\n"
            + "  orch cp ./app.tar box:/srv/app.tar\n"
            + "  orch runs start deploy --input version=1.2 --follow\n\n"
            + "Exit codes: 0 ok, 1 failed (run, copy, validation), 2 usage or invalid request, 3 not found, 4 auth, 5 conflict, 6 server or network, 130 interrupted; exec and ssh exit with the remote status.");
        root.Add(Output);
        root.Add(NoColor);
        root.Add(Context);
        root.Add(ConnectCommands.Login(this));
        root.Add(ConnectCommands.ContextCommand(this));
        root.Add(InstanceCommands.Build(this));
        root.Add(ExecCommand.Build(this));
        root.Add(ShellCommand.Build(this));
        root.Add(SessionCommands.Build(this));
        root.Add(CopyCommand.Build(this));
        root.Add(WorkflowCommands.Build(this));
        root.Add(RunCommands.Build(this));
        root.Add(EnvironmentCommands.Build(this));
        root.Add(GitCommands.Build(this));
        root.Add(SecretCommands.Build(this));
        root.Add(AdminCommands.Tenants(this));
        root.Add(AdminCommands.Keys(this));
        root.Add(CompletionCommand.Build(this));
        return root;
    }

    public Ui CreateUi(ParseResult parse)
    {
        var json = parse.GetValue(Output) == "json";
        var noColor = parse.GetValue(NoColor) || Environment.GetValueOrDefault("NO_COLOR") is { Length: > 0 };
        return new Ui(json, noColor, !System.Console.IsOutputRedirected, !System.Console.IsErrorRedirected);
    }

    /// <summary>Runs a command that talks to the API: resolves the connection, maps failures to exit codes.</summary>
    public void SetApiAction(Command command, Func<CommandContext, CancellationToken, Task<int>> action) =>
        command.SetAction(async (parse, cancellationToken) =>
        {
            var ui = CreateUi(parse);
            try
            {
                var connection = Connection.Resolve(Store, Environment, parse.GetValue(Context), ui.Note);
                using var api = new ApiClient(connection);
                return await action(new CommandContext(parse, ui, api, this), cancellationToken);
            }
            catch (Exception ex)
            {
                return Fail(ui, ex, cancellationToken);
            }
        });

    /// <summary>Runs a command that needs no server.</summary>
    public void SetLocalAction(Command command, Func<ParseResult, Ui, CancellationToken, Task<int>> action) =>
        command.SetAction(async (parse, cancellationToken) =>
        {
            var ui = CreateUi(parse);
            try
            {
                return await action(parse, ui, cancellationToken);
            }
            catch (Exception ex)
            {
                return Fail(ui, ex, cancellationToken);
            }
        });

    internal static int Fail(Ui ui, Exception exception, CancellationToken cancellationToken)
    {
        switch (exception)
        {
            case ApiException api:
                ui.Note($"error: {api.Message}");
                return api.ExitCode;
            case CliException cli:
                ui.Note($"error: {cli.Message}");
                return cli.ExitCode;
            case OperationCanceledException when cancellationToken.IsCancellationRequested:
                ui.Note("interrupted");
                return ExitCodes.Interrupted;
            case System.Text.Json.JsonException json:
                ui.Note($"error: the server answered something orch cannot read ({json.Message}); is the URL an Orchestrator API?");
                return ExitCodes.Server;
            case HttpRequestException or IOException:
                ui.Note($"error: {exception.Message}");
                return ExitCodes.Server;
            default:
                throw exception;
        }
    }
}

/// <summary>What a command's action gets: its parse result, where to write, and the API.</summary>
public sealed record CommandContext(ParseResult Parse, Ui Ui, ApiClient Api, CliApp App);
