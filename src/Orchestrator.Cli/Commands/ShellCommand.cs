using System.CommandLine;
using System.Globalization;
using System.Net.WebSockets;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Orchestrator.Cli.Console;

namespace Orchestrator.Cli.Commands;

/// <summary>
/// <c>orch ssh ID</c>: an interactive terminal over <c>GET /api/instances/{id}/shell</c> (a WebSocket). The local
/// terminal is put in raw mode (termios, in this process) and restored on every way out (the finally block, which also runs after
/// Ctrl-C, an exception or the server closing); the window size is sent at start and on every SIGWINCH. Exits with
/// the shell's status. With <c>--session NAME</c> it attaches to a persistent session instead (made when there is none
/// of that name): closing detaches and leaves the session running, so the exit status is the session's exit code only
/// when its program exited, and 0 otherwise.
/// </summary>
internal static class ShellCommand
{
    public static Command Build(CliApp app)
    {
        var command = Args.Command("ssh", "Open an interactive shell on an instance; exits with the shell's status. With --session, attach to a persistent session (created when absent); closing detaches and leaves it running.",
            "orch ssh box", "orch ssh box --session work", "orch ssh box --session work --view");
        var id = new Argument<string>("ID");
        var session = new Option<string?>("--session", "-s") { Description = "Attach to the persistent session with this name (or id), creating it when absent." };
        var view = new Option<bool>("--view") { Description = "With --session: attach read-only (keystrokes are dropped)." };
        command.Add(id);
        command.Add(session);
        command.Add(view);
        app.SetApiAction(command, async (c, ct) =>
        {
            var (cols, rows) = WindowSize();
            var instanceId = c.Parse.GetValue(id)!;
            var sessionName = c.Parse.GetValue(session);
            if (sessionName is null && c.Parse.GetValue(view))
            {
                throw new CliException(ExitCodes.Usage, "--view needs --session NAME.");
            }

            var target = sessionName is null
                ? ShellTarget.Shell(c.Api.Connection.Url, instanceId, cols, rows)
                : ShellTarget.Session(c.Api.Connection.Url, instanceId, (await SessionCommands.FindOrCreateAsync(c, instanceId, sessionName, ct)).Id, c.Parse.GetValue(view), cols, rows);
            using var socket = await c.Api.ConnectSocketAsync(target, "open a shell", static (status, message) => status == 0 ? message : $"{message} [{status}]", ct);

            using var resize = OperatingSystem.IsWindows() ? null : PosixSignalRegistration.Create(PosixSignal.SIGWINCH, _ => SendResizeAsync(socket).GetAwaiter().GetResult());
            var saved = RawTerminal.Enter();
            try
            {
                // A shell's end without a status is a failure; a session's is a detach, which leaves it running.
                return await RelayAsync(socket, sessionName is null ? 255 : 0, ct);
            }
            finally
            {
                RawTerminal.Restore(saved);
            }
        });
        return command;
    }

    private static async Task<int> RelayAsync(ClientWebSocket socket, int withoutStatus, CancellationToken ct)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var input = Task.Run(async () =>
        {
            await using var stdin = RawTerminal.OpenInput();
            var buffer = new byte[4096];
            int read;
            while ((read = await stdin.ReadAsync(buffer, stop.Token)) > 0)
            {
                await socket.SendAsync(buffer.AsMemory(0, read), WebSocketMessageType.Binary, true, stop.Token);
            }
        }, stop.Token);

        await using var stdout = System.Console.OpenStandardOutput();
        var frame = new byte[64 * 1024];
        int? exitCode = null;
        try
        {
            while (socket.State == WebSocketState.Open)
            {
                using var message = new MemoryStream();
                ValueWebSocketReceiveResult result;
                do
                {
                    result = await socket.ReceiveAsync(frame.AsMemory(), ct);
                    message.Write(frame, 0, result.Count);
                }
                while (!result.EndOfMessage);

                if (result.MessageType == WebSocketMessageType.Close)
                {
                    break;
                }

                if (result.MessageType == WebSocketMessageType.Binary)
                {
                    await stdout.WriteAsync(message.GetBuffer().AsMemory(0, (int)message.Length), ct);
                    await stdout.FlushAsync(ct);
                    continue;
                }

                using var control = JsonDocument.Parse(message.ToArray());
                var type = control.RootElement.TryGetProperty("type", out var t) ? t.GetString() : null;
                if (type == "exit")
                {
                    exitCode = control.RootElement.TryGetProperty("exit_code", out var code) && code.ValueKind == JsonValueKind.Number ? code.GetInt32() : withoutStatus;
                }
                else if (type == "error")
                {
                    System.Console.Error.Write($"\r\norch: {(control.RootElement.TryGetProperty("detail", out var d) ? d.GetString() : "shell error")}\r\n");
                }
            }
        }
        finally
        {
            await stop.CancelAsync();
        }

        return exitCode ?? withoutStatus;
    }

    private static async Task SendResizeAsync(ClientWebSocket socket)
    {
        var (cols, rows) = WindowSize();
        var text = string.Create(CultureInfo.InvariantCulture, $"{{\"type\":\"resize\",\"cols\":{cols},\"rows\":{rows}}}");
        try
        {
            await socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, CancellationToken.None);
        }
        catch (Exception ex) when (ex is WebSocketException or ObjectDisposedException or InvalidOperationException)
        {
            // The shell is closing; the size no longer matters.
        }
    }

    private static (int Cols, int Rows) WindowSize()
    {
        try
        {
            return System.Console.IsOutputRedirected ? (80, 24) : (Math.Clamp(System.Console.WindowWidth, 1, 1000), Math.Clamp(System.Console.WindowHeight, 1, 1000));
        }
        catch (IOException)
        {
            return (80, 24);
        }
    }
}

/// <summary>Where a shell attaches: a new login shell, or a persistent session (same protocol, so the relay is shared).</summary>
internal static class ShellTarget
{
    public static Uri Shell(Uri api, string id, int cols, int rows) =>
        Socket(api, $"/api/instances/{Uri.EscapeDataString(id)}/shell", string.Create(CultureInfo.InvariantCulture, $"cols={cols}&rows={rows}"));

    public static Uri Session(Uri api, string id, string sessionId, bool viewOnly, int cols, int rows) =>
        Socket(api, $"/api/instances/{Uri.EscapeDataString(id)}/sessions/{Uri.EscapeDataString(sessionId)}/attach",
            string.Create(CultureInfo.InvariantCulture, $"cols={cols}&rows={rows}") + (viewOnly ? "&mode=view" : ""));

    private static Uri Socket(Uri api, string path, string query) =>
        new UriBuilder(api)
        {
            Scheme = api.Scheme == Uri.UriSchemeHttps ? "wss" : "ws",
            Path = path,
            Query = query,
        }.Uri;
}
