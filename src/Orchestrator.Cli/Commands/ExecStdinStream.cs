using System.Globalization;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Orchestrator.Cli.Api;

namespace Orchestrator.Cli.Commands;

/// <summary>
/// <c>orch exec</c> with stdin: <c>GET /api/instances/{id}/exec/ws</c>, a WebSocket, because HttpClient on HTTP/1.1
/// reads no answer before it sent the whole request body, so a body that is stdin could not stream while output streams
/// back. Stdin goes out in pieces as it is read (the server takes the next one when the command took the last, so memory
/// stays one piece however large the input), then an EOF message; output messages carry a tag byte (1 stdout, 2 stderr)
/// and are written to ours byte for byte.
/// </summary>
internal static class ExecStdinStream
{
    private const byte StdoutTag = 1;
    private const byte StderrTag = 2;
    private const int PieceBytes = 64 * 1024;

    // The server's request line is at most 8 KiB (Kestrel's default), with the method and protocol around the target.
    private const int MaxRequestTarget = 8000;
    private static readonly byte[] Eof = """{"type":"eof"}"""u8.ToArray();

    /// <summary>The socket's address: the command and its options as query parameters.</summary>
    internal static Uri Target(Uri api, string id, ExecRequest request)
    {
        var query = new StringBuilder("command=").Append(Uri.EscapeDataString(request.Command));
        foreach (var (name, value) in request.Env ?? new Dictionary<string, string>())
        {
            query.Append("&env=").Append(Uri.EscapeDataString($"{name}={value}"));
        }

        if (request.Cwd is { } cwd)
        {
            query.Append("&cwd=").Append(Uri.EscapeDataString(cwd));
        }

        if (request.TimeoutSeconds is { } timeout)
        {
            query.Append("&timeout_seconds=").Append(timeout.ToString("R", CultureInfo.InvariantCulture));
        }

        return new UriBuilder(api)
        {
            Scheme = api.Scheme == Uri.UriSchemeHttps ? "wss" : "ws",
            Path = $"/api/instances/{Uri.EscapeDataString(id)}/exec/ws",
            Query = query.ToString(),
        }.Uri;
    }

    public static async Task<int> RunAsync(ApiClient api, string id, ExecRequest request, Stream stdin, CancellationToken ct)
    {
        var target = Target(api.Connection.Url, id, request);
        if (target.PathAndQuery.Length > MaxRequestTarget)
        {
            throw new CliException(ExitCodes.Usage, $"The command and its options are too long to send with stdin ({target.PathAndQuery.Length} of {MaxRequestTarget} characters in the request line); put them in a script (orch cp), or use -n to send no stdin.");
        }

        using var socket = await api.ConnectSocketAsync(target, "run the command", Describe, ct);

        using var sending = new SemaphoreSlim(1, 1);
        using var exited = new CancellationTokenSource();
        // Never awaited: once the command ended, stdin may still not end (a producer that runs forever).
        _ = Task.Run(() => PumpStdinAsync(socket, stdin, sending, exited.Token, ct), CancellationToken.None);
        try
        {
            return await ReceiveAsync(socket, ct);
        }
        finally
        {
            await exited.CancelAsync();
            if (!ct.IsCancellationRequested && socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                // After the send under way (if any): a WebSocket takes one sender at a time.
                await sending.WaitAsync(ct);
                try
                {
                    await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "done", ct);
                }
                catch (WebSocketException)
                {
                    // The server is gone already; the command's status is known.
                }
            }
        }
    }

    private static async Task PumpStdinAsync(ClientWebSocket socket, Stream stdin, SemaphoreSlim sending, CancellationToken exited, CancellationToken ct)
    {
        var buffer = new byte[PieceBytes];
        try
        {
            while (true)
            {
                var read = await stdin.ReadAsync(buffer, ct);
                // The gate, not a cancelled send, stops sending: cancelling a send would abort the socket.
                await sending.WaitAsync(ct);
                try
                {
                    if (exited.IsCancellationRequested)
                    {
                        return;
                    }

                    await socket.SendAsync(read == 0 ? Eof : buffer.AsMemory(0, read), read == 0 ? WebSocketMessageType.Text : WebSocketMessageType.Binary, true, ct);
                }
                finally
                {
                    sending.Release();
                }

                if (read == 0)
                {
                    return;
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or WebSocketException or ObjectDisposedException or IOException)
        {
            // Interrupted, or the command ended and the socket with it: the receiving side says how.
        }
    }

    private static async Task<int> ReceiveAsync(ClientWebSocket socket, CancellationToken ct)
    {
        await using var stdout = System.Console.OpenStandardOutput();
        await using var stderr = System.Console.OpenStandardError();
        var buffer = new byte[PieceBytes + 1];
        using var control = new MemoryStream();
        int? status = null;
        while (true)
        {
            ValueWebSocketReceiveResult received;
            try
            {
                received = await socket.ReceiveAsync(buffer.AsMemory(), ct);
            }
            catch (WebSocketException ex) when (!ct.IsCancellationRequested)
            {
                throw new CliException(ExitCodes.Server, $"The connection to the server was lost: {ex.Message}");
            }

            if (received.MessageType == WebSocketMessageType.Close)
            {
                return status ?? throw new CliException(ExitCodes.Server, "The command's stream ended without its exit status.");
            }

            if (received.MessageType == WebSocketMessageType.Binary)
            {
                // The first byte says the stream; the rest of the message, in however many frames, is its bytes.
                var target = buffer[0] == StderrTag ? stderr : stdout;
                await target.WriteAsync(buffer.AsMemory(1, received.Count - 1), ct);
                while (!received.EndOfMessage)
                {
                    received = await socket.ReceiveAsync(buffer.AsMemory(), ct);
                    await target.WriteAsync(buffer.AsMemory(0, received.Count), ct);
                }

                await target.FlushAsync(ct);
                continue;
            }

            control.Write(buffer, 0, received.Count);
            if (!received.EndOfMessage)
            {
                continue;
            }

            var item = JsonSerializer.Deserialize(control.GetBuffer().AsSpan(0, (int)control.Length), ApiJson.Default.ExecLine)!;
            control.SetLength(0);
            if (item.Error is { } error)
            {
                throw new CliException(ExitCodes.Server, $"{error.Title}: {error.Detail}");
            }

            status = await ExecCommand.ExitStatusAsync(item, stderr, ct) ?? status;
        }
    }

    private static string Describe(int status, string message) => status switch
    {
        0 => message,
        404 => "no such instance [404]",
        409 => "the instance is not started or was destroyed [409]",
        502 => "the machine could not be reached over SSH [502]",
        503 => "the server is unavailable; retry [503]",
        _ => $"{message} [{status}]",
    };
}
