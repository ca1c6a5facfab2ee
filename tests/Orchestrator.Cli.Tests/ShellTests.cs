using System.Diagnostics;

namespace Orchestrator.Cli.Tests;

/// <summary>
/// <c>orch ssh</c> in a real pseudo-terminal: tmux runs it in a detached window on a socket of its own, types into it
/// (send-keys) and reads the screen (capture-pane). Each wait is for a named condition, bounded.
/// </summary>
[Collection(CliCluster.Name)]
public sealed class ShellTests(CliFixture fixture)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task TypesIntoARemoteShellResizesAndExitsWithItsStatus()
    {
        var socket = "orch-test-" + Guid.NewGuid().ToString("N")[..8];
        var status = Path.Combine(Path.GetTempPath(), socket + ".status");
        var command = $"env ORCH_URL={fixture.BaseAddress} ORCH_KEY={fixture.TenantKey} XDG_CONFIG_HOME={fixture.ConfigHome} dotnet {CliFixture.OrchDll} ssh {CliFixture.Box}; echo $? > {status}; stty -a > {status}.stty";
        try
        {
            await TmuxAsync(socket, "new-session", "-d", "-x", "100", "-y", "30", command);
            await WaitForScreenAsync(socket, static screen => screen.Contains('#') || screen.Contains('$'), "the remote prompt");

            await TmuxAsync(socket, "send-keys", "-l", "echo $((6*7))");
            await TmuxAsync(socket, "send-keys", "Enter");
            await WaitForScreenAsync(socket, static screen => screen.Split('\n').Any(static line => line.Trim() == "42"), "42 on a line of its own");

            await TmuxAsync(socket, "resize-window", "-x", "120", "-y", "40");
            await TmuxAsync(socket, "send-keys", "-l", "stty size");
            await TmuxAsync(socket, "send-keys", "Enter");
            await WaitForScreenAsync(socket, static screen => screen.Contains("40 120", StringComparison.Ordinal), "the remote terminal at 40 rows x 120 columns");

            await TmuxAsync(socket, "send-keys", "-l", "exit 7");
            await TmuxAsync(socket, "send-keys", "Enter");
            var deadline = DateTime.UtcNow + Bound;
            while (!File.Exists(status + ".stty") && DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }

            Assert.True(File.Exists(status + ".stty"), "orch ssh did not exit within the bound after 'exit 7'");
            Assert.Equal("7", File.ReadAllText(status).Trim());
            // The local terminal was restored: echo and canonical mode are back on.
            var stty = File.ReadAllText(status + ".stty");
            Assert.Contains(" icanon", stty, StringComparison.Ordinal);
            Assert.Contains(" echo ", stty, StringComparison.Ordinal);
        }
        finally
        {
            await TmuxAsync(socket, "kill-server");
            File.Delete(status);
            File.Delete(status + ".stty");
        }
    }

    private static async Task WaitForScreenAsync(string socket, Func<string, bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Bound;
        var screen = "";
        while (DateTime.UtcNow < deadline)
        {
            screen = await TmuxAsync(socket, "capture-pane", "-p");
            if (condition(screen))
            {
                return;
            }

            await Task.Delay(100);
        }

        Assert.Fail($"waited {Bound.TotalSeconds} s for {what}; the screen was:\n{screen}");
    }

    private static async Task<string> TmuxAsync(string socket, params string[] args)
    {
        var start = new ProcessStartInfo("tmux") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add("-L");
        start.ArgumentList.Add(socket);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        return output;
    }
}
