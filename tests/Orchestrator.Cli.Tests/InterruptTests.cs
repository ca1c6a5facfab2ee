using System.Diagnostics;

namespace Orchestrator.Cli.Tests;

/// <summary>Ctrl-C (SIGINT) on <c>orch exec</c> ends the remote command too, and orch exits 130.</summary>
[Collection(CliCluster.Name)]
public sealed class InterruptTests(CliFixture fixture)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task InterruptingExecKillsTheRemoteCommand(bool streamingStdin)
    {
        // A sleep whose argument no other process has, to find it with pgrep.
        var marker = $"sleep 299.{Random.Shared.Next(100_000, 999_999)}";
        var start = new ProcessStartInfo("dotnet") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        // Streaming: orch's stdin is a pipe that stays open, sent over the exec WebSocket; otherwise -n, the plain stream.
        string[] args = streamingStdin
            ? [CliFixture.OrchDll, "exec", CliFixture.Box, "--", $"echo started; {marker}"]
            : [CliFixture.OrchDll, "exec", "-n", CliFixture.Box, "--", $"echo started; {marker}"];
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["ORCH_URL"] = fixture.BaseAddress.ToString();
        start.Environment["ORCH_KEY"] = fixture.TenantKey;
        start.Environment["XDG_CONFIG_HOME"] = fixture.ConfigHome;
        using var orch = Process.Start(start)!;
        var stderr = orch.StandardError.ReadToEndAsync();
        using (var bound = new CancellationTokenSource(Bound))
        {
            Assert.Equal("started", await orch.StandardOutput.ReadLineAsync(bound.Token));
        }

        Assert.True(await RemoteCountAsync(marker) > 0, "the remote sleep is not running before the interrupt");
        using (var kill = Process.Start("kill", ["-INT", orch.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        using (var bound = new CancellationTokenSource(Bound))
        {
            await orch.WaitForExitAsync(bound.Token);
        }

        Assert.True(orch.ExitCode == 130, $"exit {orch.ExitCode}: {await stderr}");
        var deadline = DateTime.UtcNow + Bound;
        int running;
        while ((running = await RemoteCountAsync(marker)) > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200);
        }

        Assert.True(running == 0, $"the remote command still runs {Bound.TotalSeconds} s after the interrupt");
    }

    private async Task<int> RemoteCountAsync(string marker)
    {
        // [x] keeps pgrep from matching its own command line.
        var result = await fixture.RunAsync(["exec", "-n", CliFixture.Box, "--", $"pgrep -c -f '[{marker[0]}]{marker[1..]}' || true"]);
        return int.Parse(result.Text.Trim(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
