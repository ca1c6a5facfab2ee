using System.Net;
using System.Text.Json.Nodes;
using Orchestrator.Fly.Emulator.Tests.Support;

namespace Orchestrator.Fly.Emulator.Tests;

/// <summary>Fly's published limits (reference §10) by default: per action and machine, 1 req/s burst 3; Get Machine 5 req/s burst 10.</summary>
public sealed class RateLimitTests
{
    [Fact]
    public async Task TheDefaultsAreFlysNumbers()
    {
        var time = new ShiftableTimeProvider(freezeTimestamps: true);
        await using var emulator = await TestEmulator.StartAsync(o => o.RateLimitScale = 1, time: time);
        Assert.Equal(1, new FlyEmulatorOptions().RateLimitScale);
        var app = await emulator.Fly.CreateAppAsync();
        var first = (await emulator.Fly.CreateMachineAsync(app, FlyHttp.MachineBody(skipLaunch: true))).Str("id");
        var second = (await emulator.Fly.CreateMachineAsync(app, FlyHttp.MachineBody(skipLaunch: true))).Str("id");

        // Get Machine: a burst of 10, then 429.
        var gets = new List<FlyResponse>();
        for (var i = 0; i < 11; i++)
        {
            gets.Add(await emulator.Fly.GetAsync($"/v1/apps/{app}/machines/{first}"));
        }

        // Any other action: a burst of 3, then 429; each machine has its own bucket.
        var metadata = new List<FlyResponse>();
        for (var i = 0; i < 4; i++)
        {
            metadata.Add(await emulator.Fly.GetAsync($"/v1/apps/{app}/machines/{first}/metadata"));
        }

        var otherMachine = await emulator.Fly.GetAsync($"/v1/apps/{app}/machines/{second}/metadata");

        Assert.All(gets.Take(10), r => r.Expect(HttpStatusCode.OK));
        var limited = gets[10].Expect(HttpStatusCode.TooManyRequests);
        Assert.Equal("1", limited.Headers.GetValues("Retry-After").Single());
        Assert.Equal(["error"], limited.Object.Select(p => p.Key));
        Assert.All(metadata.Take(3), r => r.Expect(HttpStatusCode.OK));
        metadata[3].Expect(HttpStatusCode.TooManyRequests);
        otherMachine.Expect(HttpStatusCode.OK);

        // 1 req/s: a second later there is one token again, and only one.
        time.Advance(TimeSpan.FromSeconds(1));
        (await emulator.Fly.GetAsync($"/v1/apps/{app}/machines/{first}/metadata")).Expect(HttpStatusCode.OK);
        (await emulator.Fly.GetAsync($"/v1/apps/{app}/machines/{first}/metadata")).Expect(HttpStatusCode.TooManyRequests);
    }

    [Fact]
    public async Task CreatesAreLimitedPerApp()
    {
        await using var emulator = await TestEmulator.StartAsync(o => o.RateLimitScale = 1, time: new ShiftableTimeProvider(freezeTimestamps: true));
        var app = await emulator.Fly.CreateAppAsync();
        var other = await emulator.Fly.CreateAppAsync();

        var creates = new List<FlyResponse>();
        for (var i = 0; i < 4; i++)
        {
            creates.Add(await emulator.Fly.PostAsync($"/v1/apps/{app}/machines", FlyHttp.MachineBody(skipLaunch: true)));
        }

        Assert.All(creates.Take(3), r => r.Expect(HttpStatusCode.OK));
        creates[3].Expect(HttpStatusCode.TooManyRequests);
        (await emulator.Fly.PostAsync($"/v1/apps/{other}/machines", FlyHttp.MachineBody(skipLaunch: true))).Expect(HttpStatusCode.OK);
        Assert.Equal(3, (await emulator.Fly.GetAsync($"/v1/apps/{app}/machines")).Array.Count);
    }

    [Fact]
    public async Task TheScaleRaisesEveryLimit()
    {
        await using var emulator = await TestEmulator.StartAsync(o => o.RateLimitScale = 10, time: new ShiftableTimeProvider(freezeTimestamps: true));
        var app = await emulator.Fly.CreateAppAsync();
        var id = (await emulator.Fly.CreateMachineAsync(app, FlyHttp.MachineBody(skipLaunch: true))).Str("id");

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 31; i++)
        {
            statuses.Add((await emulator.Fly.GetAsync($"/v1/apps/{app}/machines/{id}/metadata")).Status);
        }

        Assert.All(statuses.Take(30), s => Assert.Equal(HttpStatusCode.OK, s));
        Assert.Equal(HttpStatusCode.TooManyRequests, statuses[30]);
    }

    [Fact]
    public async Task TheEmulatorsOwnEndpointsAreNotLimited()
    {
        await using var emulator = await TestEmulator.StartAsync(o => o.RateLimitScale = 1);

        for (var i = 0; i < 20; i++)
        {
            (await emulator.Fly.GetAsync("/_emulator/health")).Expect(HttpStatusCode.OK);
        }

        (await emulator.Fly.PostAsync("/v1/apps", new JsonObject { ["app_name"] = "still-fine", ["org_slug"] = "personal" })).Expect(HttpStatusCode.Created);
    }
}
