using System.Text;
using Orchestrator.Gateway.Auth;
using Orchestrator.Grains.Sessions;

namespace Orchestrator.Gateway.Instances;

/// <summary>
/// <c>GET /api/instances/{id}/sessions/{sid}/attach</c>: a WebSocket joined to the session's shared tmux client in
/// this gateway (<see cref="SessionAttachHub"/>) and relayed with <see cref="TerminalRelay"/>.
/// </summary>
internal static class SessionAttachEndpoint
{
    internal static async Task AttachAsync(string id, string sid, HttpContext context, IClusterClient cluster, SessionAttachHub hub)
    {
        var cancellationToken = context.RequestAborted;
        var request = context.Request;
        var mode = request.Query["mode"].FirstOrDefault() ?? "interactive";
        IResult? problem = SessionEndpoints.IdProblem(id, sid)
            ?? (mode is "interactive" or "view" ? null : InstanceProblems.Invalid("mode", "must be 'interactive' or 'view'"));
        var scrollback = 0;
        if (problem is null)
        {
            SessionEndpoints.TryScrollback(request, out scrollback, out problem);
        }

        var (columns, rows) = (ShellRelay.DefaultColumns, ShellRelay.DefaultRows);
        if (problem is null && !ShellRelay.TryWindow(request, out columns, out rows, out var windowProblem))
        {
            problem = InstanceProblems.Invalid(windowProblem.Field, windowProblem.Problem);
        }

        if (problem is null && !context.WebSockets.IsWebSocketRequest)
        {
            problem = InstanceProblems.WebSocketRequired(
                "Attach with a WebSocket upgrade (GET with 'Connection: Upgrade' and 'Upgrade: websocket').");
        }

        if (problem is not null)
        {
            await problem.ExecuteAsync(context);
            return;
        }

        var session = SessionEndpoints.Session(cluster, context.User, id, sid);
        var viewOnly = mode == "view";
        SessionAttachment attachment;
        try
        {
            // Refuses a session that does not exist or has ended, and counts an interactive attach as activity.
            await session.GetAttachCommandAsync(viewOnly, cancellationToken);
            var prelude = scrollback > 0 ? History(await session.GetScreenAsync(scrollback, cancellationToken)) : null;
            attachment = await hub.AttachAsync(context.User.Tenant(), id, sid, viewOnly, columns, rows, prelude, cancellationToken);
        }
        catch (Exception ex) when (InstanceProblems.FromException(ex) is { } mapped)
        {
            await mapped.ExecuteAsync(context);
            return;
        }

        using (attachment)
        {
            using var closing = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            await TerminalRelay.RelayAsync(context, attachment.Output(closing.Token), attachment, closing);
        }
    }

    /// <summary>
    /// The history above the screen, printed and then pushed up by one blank line per screen row, so that it lands in
    /// the client terminal's scrollback before tmux draws the screen.
    /// </summary>
    private static byte[] History(TerminalScreen screen)
    {
        var lines = screen.Text.TrimEnd('\n').Split('\n');
        var history = lines.Length > screen.Rows ? lines[..^screen.Rows] : [];
        var text = new StringBuilder();
        foreach (var line in history)
        {
            text.Append(line).Append("\r\n");
        }

        text.Append(string.Concat(Enumerable.Repeat("\r\n", history.Length > 0 ? screen.Rows : 0)));
        return Encoding.UTF8.GetBytes(text.ToString());
    }
}
