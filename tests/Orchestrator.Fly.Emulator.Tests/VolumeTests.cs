using System.Net;
using System.Text.Json.Nodes;
using Orchestrator.Fly.Emulator.Tests.Support;

namespace Orchestrator.Fly.Emulator.Tests;

/// <summary>Volumes are host directories that outlive the machine's stops and starts; snapshots copy them.</summary>
public sealed class VolumeTests
{
    private static JsonObject MountConfig(string volume, string path = "/data") =>
        new() { ["image"] = "ubuntu", ["mounts"] = new JsonArray(new JsonObject { ["volume"] = volume, ["path"] = path }) };

    private static async Task<string> CreateVolumeAsync(FlyHttp fly, string app, string region = "ord", int size = 3) =>
        (await fly.PostAsync($"/v1/apps/{app}/volumes", new JsonObject { ["name"] = "data", ["region"] = region, ["size_gb"] = size }))
            .Expect(HttpStatusCode.OK).Object.Str("id");

    [Fact]
    public async Task AMountedVolumeIsTheSameHostDirectoryAcrossStopAndStart()
    {
        await using var emulator = await TestEmulator.StartAsync();
        var app = await emulator.Fly.CreateAppAsync();
        var volume = await CreateVolumeAsync(emulator.Fly, app);
        var machine = await emulator.Fly.StartedMachineAsync(app, FlyHttp.MachineBody(config: MountConfig(volume)));
        var id = machine.Str("id");
        var directory = Path.Combine(emulator.Emulator.DataDirectory, "volumes", volume);
        await File.WriteAllTextAsync(Path.Combine(directory, "kept.txt"), "still here");

        (await emulator.Fly.PostAsync($"/v1/apps/{app}/machines/{id}/stop")).Expect(HttpStatusCode.OK);
        await emulator.Fly.WaitForAsync(app, id, "stopped", machine.Str("instance_id"));
        (await emulator.Fly.PostAsync($"/v1/apps/{app}/machines/{id}/start")).Expect(HttpStatusCode.OK);
        await emulator.Fly.WaitForAsync(app, id, "started");

        var starts = emulator.Runtime.CallsFor(id).Where(c => c.Operation == "start").Select(c => Assert.Single(c.Spec!.Mounts)).ToList();
        Assert.Equal(2, starts.Count);
        Assert.All(starts, m => Assert.Equal((directory, "/data"), (m.HostDirectory, m.GuestPath)));
        Assert.Equal("still here", await File.ReadAllTextAsync(Path.Combine(directory, "kept.txt")));
        Assert.Equal(id, (await emulator.Fly.GetAsync($"/v1/apps/{app}/volumes/{volume}")).Object.Str("attached_machine_id"));
    }

    [Fact]
    public async Task ABoundVolumeCannotBeDeletedUntilItsMachineIsDestroyed()
    {
        await using var emulator = await TestEmulator.StartAsync();
        var app = await emulator.Fly.CreateAppAsync();
        var volume = await CreateVolumeAsync(emulator.Fly, app);
        var id = (await emulator.Fly.CreateMachineAsync(app, FlyHttp.MachineBody(config: MountConfig(volume), skipLaunch: true))).Str("id");

        var refused = await emulator.Fly.DeleteAsync($"/v1/apps/{app}/volumes/{volume}");
        (await emulator.Fly.DeleteAsync($"/v1/apps/{app}/machines/{id}")).Expect(HttpStatusCode.OK);
        await emulator.Fly.WaitForAsync(app, id, "destroyed");
        var deleted = await emulator.Fly.DeleteAsync($"/v1/apps/{app}/volumes/{volume}");

        Assert.Equal($"failed_precondition: volume is currently bound to machine: {id}", refused.Expect(HttpStatusCode.PreconditionFailed).Error);
        Assert.Equal("destroyed", deleted.Expect(HttpStatusCode.OK).Object.Str("state"));
        Assert.Equal("volume not found", (await emulator.Fly.GetAsync($"/v1/apps/{app}/volumes/{volume}")).Expect(HttpStatusCode.NotFound).Error);
        Assert.False(Directory.Exists(Path.Combine(emulator.Emulator.DataDirectory, "volumes", volume)));
    }

    [Fact]
    public async Task MountRulesAreEnforced()
    {
        await using var emulator = await TestEmulator.StartAsync();
        var app = await emulator.Fly.CreateAppAsync();
        var volume = await CreateVolumeAsync(emulator.Fly, app, region: "ams");
        await emulator.Fly.CreateMachineAsync(app, FlyHttp.MachineBody("ams", MountConfig(volume), skipLaunch: true));

        var wrongRegion = await emulator.Fly.PostAsync($"/v1/apps/{app}/machines", FlyHttp.MachineBody("ord", MountConfig(volume)));
        var taken = await emulator.Fly.PostAsync($"/v1/apps/{app}/machines", FlyHttp.MachineBody("ams", MountConfig(volume)));
        var unknown = await emulator.Fly.PostAsync($"/v1/apps/{app}/machines", FlyHttp.MachineBody("ams", MountConfig("vol_0000000000000000")));

        Assert.Contains("is in the wrong region", wrongRegion.Expect(HttpStatusCode.UnprocessableEntity).Error, StringComparison.Ordinal);
        Assert.Contains("attached to machine", taken.Expect(HttpStatusCode.PreconditionFailed).Error, StringComparison.Ordinal);
        Assert.Equal("volume not found", unknown.Expect(HttpStatusCode.NotFound).Error);
    }

    [Fact]
    public async Task TheMountedVolumeCannotBeChangedByAnUpdate()
    {
        await using var emulator = await TestEmulator.StartAsync();
        var app = await emulator.Fly.CreateAppAsync();
        var volume = await CreateVolumeAsync(emulator.Fly, app);
        var other = await CreateVolumeAsync(emulator.Fly, app);
        var id = (await emulator.Fly.CreateMachineAsync(app, FlyHttp.MachineBody(config: MountConfig(volume), skipLaunch: true))).Str("id");

        var swapped = await emulator.Fly.PostAsync($"/v1/apps/{app}/machines/{id}", new JsonObject { ["config"] = MountConfig(other) });
        var movedPath = await emulator.Fly.PostAsync($"/v1/apps/{app}/machines/{id}", new JsonObject { ["config"] = MountConfig(volume, "/srv") });

        swapped.Expect(HttpStatusCode.BadRequest);
        movedPath.Expect(HttpStatusCode.OK);
    }

    [Fact]
    public async Task ExtendGrowsOnlyAndUpdateChangesRetention()
    {
        await using var emulator = await TestEmulator.StartAsync();
        var app = await emulator.Fly.CreateAppAsync();
        var volume = await CreateVolumeAsync(emulator.Fly, app, size: 3);
        var path = $"/v1/apps/{app}/volumes/{volume}";

        var extended = await emulator.Fly.SendAsync(HttpMethod.Put, $"{path}/extend", new JsonObject { ["size_gb"] = 10 });
        var shrunk = await emulator.Fly.SendAsync(HttpMethod.Put, $"{path}/extend", new JsonObject { ["size_gb"] = 5 });
        var updated = await emulator.Fly.SendAsync(HttpMethod.Put, path, new JsonObject { ["snapshot_retention"] = 10, ["auto_backup_enabled"] = false });
        var badRetention = await emulator.Fly.SendAsync(HttpMethod.Put, path, new JsonObject { ["snapshot_retention"] = 90 });

        Assert.Equal(10, extended.Expect(HttpStatusCode.OK).Object["volume"]!["size_gb"]!.GetValue<int>());
        Assert.False(extended.Object["needs_restart"]!.GetValue<bool>());
        Assert.Contains("only grow", shrunk.Expect(HttpStatusCode.BadRequest).Error, StringComparison.Ordinal);
        Assert.Equal(10, updated.Expect(HttpStatusCode.OK).Object["snapshot_retention"]!.GetValue<int>());
        Assert.False(updated.Object["auto_backup_enabled"]!.GetValue<bool>());
        badRetention.Expect(HttpStatusCode.BadRequest);
        Assert.Equal(10, (await emulator.Fly.GetAsync(path)).Object["size_gb"]!.GetValue<int>());
    }

    [Fact]
    public async Task ASnapshotRestoresIntoANewVolumeWhichIsRestoringAtFirst()
    {
        await using var emulator = await TestEmulator.StartAsync(o => o.TransitionDelay = TimeSpan.FromMilliseconds(300));
        var app = await emulator.Fly.CreateAppAsync();
        var volume = await CreateVolumeAsync(emulator.Fly, app);
        var source = Path.Combine(emulator.Emulator.DataDirectory, "volumes", volume);
        Directory.CreateDirectory(Path.Combine(source, "sub"));
        await File.WriteAllTextAsync(Path.Combine(source, "sub", "file.txt"), "snapshotted");

        var created = (await emulator.Fly.PostAsync($"/v1/apps/{app}/volumes/{volume}/snapshots")).Expect(HttpStatusCode.OK).Object;
        var snapshotId = created["Msg"]!["backup"].Str("graph_id");
        await File.WriteAllTextAsync(Path.Combine(source, "sub", "file.txt"), "changed after");
        var listed = (await emulator.Fly.GetAsync($"/v1/apps/{app}/volumes/{volume}/snapshots")).Expect(HttpStatusCode.OK).Array;
        var restored = (await emulator.Fly.PostAsync($"/v1/apps/{app}/volumes", new JsonObject { ["name"] = "restored", ["snapshot_id"] = snapshotId })).Expect(HttpStatusCode.OK).Object;

        Assert.Equal(snapshotId, Assert.Single(listed)!.Str("id"));
        Assert.Equal("restoring", restored.Str("state"));
        var copy = Path.Combine(emulator.Emulator.DataDirectory, "volumes", restored.Str("id"), "sub", "file.txt");
        Assert.Equal("snapshotted", await File.ReadAllTextAsync(copy));
        await Task.Delay(700);
        Assert.Equal("created", (await emulator.Fly.GetAsync($"/v1/apps/{app}/volumes/{restored.Str("id")}")).Object.Str("state"));
        var missing = await emulator.Fly.PostAsync($"/v1/apps/{app}/volumes", new JsonObject { ["name"] = "restored", ["snapshot_id"] = "vs_doesnotexist00000000000" });
        missing.Expect(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task ListShowsTheAppsVolumes()
    {
        await using var emulator = await TestEmulator.StartAsync();
        var app = await emulator.Fly.CreateAppAsync();
        var first = await CreateVolumeAsync(emulator.Fly, app);
        var second = await CreateVolumeAsync(emulator.Fly, app, region: "iad");

        var list = (await emulator.Fly.GetAsync($"/v1/apps/{app}/volumes")).Expect(HttpStatusCode.OK).Array;

        Assert.Equal([first, second], list.Select(v => v.Str("id")));
        Assert.All(list, v => Assert.Matches("^vol_[a-z0-9]{16}$", v.Str("id")));
        var listedApp = Assert.Single((await emulator.Fly.GetAsync("/v1/apps?org_slug=personal")).Object["apps"]!.AsArray())!;
        Assert.Equal(2, listedApp["volume_count"]!.GetValue<int>());
    }
}
