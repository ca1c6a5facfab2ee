using System.Diagnostics;
using System.Text;
using Orchestrator.Testing;

namespace Orchestrator.Cli.Tests;

/// <summary><c>orch sessions</c> and <c>orch ssh --session</c> against persistent sessions on the fixture's instance.</summary>
[Collection(CliCluster.Name)]
public sealed class SessionTests(CliFixture fixture)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task SessionsAreCreatedTypedIntoReadListedAndDeleted()
    {
        var created = await fixture.RunAsync(["sessions", "create", CliFixture.Box, "--name", "calc", "-o", "json"]);
        Assert.True(created.ExitCode == 0, created.ToString());
        var id = created.Json.GetProperty("id").GetString()!;
        Assert.Equal("calc", created.Json.GetProperty("name").GetString());

        // Named by its name here, by its id below.
        var sent = await fixture.RunAsync(["sessions", "send", CliFixture.Box, "calc", "--text", "echo $((6*7))", "--key", "Enter"]);
        Assert.True(sent.ExitCode == 0, sent.ToString());
        var screen = "";
        await Wait.UntilAsync(
            async () =>
            {
                var read = await fixture.RunAsync(["sessions", "screen", CliFixture.Box, id]);
                Assert.True(read.ExitCode == 0, read.ToString());
                screen = read.Text;
                return screen.Split('\n').Any(static line => line.Trim() == "42");
            },
            "42 on a line of its own on the session's screen",
            Bound);

        var list = await fixture.RunAsync(["sessions", "list", CliFixture.Box, "-o", "json"]);
        Assert.True(list.ExitCode == 0, list.ToString());
        var listed = Assert.Single(list.Json.GetProperty("items").EnumerateArray(), s => s.GetProperty("id").GetString() == id);
        Assert.Equal("calc", listed.GetProperty("name").GetString());
        Assert.Equal("running", listed.GetProperty("status").GetString());
        Assert.Equal(System.Text.Json.JsonValueKind.Number, listed.GetProperty("attached").ValueKind);
        Assert.Equal(System.Text.Json.JsonValueKind.String, listed.GetProperty("created_at").ValueKind);

        var nothing = await fixture.RunAsync(["sessions", "send", CliFixture.Box, id]);
        Assert.Equal(2, nothing.ExitCode);

        var deleted = await fixture.RunAsync(["sessions", "delete", CliFixture.Box, id]);
        Assert.True(deleted.ExitCode == 0, deleted.ToString());
        var gone = await fixture.RunAsync(["sessions", "get", CliFixture.Box, id]);
        Assert.Equal(3, gone.ExitCode);
        var after = await fixture.RunAsync(["sessions", "list", CliFixture.Box, "-o", "json"]);
        Assert.DoesNotContain(after.Json.GetProperty("items").EnumerateArray(), s => s.GetProperty("id").GetString() == id);
    }

    [Fact]
    public async Task SshAttachesToANamedSessionAndLosingTheTerminalLeavesItRunning()
    {
        // A pseudo-terminal from script(1) rather than tmux: no terminal emulator answers the session's tmux when it asks
        // what the terminal is (a tmux around it answers with a reply that the inner tmux waits out, eating keys typed
        // meanwhile), so what is typed is what arrives.
        var orch = $"stty cols 100 rows 30; exec env ORCH_URL={fixture.BaseAddress} ORCH_KEY={fixture.TenantKey} XDG_CONFIG_HOME={fixture.ConfigHome} dotnet {CliFixture.OrchDll} ssh {CliFixture.Box} --session work";
        var start = new ProcessStartInfo("script") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { "-q", "-f", "-e", "-c", orch, "/dev/null" })
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var output = new StringBuilder();
        var reading = Task.Run(async () =>
        {
            var buffer = new char[4096];
            int read;
            while ((read = await process.StandardOutput.ReadAsync(buffer)) > 0)
            {
                lock (output)
                {
                    output.Append(buffer, 0, read);
                }
            }
        });
        string Seen()
        {
            lock (output)
            {
                return output.ToString();
            }
        }

        try
        {
            await Wait.UntilAsync(() => Task.FromResult(Seen().Contains('#') || Seen().Contains('$')), "the session's prompt", Bound);

            // Raw mode: keys reach the session as they are typed, before any Enter (a cooked terminal would hold the line).
            await process.StandardInput.WriteAsync("echo via-");
            await process.StandardInput.FlushAsync();
            await Wait.UntilAsync(
                async () => (await fixture.RunAsync(["sessions", "screen", CliFixture.Box, "work"])).Text.Contains("echo via-", StringComparison.Ordinal),
                "the keys typed so far on the session's screen, with no Enter pressed",
                Bound);
            await process.StandardInput.WriteAsync("$((6*7))\r");
            await process.StandardInput.FlushAsync();
            await Wait.UntilAsync(() => Task.FromResult(Seen().Contains("via-42", StringComparison.Ordinal)), "via-42 in what orch wrote to its terminal", Bound);

            // Detach the hard way: the terminal goes away (orch and its WebSocket with it); the session stays.
            process.Kill(entireProcessTree: true);
            using (var bound = new CancellationTokenSource(Bound))
            {
                await process.WaitForExitAsync(bound.Token);
            }

            var list = await fixture.RunAsync(["sessions", "list", CliFixture.Box, "-o", "json"]);
            var work = Assert.Single(list.Json.GetProperty("items").EnumerateArray(), s => s.GetProperty("name").GetString() == "work");
            Assert.Equal("running", work.GetProperty("status").GetString());

            // Named again, it is the same session: its screen still shows the earlier output.
            var screen = await fixture.RunAsync(["sessions", "screen", CliFixture.Box, "work"]);
            Assert.Contains("via-42", screen.Text, StringComparison.Ordinal);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }

            await reading;
            await fixture.RunAsync(["sessions", "delete", CliFixture.Box, "work"]);
        }
    }
}
