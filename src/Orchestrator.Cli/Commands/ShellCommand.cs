using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Net.WebSockets;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace Orchestrator.Cli.Commands;

/// <summary>
/// <c>orch ssh ID</c>: an interactive terminal over <c>GET /api/instances/{id}/shell</c> (a WebSocket). The local
/// terminal is put in raw mode with stty and restored on every way out (the finally block, which also runs after
/// Ctrl-C, an exception or the server closing); the window size is sent at start and on every SIGWINCH. Exits with
/// the shell's status. Persistent sessions (<c>--session NAME</c>) attach through <see cref="ShellTarget"/> once the
/// server has that API.
/// </summary>
internal static class ShellCommand
{
    public static Command Build(CliApp app)
    {
        var command = Args.Command("ssh", "Open an interactive shell on an instance; exits with the shell's status.", "orch ssh box");
        var id = new Argument<string>("ID");
        command.Add(id);
        app.SetApiAction(command, async (c, ct) =>
        {
            var (cols, rows) = WindowSize();
            var target = ShellTarget.Shell(c.Api.Connection.Url, c.Parse.GetValue(id)!, cols, rows);
            using var socket = new ClientWebSocket();
            socket.Options.SetRequestHeader("Authorization", "Bearer " + c.Api.Connection.Key);
            socket.Options.AddSubProtocol("orchestrator");
            socket.Options.CollectHttpResponseDetails = true;
            try
            {
                await socket.ConnectAsync(target, ct);
            }
            catch (WebSocketException ex)
            {
                var status = (int)socket.HttpStatusCode;
                throw new CliException(status == 0 ? ExitCodes.Server : ExitCodes.ForStatus(status), $"Cannot open a shell: {ex.Message}{(status == 0 ? "" : $" [{status}]")}");
            }

            var saved = System.Console.IsInputRedirected ? null : Stty("-g")?.Trim();
            using var resize = OperatingSystem.IsWindows() ? null : PosixSignalRegistration.Create(PosixSignal.SIGWINCH, _ => SendResizeAsync(socket).GetAwaiter().GetResult());
            try
            {
                if (saved is not null)
                {
                    Stty("raw -echo");
                }

                return await RelayAsync(socket, ct);
            }
            finally
            {
                if (saved is not null)
                {
                    Stty(saved);
                }
            }
        });
        return command;
    }

    private static async Task<int> RelayAsync(ClientWebSocket socket, CancellationToken ct)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var input = Task.Run(async () =>
        {
            await using var stdin = System.Console.OpenStandardInput();
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
                    exitCode = control.RootElement.TryGetProperty("exit_code", out var code) && code.ValueKind == JsonValueKind.Number ? code.GetInt32() : 255;
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

        return exitCode ?? 255;
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

    /// <summary>Runs stty on our terminal; returns its output (the saved settings for -g).</summary>
    private static string? Stty(string arguments)
    {
        try
        {
            var start = new ProcessStartInfo("stty", arguments) { RedirectStandardOutput = true, UseShellExecute = false };
            using var process = Process.Start(start)!;
            var output = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            return process.ExitCode == 0 ? output : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }
}

/// <summary>
/// Where a shell attaches. Persistent sessions (<c>orch ssh ID --session NAME</c>) belong here as a second factory
/// once the server offers their endpoint; the relay above does not change.
/// </summary>
internal static class ShellTarget
{
    public static Uri Shell(Uri api, string id, int cols, int rows) =>
        new UriBuilder(api)
        {
            Scheme = api.Scheme == Uri.UriSchemeHttps ? "wss" : "ws",
            Path = $"/api/instances/{Uri.EscapeDataString(id)}/shell",
            Query = string.Create(CultureInfo.InvariantCulture, $"cols={cols}&rows={rows}"),
        }.Uri;
}
