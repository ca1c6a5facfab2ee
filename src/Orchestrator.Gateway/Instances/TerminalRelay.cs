using System.Net.WebSockets;
using System.Text.Json;
using System.Text.Json.Serialization;
using Orchestrator.Gateway.Auth;
using Orchestrator.Grains.Sessions;

namespace Orchestrator.Gateway.Instances;

/// <summary>
/// The terminal WebSocket protocol of <c>/shell</c> and of attached sessions: binary frames both ways, JSON control
/// messages as text (resize in; exit and error out). What the terminal is (an ephemeral shell, a shared tmux client)
/// is the caller's: it gives the output to send and where keystrokes and resizes go.
/// </summary>
internal static class TerminalRelay
{
    private const int MaxControlMessageBytes = 4096;

    /// <summary>
    /// Accepts the WebSocket and relays <paramref name="output"/> to it and its frames to <paramref name="input"/> until
    /// either side ends; a <see cref="TerminalOutput.Exit"/> or <see cref="TerminalOutput.Error"/> item is sent as its
    /// control message, and the socket is then closed normally.
    /// </summary>
    internal static async Task RelayAsync(HttpContext context, IAsyncEnumerable<TerminalOutput> output, ITerminalInput input, CancellationTokenSource closing)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(closing);
        // Browsers cannot set headers on a WebSocket: they offer "orchestrator" and "bearer.<key>" as
        // subprotocols instead, and the connection must select one of the offered ones to open.
        using var socket = await context.WebSockets.AcceptWebSocketAsync(
            context.WebSockets.WebSocketRequestedProtocols.Contains(ApiKeyAuthenticationHandler.WebSocketProtocol) ? ApiKeyAuthenticationHandler.WebSocketProtocol : null);
        // When the client closes (or the socket breaks), stop relaying output: ending the enumeration ends the terminal
        // (or this client's part in it).
        var pump = PumpInputAsync(socket, input, closing.Token).ContinueWith(_ => closing.Cancel(), TaskScheduler.Default);
        var closeReason = "shell exited";
        try
        {
            await foreach (var item in output.WithCancellation(closing.Token))
            {
                switch (item)
                {
                    case TerminalOutput.Data { Bytes.Length: > 0 } data:
                        await socket.SendAsync(data.Bytes, WebSocketMessageType.Binary, endOfMessage: true, closing.Token);
                        break;
                    case TerminalOutput.Exit exit:
                        await SendControlAsync(socket, new ShellControl("exit", ExitCode: exit.Code), closing.Token);
                        break;
                    case TerminalOutput.Error error:
                        closeReason = error.CloseReason;
                        await SendControlAsync(socket, new ShellControl("error", Detail: error.Detail), closing.Token);
                        break;
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
            await SendControlAsync(socket, new ShellControl("error", Detail: ex.Message), CancellationToken.None);
        }

        if (socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
        {
            using var closeTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, closeReason, closeTimeout.Token);
        }

        // The client answers our close frame, which ends the input pump; a client that never does is cut off.
        await pump.WaitAsync(TimeSpan.FromSeconds(5), CancellationToken.None).ContinueWith(_ => closing.Cancel(), TaskScheduler.Default);
        await pump;
    }

    /// <summary>Relays the client's frames: binary frames are keystrokes, text frames are JSON control messages.</summary>
    private static async Task PumpInputAsync(WebSocket socket, ITerminalInput input, CancellationToken cancellationToken)
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
                    if (input.ViewOnly)
                    {
                        // Said once, so a typing viewer is not flooded with errors.
                        if (!warned)
                        {
                            warned = true;
                            await SendControlAsync(socket, new ShellControl("error", Detail: "this attach is view-only: keystrokes are ignored"), cancellationToken);
                        }
                    }
                    else if (received.Count > 0)
                    {
                        await input.WriteAsync(buffer.AsSpan(0, received.Count).ToArray(), cancellationToken);
                    }

                    continue;
                }

                if (control.Length + received.Count > MaxControlMessageBytes)
                {
                    await SendControlAsync(socket, new ShellControl("error", Detail: $"control messages must be at most {MaxControlMessageBytes} bytes"), cancellationToken);
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
                        await SendControlAsync(socket, new ShellControl("error", Detail: controlProblem), cancellationToken);
                    }
                    else
                    {
                        await input.ResizeAsync(resize!.Cols!.Value, resize.Rows!.Value, cancellationToken);
                    }
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or WebSocketException)
        {
            // The socket closed or the terminal ended: the output side finishes the exchange.
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

    private static async Task SendControlAsync(WebSocket socket, ShellControl message, CancellationToken cancellationToken) =>
        await socket.SendAsync(JsonSerializer.SerializeToUtf8Bytes(message, InstanceEndpoints.Json), WebSocketMessageType.Text, endOfMessage: true, cancellationToken);
}

/// <summary>Where a relayed client's keystrokes and resizes go.</summary>
internal interface ITerminalInput
{
    /// <summary>Keystrokes are dropped (the client is told once); resizes are accepted and ignored.</summary>
    bool ViewOnly { get; }

    Task WriteAsync(byte[] data, CancellationToken cancellationToken);

    Task ResizeAsync(int columns, int rows, CancellationToken cancellationToken);
}

/// <summary>One thing to send to a relayed client.</summary>
internal abstract record TerminalOutput
{
    private TerminalOutput()
    {
    }

    /// <summary>Terminal output, as a binary frame.</summary>
    internal sealed record Data(byte[] Bytes) : TerminalOutput;

    /// <summary>The terminal's program ended: an <c>exit</c> message (a null code when it is not known).</summary>
    internal sealed record Exit(int? Code) : TerminalOutput;

    /// <summary>An <c>error</c> message; the socket is then closed with <paramref name="CloseReason"/> unless more follows.</summary>
    internal sealed record Error(string Detail, string CloseReason) : TerminalOutput;
}

/// <summary>A shell control message: <c>resize</c> from the client; <c>exit</c> and <c>error</c> to it.</summary>
internal sealed record ShellControl(
    string Type,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? Cols = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? Rows = null,
    int? ExitCode = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Detail = null);
