using System.Text;
using Orchestrator.Testing;

namespace Orchestrator.Cli.Tests;

/// <summary>Commands that change state: an instance's whole life, runs that wait for signals, secrets, other tenants.</summary>
[Collection(CliCluster.Name)]
public sealed class LifecycleTests(CliFixture fixture)
{
    [Fact]
    public async Task AnInstanceIsCreatedStoppedStartedResizedAndDestroyed()
    {
        const string Name = "cli-life";
        var created = await fixture.RunAsync(["instances", "create", Name, "--region", "ams", "--size", "shared-cpu-1x", "--volume", "1:/data", "--env", "MODE=test", "-o", "json"]);
        Assert.True(created.ExitCode == 0, created.ToString());
        Assert.Equal("started", created.Json.GetProperty("state").GetString());
        Assert.Equal("/data", created.Json.GetProperty("volume_path").GetString());

        var env = await fixture.RunAsync(["exec", "-n", Name, "--", "printf %s \"$MODE\""]);
        Assert.Equal("test", env.Text);

        var stopped = await fixture.RunAsync(["instances", "stop", Name, "-o", "json"]);
        Assert.True(stopped.ExitCode == 0, stopped.ToString());
        Assert.Equal("stopped", stopped.Json.GetProperty("state").GetString());
        var stoppedExec = await fixture.RunAsync(["exec", "-n", Name, "--", "true"]);
        Assert.Equal(5, stoppedExec.ExitCode);

        Assert.Equal("started", (await fixture.RunAsync(["instances", "start", Name, "-o", "json"])).Json.GetProperty("state").GetString());
        Assert.Equal("started", (await fixture.RunAsync(["instances", "restart", Name, "-o", "json"])).Json.GetProperty("state").GetString());
        var resized = await fixture.RunAsync(["instances", "resize", Name, "--size", "shared-cpu-2x", "-o", "json"]);
        Assert.True(resized.ExitCode == 0, resized.ToString());
        Assert.Equal("shared-cpu-2x", resized.Json.GetProperty("size").GetProperty("preset").GetString());
        var extended = await fixture.RunAsync(["instances", "extend-volume", Name, "--size-gb", "2", "-o", "json"]);
        Assert.Equal(2, extended.Json.GetProperty("volume_size_gb").GetInt32());

        var listed = await fixture.RunAsync(["instances", "list", "--state", "started", "-o", "json"]);
        Assert.Contains(listed.Json.GetProperty("items").EnumerateArray(), i => i.GetProperty("id").GetString() == Name);

        var destroyed = await fixture.RunAsync(["instances", "destroy", Name, "--yes", "--keep-volume", "-o", "json"]);
        Assert.True(destroyed.ExitCode == 0, destroyed.ToString());
        Assert.Equal(5, (await fixture.RunAsync(["instances", "start", Name])).ExitCode);
    }

    [Fact]
    public async Task RunsWaitForSignalsAndCanBeCancelled()
    {
        var directory = Directory.CreateTempSubdirectory("orch-signal").FullName;
        try
        {
            var file = Path.Combine(directory, "wait.yaml");
            File.WriteAllText(file, "name: cli-wait\nsteps:\n  - id: approval\n    uses: wait_for_signal\n    with:\n      name: go\n");
            Assert.Equal(0, (await fixture.RunAsync(["workflows", "register", file])).ExitCode);

            var started = await fixture.RunAsync(["runs", "start", "cli-wait", "--idempotency-key", Guid.NewGuid().ToString("N"), "-o", "json"]);
            Assert.True(started.ExitCode == 0, started.ToString());
            var id = started.Json.GetProperty("id").GetString()!;
            var signalled = await fixture.RunAsync(["runs", "signal", id, "go", "--payload", "{\"by\":\"cli\"}"]);
            Assert.True(signalled.ExitCode == 0, signalled.ToString());
            Assert.Equal(0, (await fixture.RunAsync(["runs", "watch", id])).ExitCode);
            Assert.Equal(2, (await fixture.RunAsync(["runs", "signal", id, "go", "--payload", "not json"])).ExitCode);

            var other = await fixture.RunAsync(["runs", "start", "cli-wait", "-o", "json"]);
            var otherId = other.Json.GetProperty("id").GetString()!;
            Assert.Equal(0, (await fixture.RunAsync(["runs", "cancel", otherId])).ExitCode);
            var cancelled = await fixture.RunAsync(["runs", "watch", otherId, "-o", "json"]);
            Assert.Equal(1, cancelled.ExitCode);
            Assert.Contains("\"status\":\"cancelled\"", cancelled.Text, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task SecretsAreSetFromStdinListedAndDeleted()
    {
        var set = await fixture.RunAsync(["secrets", "set", "CLI_TOKEN"], stdin: Encoding.UTF8.GetBytes("s3cret"));
        Assert.True(set.ExitCode == 0, set.ToString());
        var list = await fixture.RunAsync(["secrets", "list", "-o", "json"]);
        Assert.Contains(list.Json.GetProperty("items").EnumerateArray(), s => s.GetProperty("name").GetString() == "CLI_TOKEN");
        Assert.DoesNotContain("s3cret", list.Text, StringComparison.Ordinal);
        Assert.Equal(0, (await fixture.RunAsync(["secrets", "delete", "CLI_TOKEN"])).ExitCode);
        Assert.Equal(3, (await fixture.RunAsync(["secrets", "delete", "CLI_TOKEN"])).ExitCode);
    }

    [Fact]
    public async Task AnotherTenantCannotReachTheInstanceOrItsFiles()
    {
        var other = await ApiKeys.CreateTenantKeyAsync(fixture.BaseAddress, "cli-other");
        var directory = Directory.CreateTempSubdirectory("orch-iso").FullName;
        try
        {
            var mine = Path.Combine(directory, "mine.txt");
            File.WriteAllText(mine, "private");
            Assert.Equal(0, (await fixture.RunAsync(["cp", mine, $"{CliFixture.Box}:/tmp/iso/mine.txt"])).ExitCode);
            Assert.Equal(3, (await fixture.RunAsync(["cp", $"{CliFixture.Box}:/tmp/iso/mine.txt", Path.Combine(directory, "theirs.txt")], key: other)).ExitCode);
            Assert.Equal(3, (await fixture.RunAsync(["cp", mine, $"{CliFixture.Box}:/tmp/iso/planted.txt"], key: other)).ExitCode);
            Assert.Equal(3, (await fixture.RunAsync(["exec", "-n", CliFixture.Box, "--", "true"], key: other)).ExitCode);
            Assert.False(File.Exists(Path.Combine(directory, "theirs.txt")));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
