using System.Net;
using System.Text.Json.Nodes;
using Orchestrator.Fly.Emulator.Tests.Support;

namespace Orchestrator.Fly.Emulator.Tests;

/// <summary>Leases (reference §5): one holder, its nonce guards every write, metadata and reads are not guarded, expiry.</summary>
public sealed class LeaseTests
{
    private static async Task<(TestEmulator Emulator, string App, string Id, string Nonce)> LeasedAsync(TimeProvider? time = null)
    {
        var emulator = await TestEmulator.StartAsync(time: time);
        var app = await emulator.Fly.CreateAppAsync();
        var id = (await emulator.Fly.StartedMachineAsync(app)).Str("id");
        var lease = (await emulator.Fly.PostAsync($"/v1/apps/{app}/machines/{id}/lease", new JsonObject { ["ttl"] = 60, ["description"] = "deploy" }))
            .Expect(HttpStatusCode.Created).Object;
        return (emulator, app, id, lease["data"].Str("nonce"));
    }

    [Fact]
    public async Task WritesWithoutTheNonceAreRefusedWithItTheyPass()
    {
        var (emulator, app, id, nonce) = await LeasedAsync();
        await using var _ = emulator;
        var machines = $"/v1/apps/{app}/machines/{id}";

        var stop = await emulator.Fly.PostAsync($"{machines}/stop");
        var wrong = await emulator.Fly.PostAsync($"{machines}/stop", nonce: "000000000000");
        var update = await emulator.Fly.PostAsync(machines, FlyHttp.MachineBody());
        var destroy = await emulator.Fly.DeleteAsync($"{machines}?force=true");

        foreach (var refused in new[] { stop, wrong, update, destroy })
        {
            Assert.Matches("^aborted: machine ID [0-9a-f]{14} lease currently held by ", refused.Expect(HttpStatusCode.Conflict).Error);
        }

        Assert.Equal("started", await emulator.Fly.StateAsync(app, id));
        (await emulator.Fly.PostAsync($"{machines}/stop", nonce: nonce)).Expect(HttpStatusCode.OK);
        await emulator.Fly.ObserveStatesAsync(app, id, "stopped");
        (await emulator.Fly.PostAsync($"{machines}/start", nonce: nonce)).Expect(HttpStatusCode.OK);
    }

    [Fact]
    public async Task ReadsAndMetadataAreNotGuarded()
    {
        var (emulator, app, id, _) = await LeasedAsync();
        await using var __ = emulator;
        var machines = $"/v1/apps/{app}/machines/{id}";

        (await emulator.Fly.GetAsync(machines)).Expect(HttpStatusCode.OK);
        (await emulator.Fly.PostAsync($"{machines}/metadata/owner", new JsonObject { ["value"] = "me" })).Expect(HttpStatusCode.NoContent);
        Assert.Equal("me", (await emulator.Fly.GetAsync($"{machines}/metadata/owner")).Expect(HttpStatusCode.OK).Object.Str("value"));
    }

    [Fact]
    public async Task ASecondHolderGetsTheLeaseConflictAndTheHolderRefreshes()
    {
        var (emulator, app, id, nonce) = await LeasedAsync();
        await using var _ = emulator;
        var lease = $"/v1/apps/{app}/machines/{id}/lease";

        var conflict = await emulator.Fly.PostAsync(lease, new JsonObject { ["ttl"] = 30 });
        var refreshed = await emulator.Fly.PostAsync(lease, new JsonObject { ["ttl"] = 120 }, nonce);
        var shown = await emulator.Fly.GetAsync(lease);

        Assert.Equal(["status", "message", "code"], conflict.Expect(HttpStatusCode.Conflict).Object.Select(p => p.Key));
        Assert.Equal("error", conflict.Object.Str("status"));
        Assert.Equal(nonce, refreshed.Expect(HttpStatusCode.Created).Object["data"].Str("nonce"));
        Assert.Equal(refreshed.Object["data"]!["expires_at"]!.GetValue<long>(), shown.Expect(HttpStatusCode.OK).Object["data"]!["expires_at"]!.GetValue<long>());
        Assert.InRange(
            refreshed.Object["data"]!["expires_at"]!.GetValue<long>() - DateTimeOffset.UtcNow.ToUnixTimeSeconds(), 110, 121);
    }

    [Fact]
    public async Task ReleaseNeedsTheNonceAndThenTheLeaseIsGone()
    {
        var (emulator, app, id, nonce) = await LeasedAsync();
        await using var _ = emulator;
        var lease = $"/v1/apps/{app}/machines/{id}/lease";

        (await emulator.Fly.DeleteAsync(lease, "ffffffffffff")).Expect(HttpStatusCode.Conflict);
        var released = await emulator.Fly.DeleteAsync(lease, nonce);

        Assert.Equal(Fixtures.Object("lease-release.response.json").ToJsonString(), released.Expect(HttpStatusCode.OK).Object.ToJsonString());
        Assert.Equal("lease not found", (await emulator.Fly.GetAsync(lease)).Expect(HttpStatusCode.NotFound).Object.Str("message"));
        (await emulator.Fly.PostAsync($"/v1/apps/{app}/machines/{id}/stop")).Expect(HttpStatusCode.OK);
    }

    [Fact]
    public async Task AnExpiredLeaseNoLongerGuards()
    {
        var time = new ShiftableTimeProvider();
        var (emulator, app, id, _) = await LeasedAsync(time);
        await using var __ = emulator;

        (await emulator.Fly.PostAsync($"/v1/apps/{app}/machines/{id}/stop")).Expect(HttpStatusCode.Conflict);
        time.Advance(TimeSpan.FromSeconds(61));

        (await emulator.Fly.PostAsync($"/v1/apps/{app}/machines/{id}/stop")).Expect(HttpStatusCode.OK);
        (await emulator.Fly.GetAsync($"/v1/apps/{app}/machines/{id}/lease")).Expect(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task CreateWithLeaseTtlReturnsTheNonceAndLeasesTheMachine()
    {
        await using var emulator = await TestEmulator.StartAsync();
        var app = await emulator.Fly.CreateAppAsync();
        var body = FlyHttp.MachineBody(skipLaunch: true);
        body["lease_ttl"] = 30;

        var machine = await emulator.Fly.CreateMachineAsync(app, body);
        var withLease = (await emulator.Fly.GetAsync($"/v1/apps/{app}/machines/{machine.Str("id")}?include_leases=true")).Expect(HttpStatusCode.OK).Object;

        Assert.Matches("^[0-9a-f]{12}$", machine.Str("nonce"));
        Assert.Equal(machine.Str("nonce"), (await emulator.Fly.GetAsync($"/v1/apps/{app}/machines/{machine.Str("id")}/lease")).Object["data"].Str("nonce"));
        Assert.NotNull(withLease["lease"]);
        Assert.False(withLease["lease"]!.AsObject().ContainsKey("nonce"));
        (await emulator.Fly.PostAsync($"/v1/apps/{app}/machines/{machine.Str("id")}/start")).Expect(HttpStatusCode.Conflict);
    }
}
