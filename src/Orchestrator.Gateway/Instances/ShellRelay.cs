using System.Globalization;
using Orchestrator.Gateway.Auth;
using Orchestrator.Grains.Instances;
using Orchestrator.Grains.Sessions;

namespace Orchestrator.Gateway.Instances;

/// <summary>
/// <c>GET /api/instances/{id}/shell</c> (mapped with the exec endpoints): opens a shell of its own on a session grain,
/// then relays it over a WebSocket with <see cref="TerminalRelay"/>.
/// </summary>
internal static class ShellRelay
{
    public const int DefaultColumns = 80;
    public const int DefaultRows = 24;

    internal static async Task ShellAsync(string id, HttpContext context, IClusterClient cluster)
    {
        var cancellationToken = context.RequestAborted;
        if (InstanceSpecRules.ValidateName(id) is { } idProblem)
        {
            await InstanceProblems.Invalid("id", idProblem).ExecuteAsync(context);
            return;
        }

        if (!TryWindow(context.Request, out var columns, out var rows, out var windowProblem))
        {
            await InstanceProblems.Invalid(windowProblem.Field, windowProblem.Problem).ExecuteAsync(context);
            return;
        }

        if (!context.WebSockets.IsWebSocketRequest)
        {
            await InstanceProblems.WebSocketRequired(
                "Open the shell with a WebSocket upgrade (GET with 'Connection: Upgrade' and 'Upgrade: websocket').").ExecuteAsync(context);
            return;
        }

        var sessionId = "sh-" + Guid.NewGuid().ToString("N")[..20];
        var grain = cluster.GetGrain<ISshSessionGrain>(SshSessionKey.Format(context.User.Tenant(), id, sessionId));
        using var closing = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        await using var events = grain.ShellAsync(columns, rows, closing.Token).GetAsyncEnumerator(closing.Token);
        if (!await InstanceProblems.FirstEventOrProblemAsync(events, context, "The shell ended before it opened."))
        {
            return;
        }

        await TerminalRelay.RelayAsync(context, Output(events), new ShellInput(grain), closing);
    }

    /// <summary>The shell's events after <see cref="ShellEventKind.Opened"/> as what the relay sends.</summary>
    private static async IAsyncEnumerable<TerminalOutput> Output(IAsyncEnumerator<ShellEvent> events)
    {
        while (await events.MoveNextAsync())
        {
            var item = events.Current;
            if (item.Kind == ShellEventKind.Output && item.Data is { Length: > 0 } data)
            {
                yield return new TerminalOutput.Data(data);
            }
            else if (item.Kind == ShellEventKind.Exited)
            {
                yield return new TerminalOutput.Exit(item.ExitCode);
            }
        }
    }

    internal static bool TryWindow(HttpRequest request, out int columns, out int rows, out (string Field, string Problem) problem)
    {
        columns = DefaultColumns;
        rows = DefaultRows;
        problem = default;
        if (request.Query["cols"].FirstOrDefault() is { } rawColumns && !int.TryParse(rawColumns, CultureInfo.InvariantCulture, out columns))
        {
            problem = ("cols", "must be a whole number");
            return false;
        }

        if (request.Query["rows"].FirstOrDefault() is { } rawRows && !int.TryParse(rawRows, CultureInfo.InvariantCulture, out rows))
        {
            problem = ("rows", "must be a whole number");
            return false;
        }

        if (ExecCommandRules.ValidateWindow(columns, rows) is { } windowProblem)
        {
            problem = (columns is < ExecCommandRules.MinColumns or > ExecCommandRules.MaxColumns ? "cols" : "rows", windowProblem);
            return false;
        }

        return true;
    }
}

/// <summary>The keystrokes and resizes of a <c>/shell</c> client, for its own shell.</summary>
internal sealed class ShellInput(ISshSessionGrain grain) : ITerminalInput
{
    public bool ViewOnly => false;

    public Task WriteAsync(byte[] data, CancellationToken cancellationToken) => grain.WriteShellAsync(data, cancellationToken);

    public Task ResizeAsync(int columns, int rows, CancellationToken cancellationToken) => grain.ResizeShellAsync(columns, rows, cancellationToken);
}
