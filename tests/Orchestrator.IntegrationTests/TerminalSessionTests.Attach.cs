using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Orchestrator.Testing;

namespace Orchestrator.IntegrationTests;

/// <summary>Clients attached at once through one gateway: one shared tmux client, the same bytes, the exit for all.</summary>
public sealed partial class TerminalSessionTests
{
    [Fact]
    public async Task TwoClientsAttachedAtOnceReceiveTheSameBytesAndOnlyTheInteractiveOneTypes()
    {
        var sid = (await CreateAsync(new { cols = 80, rows = 24 })).GetProperty("id").GetString()!;
        using var typist = NewSocket();
        await typist.ConnectAsync(AttachUri(sid), CancellationToken.None);
        using var viewer = NewSocket();
        await viewer.ConnectAsync(AttachUri(sid, "mode=view"), CancellationToken.None);

        // Both are subscribed once their sockets are open: everything the program writes from here on reaches both.
        // The markers' text only appears once the shell has run the line (its echo shows the unexpanded $((...))).
        // All of it fits on the 24-row screen, so tmux draws every line rather than skipping what scrolled away.
        await SendAsync(typist, "echo begin-$((1+1)); seq 101 118; echo end-$((2+2))\r");
        var typed = await ReadBytesUntilAsync(typist, "end-4");
        var viewed = await ReadBytesUntilAsync(viewer, "end-4");

        var fromTypist = Between(typed, "begin-2", "end-4");
        var fromViewer = Between(viewed, "begin-2", "end-4");
        Assert.All(Enumerable.Range(101, 18), n => Assert.Contains(n.ToString(System.Globalization.CultureInfo.InvariantCulture), Encoding.Latin1.GetString(fromTypist), StringComparison.Ordinal));
        Assert.Equal(fromTypist, fromViewer);

        // One tmux client carries both.
        Assert.Equal(1, JsonSerializer.Deserialize<JsonElement>(await Http.GetStringAsync(SessionPath(sid))).GetProperty("attached").GetInt32());

        await SendAsync(viewer, "echo viewer-typed\r");
        var refusal = await ReadUntilTextAsync(viewer);
        Assert.Equal("error", refusal.GetProperty("type").GetString());
        Assert.Contains("view-only", refusal.GetProperty("detail").GetString(), StringComparison.Ordinal);
        await SendAsync(typist, "echo typist-$((3+4))\r");
        await ReadUntilAsync(viewer, "typist-7");
        Assert.DoesNotContain("viewer-typed", await ScreenAsync(sid), StringComparison.Ordinal);

        await typist.CloseAsync(WebSocketCloseStatus.NormalClosure, "detach", CancellationToken.None);
        await viewer.CloseAsync(WebSocketCloseStatus.NormalClosure, "detach", CancellationToken.None);
        using var deleted = await Http.DeleteAsync(SessionPath(sid));
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
    }

    [Fact]
    public async Task AProgramThatExitsSendsEveryAttachedClientItsExitCodeAndClosesThem()
    {
        var sid = (await CreateAsync(new { })).GetProperty("id").GetString()!;
        using var typist = NewSocket();
        await typist.ConnectAsync(AttachUri(sid), CancellationToken.None);
        using var viewer = NewSocket();
        await viewer.ConnectAsync(AttachUri(sid, "mode=view"), CancellationToken.None);

        await SendAsync(typist, "exit 7\r");

        foreach (var socket in new[] { typist, viewer })
        {
            var exit = await ReadUntilTextShowingAsync(socket);
            Assert.Equal("exit", exit.GetProperty("type").GetString());
            Assert.Equal(7, exit.GetProperty("exit_code").GetInt32());
            Assert.Equal(WebSocketCloseStatus.NormalClosure, await ReadUntilClosedAsync(socket));
        }

        var session = JsonSerializer.Deserialize<JsonElement>(await Http.GetStringAsync(SessionPath(sid)));
        Assert.Equal("exited", session.GetProperty("status").GetString());
        Assert.Equal(7, session.GetProperty("exit_code").GetInt32());

        // Attaching to the exited session ends at once the same way.
        using var late = NewSocket();
        await late.ConnectAsync(AttachUri(sid), CancellationToken.None);
        Assert.Equal(7, (await ReadUntilTextAsync(late)).GetProperty("exit_code").GetInt32());
        Assert.Equal(WebSocketCloseStatus.NormalClosure, await ReadUntilClosedAsync(late));
        using var deleted = await Http.DeleteAsync(SessionPath(sid));
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
    }

    [Fact]
    public async Task TheLastClientLeavingClosesTheSharedClientAndTheSessionRunsOn()
    {
        var sid = (await CreateAsync(new { command = Counter })).GetProperty("id").GetString()!;
        using (var first = NewSocket())
        using (var second = NewSocket())
        {
            await first.ConnectAsync(AttachUri(sid), CancellationToken.None);
            await second.ConnectAsync(AttachUri(sid, "mode=view"), CancellationToken.None);
            await ReadUntilAsync(second, "tick ");
            Assert.Equal(1, await AttachedAsync(sid));

            // One leaving keeps the shared client for the other.
            await first.CloseAsync(WebSocketCloseStatus.NormalClosure, "detach", CancellationToken.None);
            var seen = LastTick(await ScreenAsync(sid));
            await ReadUntilAsync(second, new Regex($@"tick {seen + 2}(?!\d)"));
            Assert.Equal(1, await AttachedAsync(sid));
            await second.CloseAsync(WebSocketCloseStatus.NormalClosure, "detach", CancellationToken.None);
        }

        await Wait.UntilAsync(async () => await AttachedAsync(sid) == 0, "tmux to have no client of the session once the last socket closed");
        var detachedAt = LastTick(await ScreenAsync(sid));
        await Wait.UntilAsync(async () => LastTick(await ScreenAsync(sid)) >= detachedAt + 3, "the counter to go on with nobody attached");
        var session = JsonSerializer.Deserialize<JsonElement>(await Http.GetStringAsync(SessionPath(sid)));
        Assert.Equal("running", session.GetProperty("status").GetString());

        var now = LastTick(await ScreenAsync(sid));
        using var again = NewSocket();
        await again.ConnectAsync(AttachUri(sid), CancellationToken.None);
        await ReadUntilAsync(again, new Regex($@"tick {now}(?!\d)"));
        await again.CloseAsync(WebSocketCloseStatus.NormalClosure, "detach", CancellationToken.None);
        using var deleted = await Http.DeleteAsync(SessionPath(sid));
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
    }

    /// <summary>The raw bytes received until <paramref name="marker"/> shows (compared byte for byte, as Latin-1).</summary>
    private static async Task<byte[]> ReadBytesUntilAsync(ClientWebSocket socket, string marker)
    {
        using var seen = new MemoryStream();
        var buffer = new byte[16 * 1024];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        while (!Encoding.Latin1.GetString(seen.GetBuffer(), 0, (int)seen.Length).Contains(marker, StringComparison.Ordinal))
        {
            var received = await socket.ReceiveAsync(buffer, timeout.Token);
            Assert.True(received.MessageType == WebSocketMessageType.Binary, $"expected terminal output, got {received.MessageType}");
            seen.Write(buffer, 0, received.Count);
        }

        return seen.ToArray();
    }

    /// <summary>The bytes from the first <paramref name="start"/> to the first <paramref name="end"/> after it.</summary>
    private static byte[] Between(byte[] bytes, string start, string end)
    {
        var text = Encoding.Latin1.GetString(bytes);
        var from = text.IndexOf(start, StringComparison.Ordinal);
        Assert.True(from >= 0, $"'{start}' not in the output");
        var to = text.IndexOf(end, from, StringComparison.Ordinal);
        Assert.True(to > from, $"'{end}' not after '{start}' in the output");
        return bytes[from..to];
    }

    private static async Task<JsonElement> ReadUntilTextShowingAsync(ClientWebSocket socket)
    {
        var buffer = new byte[16 * 1024];
        var seen = new StringBuilder();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        while (true)
        {
            WebSocketReceiveResult received;
            try
            {
                received = await socket.ReceiveAsync(buffer, timeout.Token);
            }
            catch (OperationCanceledException)
            {
                Assert.Fail("no text message; saw: " + seen.ToString().Replace("\u001b", "ESC", StringComparison.Ordinal));
                throw;
            }

            Assert.NotEqual(WebSocketMessageType.Close, received.MessageType);
            if (received.MessageType == WebSocketMessageType.Text)
            {
                return JsonSerializer.Deserialize<JsonElement>(buffer.AsSpan(0, received.Count));
            }

            seen.Append(Encoding.UTF8.GetString(buffer, 0, received.Count));
        }
    }

    private static async Task<WebSocketCloseStatus?> ReadUntilClosedAsync(ClientWebSocket socket)
    {
        var buffer = new byte[16 * 1024];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        while ((await socket.ReceiveAsync(buffer, timeout.Token)).MessageType != WebSocketMessageType.Close)
        {
        }

        return socket.CloseStatus;
    }

    private async Task<int> AttachedAsync(string sid) =>
        JsonSerializer.Deserialize<JsonElement>(await Http.GetStringAsync(SessionPath(sid))).GetProperty("attached").GetInt32();
}
