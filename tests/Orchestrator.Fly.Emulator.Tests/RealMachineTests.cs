using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Orchestrator.Fly.Emulator.Tests.Support;
using Orchestrator.Testing;

namespace Orchestrator.Fly.Emulator.Tests;

/// <summary>
/// What the real sandboxes make of the machine lifecycle, as on Fly: the root filesystem is rebuilt at every
/// start (volumes stay), the host key is the injected one or new at every start, a killed sshd is an exit the
/// restart policy handles, and a start that cannot come up says why.
/// </summary>
public sealed class RealMachineTests : IAsyncLifetime
{
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromMinutes(2));
    private FlyEmulator _emulator = null!;
    private HttpClient _http = null!;
    private FlyHttp _fly = null!;

    private CancellationToken Timeout => _timeout.Token;

    public async Task InitializeAsync()
    {
        _emulator = await FlyEmulator.StartAsync(new FlyEmulatorOptions { TransitionDelay = TimeSpan.FromMilliseconds(50), RateLimitScale = 1000 });
        _http = TestEmulator.Client(_emulator, "Bearer " + _emulator.ApiToken);
        _fly = new FlyHttp(_http);
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _emulator.DisposeAsync();
        _timeout.Dispose();
    }

    [Fact]
    public async Task TheRootIsRebuiltAtEveryStartWhileTheVolumeKeepsItsData()
    {
        var app = await _fly.CreateAppAsync();
        var volume = (await _fly.PostAsync($"/v1/apps/{app}/volumes", new JsonObject { ["name"] = "data" })).Expect(HttpStatusCode.OK).Object.Str("id");
        var config = new JsonObject
        {
            ["image"] = "ubuntu:24.04",
            ["mounts"] = new JsonArray(new JsonObject { ["volume"] = volume, ["path"] = "/data" }),
            ["files"] = new JsonArray(File("/etc/motd", "hi\n")),
        };
        var machine = await StartedAsync(app, config);
        var id = machine.Str("id");
        var sandbox = await SandboxAsync(id);
        var root = sandbox.Str("root_directory");
        // What the machine writes: to its root (gone at the next start) and to its volume (kept).
        await System.IO.File.WriteAllTextAsync(Path.Combine(root, "root", "note"), "ephemeral", Timeout);
        await System.IO.File.WriteAllTextAsync(Path.Combine(sandbox.Str("volume_directory"), "kept"), "durable", Timeout);

        await StopAndStartAsync(app, machine);
        var afterStart = System.IO.File.Exists(Path.Combine(root, "root", "note"));
        await System.IO.File.WriteAllTextAsync(Path.Combine(root, "root", "note"), "ephemeral", Timeout);
        (await _fly.PostAsync($"/v1/apps/{app}/machines/{id}/restart")).Expect(HttpStatusCode.OK);
        await _fly.ObserveStatesAsync(app, id, "started", TimeSpan.FromSeconds(60));

        Assert.False(afterStart, "a file on the root survived stop and start");
        Assert.False(System.IO.File.Exists(Path.Combine(root, "root", "note")), "a file on the root survived a restart");
        Assert.Equal("hi\n", await System.IO.File.ReadAllTextAsync(Path.Combine(root, "etc", "motd"), Timeout));
        Assert.Equal("durable", await System.IO.File.ReadAllTextAsync(Path.Combine(sandbox.Str("volume_directory"), "kept"), Timeout));
    }

    [Fact]
    public async Task RootfsPersistRestartKeepsTheRootAcrossStopAndStart()
    {
        var app = await _fly.CreateAppAsync();
        var machine = await StartedAsync(app, new JsonObject { ["image"] = "ubuntu:24.04", ["rootfs"] = new JsonObject { ["persist"] = "restart" } });
        var root = (await SandboxAsync(machine.Str("id"))).Str("root_directory");
        await System.IO.File.WriteAllTextAsync(Path.Combine(root, "root", "note"), "kept", Timeout);

        await StopAndStartAsync(app, machine);

        Assert.Equal("kept", await System.IO.File.ReadAllTextAsync(Path.Combine(root, "root", "note"), Timeout));
    }

    [Fact]
    public async Task AnInjectedHostKeyIsPresentedAcrossStopStartAndRestart()
    {
        var key = await SshServer.GenerateKeyPairAsync("injected-host-key", Timeout);
        var app = await _fly.CreateAppAsync();
        var config = new JsonObject
        {
            ["image"] = "ubuntu:24.04",
            // As the orchestrator sends it: no mode, no .pub.
            ["files"] = new JsonArray(File("/etc/ssh/ssh_host_ed25519_key", key.PrivateKeyPem)),
        };
        var machine = await StartedAsync(app, config);
        var id = machine.Str("id");
        var expected = HostKeyScan.KeyOf(key.PublicKeyLine);

        var first = await ScanAsync(machine);
        var reported = HostKeyScan.KeyOf((await SandboxAsync(id)).Str("host_public_key"));
        await StopAndStartAsync(app, machine);
        var afterStart = await ScanAsync(machine);
        (await _fly.PostAsync($"/v1/apps/{app}/machines/{id}/restart")).Expect(HttpStatusCode.OK);
        await _fly.ObserveStatesAsync(app, id, "started", TimeSpan.FromSeconds(60));
        var afterRestart = await ScanAsync(machine);

        Assert.Equal(new[] { expected, expected, expected, expected }, new[] { first, reported, afterStart, afterRestart });
    }

    [Fact]
    public async Task WithoutAnInjectedHostKeyEveryStartHasANewOne()
    {
        var app = await _fly.CreateAppAsync();
        var machine = await StartedAsync(app, new JsonObject { ["image"] = "ubuntu:24.04" });
        var id = machine.Str("id");

        var before = await ScanAsync(machine);
        var reportedBefore = HostKeyScan.KeyOf((await SandboxAsync(id)).Str("host_public_key"));
        await StopAndStartAsync(app, machine);
        var after = await ScanAsync(machine);
        var reportedAfter = HostKeyScan.KeyOf((await SandboxAsync(id)).Str("host_public_key"));

        Assert.Equal(before, reportedBefore);
        Assert.Equal(after, reportedAfter);
        Assert.NotEqual(before, after);
    }

    [Fact]
    public async Task AKilledSshdIsAnExitAndTheRestartPolicyDecides()
    {
        var app = await _fly.CreateAppAsync();
        var stays = await StartedAsync(app, new JsonObject { ["image"] = "ubuntu:24.04", ["restart"] = new JsonObject { ["policy"] = "no" } });
        var comesBack = await StartedAsync(app, new JsonObject { ["image"] = "ubuntu:24.04", ["restart"] = new JsonObject { ["policy"] = "always" } });
        var cleanExit = await StartedAsync(app, new JsonObject { ["image"] = "ubuntu:24.04" });

        await _emulator.KillMachineProcessAsync(stays.Str("id"), signal: 9, Timeout);
        await _emulator.KillMachineProcessAsync(comesBack.Str("id"), signal: 9, Timeout);
        // Over the admin API; SIGTERM makes sshd exit 0, which on-failure (the default) lets stop.
        (await _fly.PostAsync($"/_emulator/machines/{cleanExit.Str("id")}/kill", new JsonObject { ["signal"] = "SIGTERM" })).Expect(HttpStatusCode.OK);

        await _fly.WaitForAsync(app, stays.Str("id"), "stopped", stays.Str("instance_id"), timeoutSeconds: 30);
        await _fly.WaitForAsync(app, cleanExit.Str("id"), "stopped", cleanExit.Str("instance_id"), timeoutSeconds: 30);
        await _fly.WaitForAsync(app, comesBack.Str("id"), "started", timeoutSeconds: 30);
        var killed = ExitEvent(await _fly.GetMachineAsync(app, stays.Str("id")));
        var restarted = ExitEvent(await _fly.GetMachineAsync(app, comesBack.Str("id")));
        var clean = ExitEvent(await _fly.GetMachineAsync(app, cleanExit.Str("id")));

        Assert.Equal((137, 9, false, false), killed);
        Assert.Equal((137, 9, false, true), restarted);
        Assert.Equal((0, -1, false, false), clean);
        Assert.StartsWith("SSH-2.0-", await BannerAsync(comesBack), StringComparison.Ordinal);
        Assert.False((await SandboxAsync(stays.Str("id")))["running"]!.GetValue<bool>());
    }

    [Fact]
    public async Task AStartThatCannotComeUpFailsWithTheReasonAsTheNewestEvent()
    {
        var missing = "/nonexistent-" + Guid.NewGuid().ToString("N")[..8] + "/sshd";
        await using var broken = await FlyEmulator.StartAsync(new FlyEmulatorOptions { TransitionDelay = TimeSpan.FromMilliseconds(50), RateLimitScale = 1000, SshdPath = missing });
        using var http = TestEmulator.Client(broken, "Bearer " + broken.ApiToken);
        var fly = new FlyHttp(http);
        var app = await fly.CreateAppAsync();
        var id = (await fly.CreateMachineAsync(app)).Str("id");

        await fly.WaitForAsync(app, id, "failed", timeoutSeconds: 30);

        var machine = await fly.GetMachineAsync(app, id);
        var listed = (await fly.GetAsync($"/v1/apps/{app}/machines/{id}/events")).Expect(HttpStatusCode.OK).Array;
        Assert.Equal("failed", machine.Str("state"));
        foreach (var newest in new[] { machine["events"]![0]!, listed[0]! })
        {
            Assert.Equal(("exit", "failed"), (newest.Str("type"), newest.Str("status")));
            var error = newest["request"]!.Str("error");
            Assert.Contains($"sshd (not found at {missing}", error, StringComparison.Ordinal);
            Assert.Contains("apt-get install -y openssh-server", error, StringComparison.Ordinal);
            Assert.NotEqual(0, newest["request"]!["exit_event"]!["exit_code"]!.GetValue<int>());
        }

        Assert.Equal(["exit", "launch"], listed.Select(e => e.Str("type")));
    }

    private static (int ExitCode, int Signal, bool RequestedStop, bool Restarting) ExitEvent(JsonObject machine)
    {
        var exit = machine["events"]!.AsArray().First(e => e.Str("type") == "exit")!["request"]!["exit_event"]!;
        return (exit["exit_code"]!.GetValue<int>(), exit["signal"]!.GetValue<int>(), exit["requested_stop"]!.GetValue<bool>(), exit["restarting"]!.GetValue<bool>());
    }

    private async Task<JsonObject> StartedAsync(string app, JsonObject config)
    {
        var machine = await _fly.CreateMachineAsync(app, FlyHttp.MachineBody(config: config));
        await _fly.WaitForAsync(app, machine.Str("id"), "started", timeoutSeconds: 30);
        return await _fly.GetMachineAsync(app, machine.Str("id"));
    }

    private async Task StopAndStartAsync(string app, JsonObject machine)
    {
        var id = machine.Str("id");
        (await _fly.PostAsync($"/v1/apps/{app}/machines/{id}/stop")).Expect(HttpStatusCode.OK);
        await _fly.WaitForAsync(app, id, "stopped", machine.Str("instance_id"), timeoutSeconds: 30);
        (await _fly.PostAsync($"/v1/apps/{app}/machines/{id}/start")).Expect(HttpStatusCode.OK);
        await _fly.WaitForAsync(app, id, "started", timeoutSeconds: 30);
    }

    private async Task<JsonObject> SandboxAsync(string id) => (await _fly.GetAsync($"/_emulator/machines/{id}")).Expect(HttpStatusCode.OK).Object;

    private Task<string> ScanAsync(JsonObject machine) => HostKeyScan.Ed25519Async(machine.Str("private_ip"), 2222, Timeout);

    private async Task<string> BannerAsync(JsonObject machine)
    {
        using var client = new System.Net.Sockets.TcpClient();
        await client.ConnectAsync(IPAddress.Parse(machine.Str("private_ip")), 2222, Timeout);
        using var reader = new StreamReader(client.GetStream(), Encoding.ASCII);
        return await reader.ReadLineAsync(Timeout) ?? "";
    }

    private static JsonObject File(string guestPath, string content) =>
        new() { ["guest_path"] = guestPath, ["raw_value"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(content)) };
}
