using System.Diagnostics;
using System.Net;
using Orchestrator.Fly.Emulator.Tests.Support;

namespace Orchestrator.Fly.Emulator.Tests;

/// <summary>GET .../wait (reference §6): blocks until the state, 408 when the timeout passes, the instance_id rule, 1–60 s.</summary>
public sealed class WaitTests
{
    [Fact]
    public async Task WaitReturnsOnceTheMachineIsStarted()
    {
        await using var emulator = await TestEmulator.StartAsync(o => o.TransitionDelay = TimeSpan.FromMilliseconds(300));
        var app = await emulator.Fly.CreateAppAsync();
        var id = (await emulator.Fly.CreateMachineAsync(app)).Str("id");
        var clock = Stopwatch.StartNew();

        var response = await emulator.Fly.GetAsync($"/v1/apps/{app}/machines/{id}/wait?state=started&timeout=10");

        Assert.True(response.Expect(HttpStatusCode.OK).Object["ok"]!.GetValue<bool>());
        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(5));
        Assert.Equal("started", await emulator.Fly.StateAsync(app, id));
    }

    [Fact]
    public async Task WaitWithoutAStateWaitsForStarted()
    {
        await using var emulator = await TestEmulator.StartAsync();
        var app = await emulator.Fly.CreateAppAsync();
        var id = (await emulator.Fly.CreateMachineAsync(app)).Str("id");

        (await emulator.Fly.GetAsync($"/v1/apps/{app}/machines/{id}/wait")).Expect(HttpStatusCode.OK);

        Assert.Equal("started", await emulator.Fly.StateAsync(app, id));
    }

    [Fact]
    public async Task WaitAnswers408WithTheCurrentStateWhenTheTimeoutPasses()
    {
        await using var emulator = await TestEmulator.StartAsync();
        var app = await emulator.Fly.CreateAppAsync();
        var id = (await emulator.Fly.CreateMachineAsync(app, FlyHttp.MachineBody(skipLaunch: true))).Str("id");
        var clock = Stopwatch.StartNew();

        var response = await emulator.Fly.GetAsync($"/v1/apps/{app}/machines/{id}/wait?state=started&timeout=1");

        Assert.Equal("deadline_exceeded: machine failed to reach desired state, started, currently created", response.Expect(HttpStatusCode.RequestTimeout).Error);
        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(900), TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task WaitingForStoppedNeedsTheInstanceId()
    {
        await using var emulator = await TestEmulator.StartAsync();
        var app = await emulator.Fly.CreateAppAsync();
        var machine = await emulator.Fly.StartedMachineAsync(app);
        var id = machine.Str("id");
        (await emulator.Fly.PostAsync($"/v1/apps/{app}/machines/{id}/stop")).Expect(HttpStatusCode.OK);

        var without = await emulator.Fly.GetAsync($"/v1/apps/{app}/machines/{id}/wait?state=stopped");
        var with = await emulator.Fly.GetAsync($"/v1/apps/{app}/machines/{id}/wait?state=stopped&instance_id={machine.Str("instance_id")}&timeout=10");
        var newerName = await emulator.Fly.GetAsync($"/v1/apps/{app}/machines/{id}/wait?state=stopped&version={machine.Str("instance_id")}&timeout=10");

        Assert.Equal(Fixtures.Object("error-400-wait-instance-id-required.json").ToJsonString(), without.Expect(HttpStatusCode.BadRequest).Object.ToJsonString());
        with.Expect(HttpStatusCode.OK);
        newerName.Expect(HttpStatusCode.OK);
    }

    [Fact]
    public async Task AWaitOnAReplacedInstanceSeesReplaced()
    {
        await using var emulator = await TestEmulator.StartAsync();
        var app = await emulator.Fly.CreateAppAsync();
        var machine = await emulator.Fly.StartedMachineAsync(app);
        var id = machine.Str("id");
        (await emulator.Fly.PostAsync($"/v1/apps/{app}/machines/{id}", FlyHttp.MachineBody())).Expect(HttpStatusCode.OK);
        await emulator.Fly.WaitForAsync(app, id, "started");

        var old = await emulator.Fly.GetAsync($"/v1/apps/{app}/machines/{id}/wait?state=started&instance_id={machine.Str("instance_id")}&timeout=1");

        Assert.EndsWith("currently replaced", old.Expect(HttpStatusCode.RequestTimeout).Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("61")]
    [InlineData("0")]
    [InlineData("soon")]
    public async Task ATimeoutOutside1To60SecondsIsRefused(string timeout)
    {
        await using var emulator = await TestEmulator.StartAsync();
        var app = await emulator.Fly.CreateAppAsync();
        var id = (await emulator.Fly.CreateMachineAsync(app)).Str("id");

        var response = await emulator.Fly.GetAsync($"/v1/apps/{app}/machines/{id}/wait?state=started&timeout={timeout}");

        Assert.StartsWith("invalid_argument: timeout", response.Expect(HttpStatusCode.BadRequest).Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WaitForDestroyedSucceedsAndTheMachineIsThenGone()
    {
        await using var emulator = await TestEmulator.StartAsync();
        var app = await emulator.Fly.CreateAppAsync();
        var id = (await emulator.Fly.StartedMachineAsync(app)).Str("id");
        (await emulator.Fly.DeleteAsync($"/v1/apps/{app}/machines/{id}?force=true")).Expect(HttpStatusCode.OK);

        (await emulator.Fly.GetAsync($"/v1/apps/{app}/machines/{id}/wait?state=destroyed&timeout=10")).Expect(HttpStatusCode.OK);
        await Task.Delay(emulator.Options.DestroyedRetention + TimeSpan.FromMilliseconds(300));

        Assert.Equal("machine not found", (await emulator.Fly.GetAsync($"/v1/apps/{app}/machines/{id}/wait?state=destroyed")).Expect(HttpStatusCode.NotFound).Error);
    }

    [Fact]
    public async Task AnUnknownStateIsRefused()
    {
        await using var emulator = await TestEmulator.StartAsync();
        var app = await emulator.Fly.CreateAppAsync();
        var id = (await emulator.Fly.CreateMachineAsync(app)).Str("id");

        (await emulator.Fly.GetAsync($"/v1/apps/{app}/machines/{id}/wait?state=running")).Expect(HttpStatusCode.BadRequest);
    }
}
