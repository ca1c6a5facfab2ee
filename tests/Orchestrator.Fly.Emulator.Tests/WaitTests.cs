using System.Net;
using Orchestrator.Fly.Emulator.Tests.Support;
using Orchestrator.Testing;

namespace Orchestrator.Fly.Emulator.Tests;

/// <summary>GET .../wait (reference §6): blocks until the state, 408 when the timeout passes, the instance_id rule, 1–60 s.</summary>
public sealed class WaitTests
{
    [Fact]
    public async Task WaitReturnsOnceTheMachineIsStarted()
    {
        var clock = new WatchedClock();
        var hold = TimeSpan.FromSeconds(1);
        await using var emulator = await TestEmulator.StartAsync(o => o.TransitionDelay = hold, time: clock);
        var app = await emulator.Fly.CreateAppAsync();
        var id = (await emulator.Fly.CreateMachineAsync(app)).Str("id");

        var wait = emulator.Fly.GetAsync($"/v1/apps/{app}/machines/{id}/wait?state=started&timeout=10");
        await clock.ArmedAsync(TimeSpan.FromSeconds(10));
        await clock.ArmedAsync(hold);
        // The clock stands still: the machine stays created, and the wait holds.
        Assert.Equal("created", await emulator.Fly.StateAsync(app, id));
        Assert.False(wait.IsCompleted);

        clock.Advance(hold);
        await clock.ArmedAsync(hold, count: 2);
        Assert.Equal("starting", await emulator.Fly.StateAsync(app, id));
        Assert.False(wait.IsCompleted);

        clock.Advance(hold);
        var response = await wait.WaitAsync(Wait.DefaultTimeout);

        Assert.True(response.Expect(HttpStatusCode.OK).Object["ok"]!.GetValue<bool>());
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
        var clock = new WatchedClock();
        var timeout = TimeSpan.FromSeconds(1);
        await using var emulator = await TestEmulator.StartAsync(time: clock);
        var app = await emulator.Fly.CreateAppAsync();
        var id = (await emulator.Fly.CreateMachineAsync(app, FlyHttp.MachineBody(skipLaunch: true))).Str("id");

        var wait = emulator.Fly.GetAsync($"/v1/apps/{app}/machines/{id}/wait?state=started&timeout=1");
        await clock.ArmedAsync(timeout);
        clock.Advance(timeout - TimeSpan.FromTicks(1));
        // A request answered after the move: the wait, a tick short of its timeout, is still held.
        Assert.Equal("created", await emulator.Fly.StateAsync(app, id));
        Assert.False(wait.IsCompleted);

        clock.Advance(TimeSpan.FromTicks(1));
        var response = await wait.WaitAsync(Wait.DefaultTimeout);

        Assert.Equal("deadline_exceeded: machine failed to reach desired state, started, currently created", response.Expect(HttpStatusCode.RequestTimeout).Error);
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
        var clock = new WatchedClock();
        var retention = TimeSpan.FromMinutes(5);
        // No transition holds: the only timers are the waits' and the retention of the destroyed machine.
        await using var emulator = await TestEmulator.StartAsync(
            o =>
            {
                o.TransitionDelay = TimeSpan.Zero;
                o.DestroyedRetention = retention;
            },
            time: clock);
        var app = await emulator.Fly.CreateAppAsync();
        var id = (await emulator.Fly.StartedMachineAsync(app)).Str("id");
        (await emulator.Fly.DeleteAsync($"/v1/apps/{app}/machines/{id}?force=true")).Expect(HttpStatusCode.OK);

        (await emulator.Fly.GetAsync($"/v1/apps/{app}/machines/{id}/wait?state=destroyed&timeout=10")).Expect(HttpStatusCode.OK);
        await clock.ArmedAsync(retention);
        // Until the retention has passed on the emulator's clock, the destroyed machine is still shown.
        Assert.Equal("destroyed", await emulator.Fly.StateAsync(app, id));
        clock.Advance(retention);
        await Wait.UntilAsync(
            async () => (await emulator.Fly.GetAsync($"/v1/apps/{app}/machines/{id}")).Status == HttpStatusCode.NotFound,
            "the destroyed machine to be dropped once its retention passed");

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
