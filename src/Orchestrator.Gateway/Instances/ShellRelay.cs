using System.Globalization;
using System.Net.WebSockets;
using System.Text.Json;
using System.Text.Json.Serialization;
using Orchestrator.Gateway.Auth;
using Orchestrator.Grains.Instances;
using Orchestrator.Grains.Sessions;

namespace Orchestrator.Gateway.Instances;

/// <summary>
/// <c>GET /api/instances/{id}/shell</c> (mapped with the exec endpoints): opens a shell on the session grain, then
/// relays it over a WebSocket: binary frames both ways, JSON control messages (resize in, exit and error out) as text.
/// </summary>
internal static class ShellRelay
{
    public const int DefaultColumns = 80;
    public const int DefaultRows = 24;

    private const int MaxControlMessageBytes = 4096;

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
            await TypedResults.Problem(
                "Open the shell with a WebSocket upgrade (GET with 'Connection: Upgrade' and 'Upgrade: websocket').",
                statusCode: StatusCodes.Status400BadRequest,
                title: "A WebSocket is required",
                type: ExecEndpoints.WebSocketRequired).ExecuteAsync(context);
            return;
        }

        var sessionId = "sh-" + Guid.NewGuid().ToString("N")[..20];
        var grain = cluster.GetGrain<ISshSessionGrain>(SshSessionKey.Format(context.User.Tenant(), id, sessionId));
        using var closing = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        await using var events = grain.ShellAsync(columns, rows, closing.Token).GetAsyncEnumerator(closing.Token);
        try
        {
            if (!await events.MoveNextAsync())
            {
                throw new InvalidOperationException("The shell ended before it opened.");
            }
        }
        catch (Exception ex) when (InstanceProblems.FromException(ex) is { } mapped)
        {
            await mapped.ExecuteAsync(context);
            return;
        }

        await RelayAsync(context, grain, events, closing, viewOnly: false, prelude: null, exitCode: null);
    }

    /// <summary>
    /// Accepts the WebSocket and relays an opened terminal (its first event already read) until either side ends it.
    /// A view-only relay drops the client's keystrokes; <paramref name="prelude"/> is sent before the terminal's
    /// output; <paramref name="exitCode"/>, when given, says the exit code to report when the terminal ends without one.
    /// </summary>
    internal static async Task RelayAsync(
        HttpContext context,
        ISshSessionGrain grain,
        IAsyncEnumerator<ShellEvent> events,
        CancellationTokenSource closing,
        bool viewOnly,
        byte[]? prelude,
        Func<Task<int?>>? exitCode)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(events);
        ArgumentNullException.ThrowIfNull(closing);
        // Browsers cannot set headers on a WebSocket: they offer "orchestrator" and "bearer.<key>" as
        // subprotocols instead, and the connection must select one of the offered ones to open.
        using var socket = await context.WebSockets.AcceptWebSocketAsync(
            context.WebSockets.WebSocketRequestedProtocols.Contains(ApiKeyAuthenticationHandler.WebSocketProtocol) ? ApiKeyAuthenticationHandler.WebSocketProtocol : null);
        // When the client closes (or the socket breaks), stop relaying output: ending the enumeration closes the shell.
        var input = PumpInputAsync(socket, grain, viewOnly, closing.Token).ContinueWith(_ => closing.Cancel(), TaskScheduler.Default);
        var closeReason = "shell exited";
        try
        {
            if (prelude is { Length: > 0 })
            {
                await socket.SendAsync(prelude, WebSocketMessageType.Binary, endOfMessage: true, closing.Token);
            }

            while (await events.MoveNextAsync())
            {
                var item = events.Current;
                if (item.Kind == ShellEventKind.Output && item.Data is { Length: > 0 } data)
                {
                    await socket.SendAsync(data, WebSocketMessageType.Binary, endOfMessage: true, closing.Token);
                }
                else if (item.Kind == ShellEventKind.Exited)
                {
                    var code = exitCode is null ? item.ExitCode : await exitCode();
                    var exit = JsonSerializer.SerializeToUtf8Bytes(new ShellControl("exit", ExitCode: code), InstanceEndpoints.Json);
                    await socket.SendAsync(exit, WebSocketMessageType.Text, endOfMessage: true, closing.Token);
                }
            }
        }
        catch (OperationCanceledException) when (closing.IsCancellationRequested)
        {
            closeReason = "closed by the client";
        }
        catch (WebSocketException)
        {
            closeReason = "connection lost";
        }
        catch (Exception ex) when (InstanceProblems.FromException(ex) is not null)
        {
            closeReason = "shell failed";
            await SendControlErrorAsync(socket, ex.Message, CancellationToken.None);
        }

        if (socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
        {
            using var closeTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, closeReason, closeTimeout.Token);
        }

        // The client answers our close frame, which ends the input pump; a client that never does is cut off.
        await input.WaitAsync(TimeSpan.FromSeconds(5), CancellationToken.None).ContinueWith(_ => closing.Cancel(), TaskScheduler.Default);
        await input;
    }

    /// <summary>Relays the client's frames: binary frames are keystrokes, text frames are JSON control messages.</summary>
    private static async Task PumpInputAsync(WebSocket socket, ISshSessionGrain grain, bool viewOnly, CancellationToken cancellationToken)
    {
        var buffer = new byte[16 * 1024];
        using var control = new MemoryStream();
        var warned = false;
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                var received = await socket.ReceiveAsync(buffer, cancellationToken);
                if (received.MessageType == WebSocketMessageType.Close)
                {
                    return;
                }

                if (received.MessageType == WebSocketMessageType.Binary)
                {
                    if (viewOnly)
                    {
                        // Said once, so a typing viewer is not flooded with errors.
                        if (!warned)
                        {
                            warned = true;
                            await SendControlErrorAsync(socket, "this attach is view-only: keystrokes are ignored", cancellationToken);
                        }
                    }
                    else if (received.Count > 0)
                    {
                        await grain.WriteShellAsync(buffer.AsSpan(0, received.Count).ToArray(), cancellationToken);
                    }

                    continue;
                }

                if (control.Length + received.Count > MaxControlMessageBytes)
                {
                    await SendControlErrorAsync(socket, $"control messages must be at most {MaxControlMessageBytes} bytes", cancellationToken);
                    control.SetLength(0);
                    continue;
                }

                control.Write(buffer, 0, received.Count);
                if (received.EndOfMessage)
                {
                    var message = control.ToArray();
                    control.SetLength(0);
                    var (resize, controlProblem) = ParseControl(message);
                    if (controlProblem is not null)
                    {
                        await SendControlErrorAsync(socket, controlProblem, cancellationToken);
                    }
                    else
                    {
                        await grain.ResizeShellAsync(resize!.Cols!.Value, resize.Rows!.Value, cancellationToken);
                    }
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or WebSocketException)
        {
            // The socket closed or the shell ended: the output side finishes the exchange.
        }
    }

    /// <summary>The resize message, or the problem with it.</summary>
    internal static (ShellControl? Resize, string? Problem) ParseControl(byte[] message)
    {
        ShellControl? control;
        try
        {
            control = JsonSerializer.Deserialize<ShellControl>(message, InstanceEndpoints.Json);
        }
        catch (JsonException ex)
        {
            return (null, $"control message is not valid JSON: {ex.Message}");
        }

        if (control is not { Type: "resize" })
        {
            return (null, "control message type must be 'resize'");
        }

        return control is { Cols: { } cols, Rows: { } rows } && ExecCommandRules.ValidateWindow(cols, rows) is null
            ? (control, null)
            : (null, $"resize needs cols and rows from {ExecCommandRules.MinColumns} to {ExecCommandRules.MaxColumns}");
    }

    private static async Task SendControlErrorAsync(WebSocket socket, string detail, CancellationToken cancellationToken)
    {
        var error = JsonSerializer.SerializeToUtf8Bytes(new ShellControl("error", Detail: detail), InstanceEndpoints.Json);
        await socket.SendAsync(error, WebSocketMessageType.Text, endOfMessage: true, cancellationToken);
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

/// <summary>A shell control message: <c>resize</c> from the client; <c>exit</c> and <c>error</c> to it.</summary>
internal sealed record ShellControl(
    string Type,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? Cols = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? Rows = null,
    int? ExitCode = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Detail = null);
