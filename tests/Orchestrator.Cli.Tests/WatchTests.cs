using System.Diagnostics;
using System.Text.Json;

namespace Orchestrator.Cli.Tests;

/// <summary><c>--watch</c> on a list: printed again (one JSON document per line) each time what it shows changes, until Ctrl-C.</summary>
[Collection(CliCluster.Name)]
public sealed class WatchTests(CliFixture fixture)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task RunsListWatchPrintsTheListAgainAsARunChangesAndCtrlCEndsIt()
    {
        var directory = Directory.CreateTempSubdirectory("orch-watch").FullName;
        try
        {
            var workflow = "cli-watched-" + Guid.NewGuid().ToString("N")[..8];
            var file = Path.Combine(directory, "wait.yaml");
            File.WriteAllText(file, $"name: {workflow}\nsteps:\n  - id: approval\n    uses: wait_for_signal\n    with:\n      name: go\n");
            Assert.Equal(0, (await fixture.RunAsync(["workflows", "register", file])).ExitCode);

            using var watch = Start(["runs", "list", "--watch", "--workflow", workflow, "-o", "json"]);
            var stderr = watch.StandardError.ReadToEndAsync();
            Assert.Empty((await NextListAsync(watch)).GetProperty("items").EnumerateArray());

            var started = await fixture.RunAsync(["runs", "start", workflow, "-o", "json"]);
            Assert.True(started.ExitCode == 0, started.ToString());
            var id = started.Json.GetProperty("id").GetString()!;
            Assert.Equal("waiting", await StatusOnceListedAsync(watch, id, "waiting"));

            Assert.Equal(0, (await fixture.RunAsync(["runs", "signal", id, "go"])).ExitCode);
            Assert.Equal("succeeded", await StatusOnceListedAsync(watch, id, "succeeded"));

            using (var interrupt = Process.Start("kill", ["-INT", watch.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await interrupt.WaitForExitAsync();
            }

            using var bound = new CancellationTokenSource(Bound);
            await watch.WaitForExitAsync(bound.Token);
            Assert.True(watch.ExitCode == 130, $"exit {watch.ExitCode}: {await stderr}");
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>Reads printed lists until one shows run <paramref name="id"/> as <paramref name="status"/>; a list is printed only when it changed.</summary>
    private static async Task<string> StatusOnceListedAsync(Process watch, string id, string status)
    {
        using var bound = new CancellationTokenSource(Bound);
        string? previous = null;
        while (true)
        {
            var list = await NextListAsync(watch, bound.Token);
            var shown = string.Join(',', list.GetProperty("items").EnumerateArray().Select(r => $"{r.GetProperty("id").GetString()}={r.GetProperty("status").GetString()}"));
            Assert.NotEqual(previous, shown);
            previous = shown;
            if (shown == $"{id}={status}")
            {
                return status;
            }
        }
    }

    private static async Task<JsonElement> NextListAsync(Process watch, CancellationToken cancellationToken = default)
    {
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bound.CancelAfter(Bound);
        var line = await watch.StandardOutput.ReadLineAsync(bound.Token);
        Assert.False(line is null, "orch ended while watching");
        return JsonDocument.Parse(line!).RootElement.Clone();
    }

    private Process Start(IEnumerable<string> args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(CliFixture.OrchDll);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["ORCH_URL"] = fixture.BaseAddress.ToString();
        start.Environment["ORCH_KEY"] = fixture.TenantKey;
        start.Environment["XDG_CONFIG_HOME"] = fixture.ConfigHome;
        return Process.Start(start)!;
    }
}
