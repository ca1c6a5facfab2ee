using System.Net.WebSockets;
using System.Text.Encodings.Web;
using System.Text.Json;
using Orchestrator.Gateway.Auth;
using Orchestrator.Grains.Instances;
using Orchestrator.Grains.Sessions;

namespace Orchestrator.Gateway.Instances;

/// <summary>
/// <c>GET /api/instances/{id}/exec/ws</c> (mapped with the exec endpoints): a command whose stdin is streamed. HTTP/1.1
/// clients such as .NET's HttpClient do not read an answer before they finished sending the request body, so a body
/// that is stdin could not flow while output flows back (a 50 MB <c>cat</c> stalls both ways); a WebSocket is full
/// duplex. Binary frames in are stdin, each written through the session grain as it arrives and only as fast as the
/// command takes it (the socket is not read meanwhile, so TCP slows the client); output goes out as binary frames whose
/// first byte says the stream.
/// </summary>
internal static class ExecSocketRelay
{
    private const int ReceiveBufferBytes = 64 * 1024;
    private const int MaxControlMessageBytes = 4096;
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private static readonly byte[] StdoutHeader = [ExecEndpoints.StdoutTag];
    private static readonly byte[] StderrHeader = [ExecEndpoints.StderrTag];

    internal static async Task ExecAsync(string id, HttpContext context, IClusterClient cluster)
    {
        if (InstanceSpecRules.ValidateName(id) is { } idProblem)
        {
            await InstanceProblems.Invalid("id", idProblem).ExecuteAsync(context);
            return;
        }

        var (command, problem) = ExecRequestParser.ParseQuery(context.Request.Query, Guid.NewGuid());
        if (problem is { } p)
        {
            await InstanceProblems.Invalid(p.Field, p.Problem).ExecuteAsync(context);
            return;
        }

        if (!context.WebSockets.IsWebSocketRequest)
        {
            await InstanceProblems.WebSocketRequired(
                "Run a command with streamed stdin over a WebSocket upgrade (GET with 'Connection: Upgrade' and 'Upgrade: websocket'), or POST it to /exec with its stdin in the body.").ExecuteAsync(context);
            return;
        }

        var grain = cluster.GetGrain<ISshSessionGrain>(SshSessionKey.Format(context.User.Tenant(), id, SshSessionKey.ExecSession));
        using var closing = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        await using var events = grain.ExecAsync(command!, closing.Token).GetAsyncEnumerator(closing.Token);
        if (!await InstanceProblems.FirstEventOrProblemAsync(events, context, "The session ended before the command started."))
        {
            return;
        }

        // Browsers cannot set headers on a WebSocket: they offer "orchestrator" and "bearer.<key>" as subprotocols.
        using var socket = await context.WebSockets.AcceptWebSocketAsync(
            context.WebSockets.WebSocketRequestedProtocols.Contains(ApiKeyAuthenticationHandler.WebSocketProtocol) ? ApiKeyAuthenticationHandler.WebSocketProtocol : null);
        using var sending = new SemaphoreSlim(1, 1);
        var relay = new Relay(socket, sending);

        // The client closing (or the socket breaking) before the exit cancels the command: ending the enumeration kills it.
        var input = PumpStdinAsync(relay, grain, command!.StdinStream!.Value, closing.Token).ContinueWith(_ => closing.Cancel(), TaskScheduler.Default);
        var closeReason = "command exited";
        try
        {
            long stdoutBytes = 0;
            long stderrBytes = 0;
            while (await events.MoveNextAsync())
            {
                var item = events.Current;
                switch (item.Kind)
                {
                    case ExecEventKind.Stdout when item.Data is { Length: > 0 } data:
                        stdoutBytes += data.Length;
                        await relay.SendOutputAsync(StdoutHeader, data, closing.Token);
                        break;
                    case ExecEventKind.Stderr when item.Data is { Length: > 0 } data:
                        stderrBytes += data.Length;
                        await relay.SendOutputAsync(StderrHeader, data, closing.Token);
                        break;
                    case ExecEventKind.Exited when item.Exit is { } exit:
                        await relay.SendControlAsync(
                            json =>
                            {
                                json.WriteString("type", "exit");
                                ExecStreamWriter.WriteExitFields(json, exit);
                                json.WriteNumber("stdout_bytes", stdoutBytes);
                                json.WriteNumber("stderr_bytes", stderrBytes);
                            },
                            closing.Token);
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
        catch (InstanceUnreachableException ex)
        {
            closeReason = "connection to the machine lost";
            try
            {
                await relay.SendErrorAsync(InstanceProblems.SshUnreachable, "The connection to the machine was lost", ex.Message, closing.Token);
            }
            catch (Exception sendFailure) when (sendFailure is WebSocketException or OperationCanceledException)
            {
                // The client is gone too; there is no one left to tell.
            }
        }

        if (socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
        {
            using var closeTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await relay.CloseAsync(closeReason, closeTimeout.Token);
        }

        // The client answers our close frame, which ends the input pump; a client that never does is cut off.
        await input.WaitAsync(TimeSpan.FromSeconds(5), CancellationToken.None).ContinueWith(_ => closing.Cancel(), TaskScheduler.Default);
        await input;
    }

    /// <summary>
    /// Relays the client's frames: binary frames are stdin, awaited piece by piece through the grain; the text frame
    /// <c>{"type": "eof"}</c> closes stdin. Stdin the command no longer takes (it ended or closed it) is read and dropped,
    /// so the client's close frame still arrives.
    /// </summary>
    private static async Task PumpStdinAsync(Relay relay, ISshSessionGrain grain, Guid stdinStream, CancellationToken cancellationToken)
    {
        var buffer = new byte[ReceiveBufferBytes];
        using var control = new MemoryStream();
        var open = true;
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                var received = await relay.Socket.ReceiveAsync(buffer, cancellationToken);
                if (received.MessageType == WebSocketMessageType.Close)
                {
                    return;
                }

                if (received.MessageType == WebSocketMessageType.Binary)
                {
                    if (open && received.Count > 0)
                    {
                        open = await grain.WriteStdinAsync(stdinStream, buffer.AsSpan(0, received.Count).ToArray(), cancellationToken);
                    }

                    continue;
                }

                if (control.Length + received.Count > MaxControlMessageBytes)
                {
                    await relay.SendErrorAsync(InstanceProblems.Validation, "Bad control message", $"control messages must be at most {MaxControlMessageBytes} bytes", cancellationToken);
                    control.SetLength(0);
                    continue;
                }

                control.Write(buffer, 0, received.Count);
                if (!received.EndOfMessage)
                {
                    continue;
                }

                var message = control.ToArray();
                control.SetLength(0);
                if (IsEof(message))
                {
                    if (open)
                    {
                        open = false;
                        await grain.CloseStdinAsync(stdinStream, cancellationToken);
                    }
                }
                else
                {
                    await relay.SendErrorAsync(InstanceProblems.Validation, "Bad control message", "the only control message is {\"type\": \"eof\"}", cancellationToken);
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or WebSocketException)
        {
            // The socket closed or the command ended: the output side finishes the exchange.
        }
    }

    internal static bool IsEof(byte[] message)
    {
        try
        {
            using var document = JsonDocument.Parse(message);
            return document.RootElement is { ValueKind: JsonValueKind.Object } root
                && root.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String && type.ValueEquals("eof");
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>One send at a time: output, exit and errors share the socket, and a WebSocket takes one sender.</summary>
    private sealed class Relay(WebSocket socket, SemaphoreSlim sending)
    {
        public WebSocket Socket => socket;

        public async Task SendOutputAsync(byte[] header, byte[] data, CancellationToken cancellationToken)
        {
            await sending.WaitAsync(cancellationToken);
            try
            {
                // One message in two frames: the tag, then the bytes as the grain delivered them (no copy).
                await socket.SendAsync(header, WebSocketMessageType.Binary, endOfMessage: false, cancellationToken);
                await socket.SendAsync(data, WebSocketMessageType.Binary, endOfMessage: true, cancellationToken);
            }
            finally
            {
                sending.Release();
            }
        }

        public Task SendErrorAsync(string type, string title, string detail, CancellationToken cancellationToken) =>
            SendControlAsync(
                json =>
                {
                    json.WriteString("type", "error");
                    json.WriteStartObject("error");
                    json.WriteString("type", type);
                    json.WriteString("title", title);
                    json.WriteString("detail", detail);
                    json.WriteEndObject();
                },
                cancellationToken);

        public async Task SendControlAsync(Action<Utf8JsonWriter> write, CancellationToken cancellationToken)
        {
            using var buffer = new MemoryStream();
            using (var json = new Utf8JsonWriter(buffer, WriterOptions))
            {
                json.WriteStartObject();
                write(json);
                json.WriteEndObject();
            }

            await sending.WaitAsync(cancellationToken);
            try
            {
                await socket.SendAsync(buffer.GetBuffer().AsMemory(0, (int)buffer.Length), WebSocketMessageType.Text, endOfMessage: true, cancellationToken);
            }
            finally
            {
                sending.Release();
            }
        }

        public async Task CloseAsync(string reason, CancellationToken cancellationToken)
        {
            await sending.WaitAsync(cancellationToken);
            try
            {
                await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, reason, cancellationToken);
            }
            finally
            {
                sending.Release();
            }
        }
    }
}
