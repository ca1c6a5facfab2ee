using System.Net.WebSockets;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Orchestrator.Gateway.Instances;

namespace Orchestrator.IntegrationTests;

/// <summary>
/// A client of <c>GET /api/instances/{id}/exec/ws</c>: sends stdin from a generator while it reads the output, and keeps
/// only a hash and a count of stdout (and stderr as text), so a test never holds the streamed bytes.
/// </summary>
internal sealed class ExecSocketClient : IDisposable
{
    private readonly ClientWebSocket _socket = new();

    private ExecSocketClient()
    {
    }

    public static async Task<ExecSocketClient> ConnectAsync(Uri baseAddress, string key, string instance, string query, CancellationToken cancellationToken)
    {
        var client = new ExecSocketClient();
        client._socket.Options.SetRequestHeader("Authorization", $"Bearer {key}");
        client._socket.Options.CollectHttpResponseDetails = true;
        await client._socket.ConnectAsync(new Uri($"ws://{baseAddress.Authority}/api/instances/{instance}/exec/ws?{query}"), cancellationToken);
        return client;
    }

    /// <summary>For a test that sends stdin itself.</summary>
    public ClientWebSocket Socket => _socket;

    public void Dispose() => _socket.Dispose();

    /// <summary>
    /// Sends <paramref name="size"/> seeded random bytes in 64 KiB frames, then EOF, while reading the output; stops
    /// sending (without EOF) once the exit arrived. Returns the hash of what was sent (null when sending stopped early)
    /// with what came back, and closes the socket.
    /// </summary>
    public async Task<(string? SentSha256, ExecSocketResult Result)> RunAsync(long size, int seed, CancellationToken cancellationToken)
    {
        // Not a cancellation: cancelling a send would abort the socket before the close handshake.
        var exited = new StrongBox<bool>();
        var sending = SendAsync(size, seed, exited, cancellationToken);
        var result = await ReceiveAsync(cancellationToken);
        Volatile.Write(ref exited.Value, true);
        var sent = await sending;
        await CloseAsync(cancellationToken);
        return (sent, result);
    }

    public Task CloseAsync(CancellationToken cancellationToken) =>
        _socket.State == WebSocketState.CloseReceived ? _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "done", cancellationToken) : Task.CompletedTask;

    /// <summary>The hash of what was sent, or null when the exit came first and sending stopped.</summary>
    private async Task<string?> SendAsync(long size, int seed, StrongBox<bool> exited, CancellationToken cancellationToken)
    {
        await Task.Yield();
        var random = new Random(seed);
        var buffer = new byte[64 * 1024];
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        for (long sent = 0; sent < size;)
        {
            if (Volatile.Read(ref exited.Value))
            {
                return null;
            }

            var count = (int)Math.Min(buffer.Length, size - sent);
            random.NextBytes(buffer.AsSpan(0, count));
            hash.AppendData(buffer, 0, count);
            await _socket.SendAsync(buffer.AsMemory(0, count), WebSocketMessageType.Binary, true, cancellationToken);
            sent += count;
        }

        await SendEofAsync(cancellationToken);
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>Reads output until the exit message and the server's close.</summary>
    public async Task<ExecSocketResult> ReceiveAsync(CancellationToken cancellationToken)
    {
        using var stdout = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var stdoutText = new MemoryStream();
        var stderr = new StringBuilder();
        long stdoutBytes = 0;
        JsonElement? exit = null;
        JsonElement? error = null;
        var buffer = new byte[64 * 1024];
        using var control = new MemoryStream();
        while (true)
        {
            var received = await _socket.ReceiveAsync(buffer, cancellationToken);
            if (received.MessageType == WebSocketMessageType.Close)
            {
                break;
            }

            if (received.MessageType == WebSocketMessageType.Text)
            {
                control.Write(buffer, 0, received.Count);
                if (received.EndOfMessage)
                {
                    var message = JsonSerializer.Deserialize<JsonElement>(control.ToArray());
                    control.SetLength(0);
                    var type = message.GetProperty("type").GetString();
                    if (type == "exit")
                    {
                        exit = message;
                    }
                    else
                    {
                        error = message;
                    }
                }

                continue;
            }

            // A binary message: the tag first, then the bytes, in as many frames as the socket made of it.
            var tag = buffer[0];
            Assert.True(tag is ExecEndpoints.StdoutTag or ExecEndpoints.StderrTag, $"unknown output tag {tag}");
            var data = buffer.AsMemory(1, received.Count - 1);
            while (true)
            {
                if (tag == ExecEndpoints.StdoutTag)
                {
                    stdout.AppendData(data.Span);
                    stdoutBytes += data.Length;
                    if (stdoutText.Length < 4096)
                    {
                        stdoutText.Write(data.Span);
                    }
                }
                else
                {
                    stderr.Append(Encoding.UTF8.GetString(data.Span));
                }

                if (received.EndOfMessage)
                {
                    break;
                }

                received = await _socket.ReceiveAsync(buffer, cancellationToken);
                data = buffer.AsMemory(0, received.Count);
            }
        }

        return new ExecSocketResult(Convert.ToHexStringLower(stdout.GetHashAndReset()), stdoutBytes, Encoding.UTF8.GetString(stdoutText.ToArray()), stderr.ToString(), exit, error);
    }

    public Task SendEofAsync(CancellationToken cancellationToken) =>
        _socket.SendAsync("""{"type":"eof"}"""u8.ToArray(), WebSocketMessageType.Text, true, cancellationToken);
}

/// <summary>What came back: stdout's SHA-256 and size (and its first 4 KiB as text), stderr, and the exit or error message.</summary>
internal sealed record ExecSocketResult(string StdoutSha256, long StdoutBytes, string StdoutHead, string Stderr, JsonElement? Exit, JsonElement? Error);
