using System.Net;
using System.Text.Json.Nodes;
using Orchestrator.Fly.Emulator.Tests.Support;

namespace Orchestrator.Fly.Emulator.Tests;

/// <summary>
/// Resizing a machine (an update with a new guest), growing its volume, and which starts rebuild the root
/// filesystem (<c>rootfs.persist</c>), as the sandbox spec shows them.
/// </summary>
public sealed class ResizeAndRootfsTests
{
    [Fact]
    public async Task AnUpdateWithANewGuestReplacesTheMachineAndTheNewSizeReachesIt()
    {
        await using var emulator = await TestEmulator.StartAsync();
        var app = await emulator.Fly.CreateAppAsync();
        var before = await emulator.Fly.StartedMachineAsync(app, FlyHttp.MachineBody(config: Config(cpus: 1, memoryMb: 256)));
        var id = before.Str("id");

        var stale = await emulator.Fly.PostAsync($"/v1/apps/{app}/machines/{id}", new JsonObject { ["config"] = Config(2, 1024), ["current_version"] = "01H0000000000000000000000X" });
        var updated = (await emulator.Fly.PostAsync($"/v1/apps/{app}/machines/{id}", new JsonObject { ["config"] = Config(2, 1024), ["current_version"] = before.Str("instance_id") }))
            .Expect(HttpStatusCode.OK).Object;
        await emulator.Fly.WaitForAsync(app, id, "started", updated.Str("instance_id"));
        var after = await emulator.Fly.GetMachineAsync(app, id);

        stale.Expect(HttpStatusCode.PreconditionFailed);
        Assert.Equal((2, 1024), (updated["config"]!["guest"]!["cpus"]!.GetValue<int>(), updated["config"]!["guest"]!["memory_mb"]!.GetValue<int>()));
        Assert.Equal((2, 1024), (after["config"]!["guest"]!["cpus"]!.GetValue<int>(), after["config"]!["guest"]!["memory_mb"]!.GetValue<int>()));
        Assert.NotEqual(before.Str("instance_id"), after.Str("instance_id"));
        Assert.Equal(["start", "stop", "start"], emulator.Runtime.OperationsFor(id));
        var starts = emulator.Runtime.CallsFor(id).Where(c => c.Operation == "start").Select(c => c.Spec!.Environment["FLY_VM_MEMORY_MB"]).ToList();
        Assert.Equal(["256", "1024"], starts);
        Assert.Equal(["start", "update", "start", "launch"], after["events"]!.AsArray().Select(e => e.Str("type")));
    }

    [Fact]
    public async Task ASizeOutsideTheCpuKindsRangeIsRefusedAndTheMachineKeepsItsSize()
    {
        await using var emulator = await TestEmulator.StartAsync();
        var app = await emulator.Fly.CreateAppAsync();
        var id = (await emulator.Fly.StartedMachineAsync(app, FlyHttp.MachineBody(config: Config(1, 256)))).Str("id");

        // shared: 256 to 2048 MB per CPU.
        var refused = await emulator.Fly.PostAsync($"/v1/apps/{app}/machines/{id}", new JsonObject { ["config"] = Config(1, 4096) });

        Assert.Contains("maximum allowed 2048", refused.Expect(HttpStatusCode.UnprocessableEntity).Error, StringComparison.Ordinal);
        Assert.Equal(256, (await emulator.Fly.GetMachineAsync(app, id))["config"]!["guest"]!["memory_mb"]!.GetValue<int>());
        Assert.Equal(["start"], emulator.Runtime.OperationsFor(id));
    }

    [Fact]
    public async Task ExtendGrowsAnAttachedVolumeAndRefusesTheSameSize()
    {
        await using var emulator = await TestEmulator.StartAsync();
        var app = await emulator.Fly.CreateAppAsync();
        var volume = (await emulator.Fly.PostAsync($"/v1/apps/{app}/volumes", new JsonObject { ["name"] = "data", ["size_gb"] = 3 })).Expect(HttpStatusCode.OK).Object.Str("id");
        var config = new JsonObject { ["image"] = "ubuntu", ["mounts"] = new JsonArray(new JsonObject { ["volume"] = volume, ["path"] = "/data" }) };
        var id = (await emulator.Fly.StartedMachineAsync(app, FlyHttp.MachineBody(config: config))).Str("id");
        var path = $"/v1/apps/{app}/volumes/{volume}";

        var same = await emulator.Fly.SendAsync(HttpMethod.Put, $"{path}/extend", new JsonObject { ["size_gb"] = 3 });
        var missing = await emulator.Fly.SendAsync(HttpMethod.Put, $"{path}/extend", new JsonObject());
        var grown = await emulator.Fly.SendAsync(HttpMethod.Put, $"{path}/extend", new JsonObject { ["size_gb"] = 20 });
        var unknown = await emulator.Fly.SendAsync(HttpMethod.Put, $"/v1/apps/{app}/volumes/vol_0000000000000000/extend", new JsonObject { ["size_gb"] = 20 });

        same.Expect(HttpStatusCode.BadRequest);
        missing.Expect(HttpStatusCode.BadRequest);
        Assert.Equal(["volume", "needs_restart"], grown.Expect(HttpStatusCode.OK).Object.Select(p => p.Key));
        Assert.Equal((20, id), (grown.Object["volume"]!["size_gb"]!.GetValue<int>(), grown.Object["volume"]!.Str("attached_machine_id")));
        Assert.Equal("volume not found", unknown.Expect(HttpStatusCode.NotFound).Error);
        Assert.Equal("started", await emulator.Fly.StateAsync(app, id));
    }

    [Theory]
    [InlineData(null, false, false, false, false)]
    [InlineData("never", false, false, false, false)]
    [InlineData("restart", false, true, true, false)]
    [InlineData("always", true, true, true, true)]
    public async Task RootfsPersistDecidesWhichStartsKeepTheRoot(string? persist, bool first, bool afterStop, bool afterRestart, bool afterUpdate)
    {
        await using var emulator = await TestEmulator.StartAsync();
        var app = await emulator.Fly.CreateAppAsync();
        var config = new JsonObject { ["image"] = "ubuntu" };
        if (persist is not null)
        {
            config["rootfs"] = new JsonObject { ["persist"] = persist };
        }

        var machine = await emulator.Fly.StartedMachineAsync(app, FlyHttp.MachineBody(config: config));
        var id = machine.Str("id");
        (await emulator.Fly.PostAsync($"/v1/apps/{app}/machines/{id}/stop")).Expect(HttpStatusCode.OK);
        await emulator.Fly.WaitForAsync(app, id, "stopped", machine.Str("instance_id"));
        (await emulator.Fly.PostAsync($"/v1/apps/{app}/machines/{id}/start")).Expect(HttpStatusCode.OK);
        await emulator.Fly.WaitForAsync(app, id, "started");
        (await emulator.Fly.PostAsync($"/v1/apps/{app}/machines/{id}/restart")).Expect(HttpStatusCode.OK);
        await emulator.Fly.ObserveStatesAsync(app, id, "started");
        var updated = (await emulator.Fly.PostAsync($"/v1/apps/{app}/machines/{id}", new JsonObject { ["config"] = config.DeepClone() })).Expect(HttpStatusCode.OK).Object;
        await emulator.Fly.WaitForAsync(app, id, "started", updated.Str("instance_id"));

        var keeps = emulator.Runtime.CallsFor(id).Where(c => c.Operation == "start").Select(c => c.Spec!.KeepRoot).ToList();
        Assert.Equal([first, afterStop, afterRestart, afterUpdate], keeps);
    }

    [Fact]
    public async Task AnUnknownRootfsPersistIsRefused()
    {
        await using var emulator = await TestEmulator.StartAsync();
        var app = await emulator.Fly.CreateAppAsync();

        var refused = await emulator.Fly.PostAsync($"/v1/apps/{app}/machines", FlyHttp.MachineBody(config: new JsonObject
        {
            ["image"] = "ubuntu",
            ["rootfs"] = new JsonObject { ["persist"] = "sometimes" },
        }));

        Assert.Contains("rootfs.persist", refused.Expect(HttpStatusCode.BadRequest).Error, StringComparison.Ordinal);
    }

    private static JsonObject Config(int cpus, int memoryMb) =>
        new() { ["image"] = "ubuntu:24.04", ["guest"] = new JsonObject { ["cpu_kind"] = "shared", ["cpus"] = cpus, ["memory_mb"] = memoryMb } };
}
