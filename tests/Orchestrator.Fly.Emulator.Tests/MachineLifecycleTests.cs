using System.Net;
using System.Text.Json.Nodes;
using Orchestrator.Fly.Emulator.Tests.Support;

namespace Orchestrator.Fly.Emulator.Tests;

/// <summary>States and transitions (reference §8), each transient state observable, and what the runtime is asked to do.</summary>
public sealed class MachineLifecycleTests
{
    private static Task<TestEmulator> StartAsync() =>
        TestEmulator.StartAsync(o => o.TransitionDelay = TimeSpan.FromMilliseconds(1000));

    [Fact]
    public async Task ACreatedMachineGoesThroughCreatedAndStartingToStarted()
    {
        await using var emulator = await StartAsync();
        var app = await emulator.Fly.CreateAppAsync();

        var machine = await emulator.Fly.CreateMachineAsync(app);
        var states = await emulator.Fly.ObserveStatesAsync(app, machine.Str("id"), "started");

        Assert.Equal("created", machine.Str("state"));
        Assert.Equal(["created", "starting", "started"], states);
        Assert.Equal(["start"], emulator.Runtime.OperationsFor(machine.Str("id")));
        Assert.True(emulator.Runtime.IsRunning(machine.Str("id")));
    }

    [Fact]
    public async Task SkipLaunchLeavesTheMachineCreatedUntilStarted()
    {
        await using var emulator = await StartAsync();
        var app = await emulator.Fly.CreateAppAsync();
        var id = (await emulator.Fly.CreateMachineAsync(app, FlyHttp.MachineBody(skipLaunch: true))).Str("id");

        await Task.Delay(400);
        Assert.Equal("created", await emulator.Fly.StateAsync(app, id));
        Assert.Empty(emulator.Runtime.OperationsFor(id));

        var start = (await emulator.Fly.PostAsync($"/v1/apps/{app}/machines/{id}/start")).Expect(HttpStatusCode.OK);
        Assert.Equal("created", start.Object.Str("previous_state"));
        Assert.Equal(["starting", "started"], await emulator.Fly.ObserveStatesAsync(app, id, "started"));
    }

    [Fact]
    public async Task StopShowsStoppingThenStoppedAndStopsTheSandbox()
    {
        await using var emulator = await StartAsync();
        var app = await emulator.Fly.CreateAppAsync();
        var machine = await emulator.Fly.StartedMachineAsync(app);
        var id = machine.Str("id");

        (await emulator.Fly.PostAsync($"/v1/apps/{app}/machines/{id}/stop", new JsonObject { ["signal"] = "SIGTERM", ["timeout"] = "10s" })).Expect(HttpStatusCode.OK);
        var states = await emulator.Fly.ObserveStatesAsync(app, id, "stopped");

        Assert.Equal(["stopping", "stopped"], states);
        Assert.Equal(["start", "stop"], emulator.Runtime.OperationsFor(id));
        Assert.False(emulator.Runtime.IsRunning(id));
        var exit = (await emulator.Fly.GetMachineAsync(app, id))["events"]![0]!;
        Assert.Equal("exit", exit.Str("type"));
        Assert.True(exit["request"]!["exit_event"]!["requested_stop"]!.GetValue<bool>());
    }

    [Fact]
    public async Task RestartGoesThroughRestartingAndStartingAndRestartsTheSandbox()
    {
        await using var emulator = await StartAsync();
        var app = await emulator.Fly.CreateAppAsync();
        var id = (await emulator.Fly.StartedMachineAsync(app)).Str("id");

        (await emulator.Fly.PostAsync($"/v1/apps/{app}/machines/{id}/restart?timeout=5s&signal=SIGTERM")).Expect(HttpStatusCode.OK);

        Assert.Equal(["restarting", "starting", "started"], await emulator.Fly.ObserveStatesAsync(app, id, "started"));
        Assert.Equal(["start", "stop", "start"], emulator.Runtime.OperationsFor(id));
    }

    [Fact]
    public async Task UpdateReplacesTheMachineWithANewInstanceIdAndRestartsItWithTheNewConfig()
    {
        await using var emulator = await StartAsync();
        var app = await emulator.Fly.CreateAppAsync();
        var before = await emulator.Fly.StartedMachineAsync(app);
        var id = before.Str("id");
        var config = new JsonObject { ["image"] = "ubuntu:24.04", ["env"] = new JsonObject { ["VERSION"] = "2" } };

        var updated = (await emulator.Fly.PostAsync($"/v1/apps/{app}/machines/{id}", new JsonObject { ["config"] = config })).Expect(HttpStatusCode.OK).Object;
        var states = await emulator.Fly.ObserveStatesAsync(app, id, "started");

        Assert.Equal("replacing", updated.Str("state"));
        Assert.NotEqual(before.Str("instance_id"), updated.Str("instance_id"));
        Assert.Matches("^[0-9A-HJKMNP-TV-Z]{26}$", updated.Str("instance_id"));
        Assert.Equal(["replacing", "starting", "started"], states);
        Assert.Equal(["start", "stop", "start"], emulator.Runtime.OperationsFor(id));
        Assert.Equal("2", emulator.Runtime.CallsFor(id)[^1].Spec!.Environment["VERSION"]);
        Assert.Equal(updated.Str("instance_id"), emulator.Runtime.CallsFor(id)[^1].Spec!.Environment["FLY_MACHINE_VERSION"]);
        Assert.Equal("update", (await emulator.Fly.GetMachineAsync(app, id))["events"]!.AsArray().Select(e => e.Str("type")).Skip(1).First());
    }

    [Fact]
    public async Task UpdateWithSkipLaunchKeepsAStoppedMachineStopped()
    {
        await using var emulator = await StartAsync();
        var app = await emulator.Fly.CreateAppAsync();
        var machine = await emulator.Fly.StartedMachineAsync(app);
        var id = machine.Str("id");
        (await emulator.Fly.PostAsync($"/v1/apps/{app}/machines/{id}/stop")).Expect(HttpStatusCode.OK);
        await emulator.Fly.WaitForAsync(app, id, "stopped", machine.Str("instance_id"));

        (await emulator.Fly.PostAsync($"/v1/apps/{app}/machines/{id}", FlyHttp.MachineBody(skipLaunch: true))).Expect(HttpStatusCode.OK);

        Assert.Equal(["replacing", "stopped"], await emulator.Fly.ObserveStatesAsync(app, id, "stopped"));
        Assert.Equal(["start", "stop"], emulator.Runtime.OperationsFor(id));
    }

    [Fact]
    public async Task DestroyWithoutForceIsRefusedForAStartedMachine()
    {
        await using var emulator = await StartAsync();
        var app = await emulator.Fly.CreateAppAsync();
        var id = (await emulator.Fly.StartedMachineAsync(app)).Str("id");

        var refused = await emulator.Fly.DeleteAsync($"/v1/apps/{app}/machines/{id}");

        refused.Expect(HttpStatusCode.PreconditionFailed);
        Assert.StartsWith("failed_precondition: ", refused.Error, StringComparison.Ordinal);
        Assert.Equal(["error"], refused.Object.Select(p => p.Key));
        Assert.Equal("started", await emulator.Fly.StateAsync(app, id));
        Assert.DoesNotContain("destroy", emulator.Runtime.OperationsFor(id));
    }

    [Fact]
    public async Task ForcedDestroyShowsDestroyingThenDestroyedThenNotFound()
    {
        await using var emulator = await StartAsync();
        var app = await emulator.Fly.CreateAppAsync();
        var id = (await emulator.Fly.StartedMachineAsync(app)).Str("id");

        var ok = (await emulator.Fly.DeleteAsync($"/v1/apps/{app}/machines/{id}?force=true")).Expect(HttpStatusCode.OK);
        var states = await emulator.Fly.ObserveStatesAsync(app, id, "404");

        Assert.True(ok.Object["ok"]!.GetValue<bool>());
        Assert.Equal(["destroying", "destroyed", "404"], states);
        Assert.Equal(["start", "destroy"], emulator.Runtime.OperationsFor(id));
        var gone = await emulator.Fly.GetAsync($"/v1/apps/{app}/machines/{id}");
        Assert.Equal("machine not found", gone.Expect(HttpStatusCode.NotFound).Error);
    }

    [Fact]
    public async Task AStoppedMachineIsDestroyedWithoutForceAndListedOnlyWithIncludeDeleted()
    {
        await using var emulator = await TestEmulator.StartAsync(o => o.DestroyedRetention = TimeSpan.FromSeconds(30));
        var app = await emulator.Fly.CreateAppAsync();
        var id = (await emulator.Fly.CreateMachineAsync(app, FlyHttp.MachineBody(skipLaunch: true))).Str("id");

        (await emulator.Fly.DeleteAsync($"/v1/apps/{app}/machines/{id}")).Expect(HttpStatusCode.OK);
        await emulator.Fly.ObserveStatesAsync(app, id, "destroyed");

        Assert.Empty((await emulator.Fly.GetAsync($"/v1/apps/{app}/machines")).Array);
        Assert.Equal("destroyed", Assert.Single((await emulator.Fly.GetAsync($"/v1/apps/{app}/machines?include_deleted=true")).Array)!.Str("state"));
        Assert.Equal("destroyed", await emulator.Fly.StateAsync(app, id));
        // Never started: there was no sandbox to destroy.
        Assert.Empty(emulator.Runtime.OperationsFor(id));
    }

    [Fact]
    public async Task SuspendAndResume()
    {
        await using var emulator = await StartAsync();
        var app = await emulator.Fly.CreateAppAsync();
        var id = (await emulator.Fly.StartedMachineAsync(app)).Str("id");

        (await emulator.Fly.PostAsync($"/v1/apps/{app}/machines/{id}/suspend")).Expect(HttpStatusCode.OK);
        Assert.Equal(["suspending", "suspended"], await emulator.Fly.ObserveStatesAsync(app, id, "suspended"));
        var start = (await emulator.Fly.PostAsync($"/v1/apps/{app}/machines/{id}/start")).Expect(HttpStatusCode.OK);

        Assert.Equal("suspended", start.Object.Str("previous_state"));
        Assert.Equal(["starting", "started"], await emulator.Fly.ObserveStatesAsync(app, id, "started"));
    }

    [Fact]
    public async Task AKillSignalEndsTheMachineAndRestartPolicyAlwaysBringsItBack()
    {
        await using var emulator = await StartAsync();
        var app = await emulator.Fly.CreateAppAsync();
        var plain = (await emulator.Fly.StartedMachineAsync(app)).Str("id");
        var always = (await emulator.Fly.StartedMachineAsync(app, FlyHttp.MachineBody(config: new JsonObject
        {
            ["image"] = "ubuntu",
            ["restart"] = new JsonObject { ["policy"] = "always" },
        }))).Str("id");

        var signals = await Task.WhenAll(
            emulator.Fly.PostAsync($"/v1/apps/{app}/machines/{plain}/signal", new JsonObject { ["signal"] = "SIGKILL" }),
            emulator.Fly.PostAsync($"/v1/apps/{app}/machines/{always}/signal", new JsonObject { ["signal"] = 9 }));
        Assert.All(signals, s => s.Expect(HttpStatusCode.OK));

        var observed = await Task.WhenAll(emulator.Fly.ObserveStatesAsync(app, plain, "stopped"), emulator.Fly.ObserveStatesAsync(app, always, "started"));
        Assert.Equal(["stopping", "stopped"], observed[0]);
        Assert.Equal(["stopping", "starting", "started"], observed[1]);
        Assert.Equal(["start", "stop", "start"], emulator.Runtime.OperationsFor(always));
        var bad = await emulator.Fly.PostAsync($"/v1/apps/{app}/machines/{always}/signal", new JsonObject { ["signal"] = "SIGNOPE" });
        Assert.StartsWith("invalid_argument:", bad.Expect(HttpStatusCode.BadRequest).Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AutoDestroyDestroysTheMachineWhenItStops()
    {
        await using var emulator = await StartAsync();
        var app = await emulator.Fly.CreateAppAsync();
        var id = (await emulator.Fly.StartedMachineAsync(app, FlyHttp.MachineBody(config: new JsonObject { ["image"] = "ubuntu", ["auto_destroy"] = true }))).Str("id");

        (await emulator.Fly.PostAsync($"/v1/apps/{app}/machines/{id}/stop")).Expect(HttpStatusCode.OK);

        Assert.Equal(["stopping", "stopped", "destroying", "destroyed"], await emulator.Fly.ObserveStatesAsync(app, id, "destroyed"));
        Assert.Equal(["start", "stop", "destroy"], emulator.Runtime.OperationsFor(id));
    }

    [Fact]
    public async Task AStartThatFailsLeavesTheMachineFailed()
    {
        var runtime = new RecordingRuntime { StartFailure = new InvalidOperationException("sshd did not come up") };
        await using var emulator = await TestEmulator.StartAsync(runtime: runtime);
        var app = await emulator.Fly.CreateAppAsync();
        var id = (await emulator.Fly.CreateMachineAsync(app)).Str("id");

        await emulator.Fly.WaitForAsync(app, id, "failed");

        var exit = (await emulator.Fly.GetMachineAsync(app, id))["events"]![0]!;
        Assert.Equal("failed", exit.Str("status"));
    }

    [Fact]
    public async Task EventsAreListedNewestFirstAndLimited()
    {
        await using var emulator = await TestEmulator.StartAsync();
        var app = await emulator.Fly.CreateAppAsync();
        var machine = await emulator.Fly.StartedMachineAsync(app);
        var id = machine.Str("id");
        (await emulator.Fly.PostAsync($"/v1/apps/{app}/machines/{id}/stop")).Expect(HttpStatusCode.OK);
        await emulator.Fly.WaitForAsync(app, id, "stopped", machine.Str("instance_id"));

        var events = (await emulator.Fly.GetAsync($"/v1/apps/{app}/machines/{id}/events")).Expect(HttpStatusCode.OK).Array;
        var limited = (await emulator.Fly.GetAsync($"/v1/apps/{app}/machines/{id}/events?limit=1")).Expect(HttpStatusCode.OK).Array;

        Assert.Equal(["exit/stopped", "start/started", "launch/created"], events.Select(e => $"{e.Str("type")}/{e.Str("status")}"));
        Assert.Equal(events[0]!.Str("id"), Assert.Single(limited)!.Str("id"));
        var timestamps = events.Select(e => e!["timestamp"]!.GetValue<long>()).ToList();
        Assert.Equal(timestamps.OrderDescending(), timestamps);
        (await emulator.Fly.GetAsync($"/v1/apps/{app}/machines/{id}/events?limit=51")).Expect(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task ListFiltersByMetadataStateAndRegion()
    {
        await using var emulator = await TestEmulator.StartAsync();
        var app = await emulator.Fly.CreateAppAsync();
        JsonObject Config(string token) => new() { ["image"] = "ubuntu", ["metadata"] = new JsonObject { ["client_token"] = token, ["role"] = "worker" } };
        var a = (await emulator.Fly.CreateMachineAsync(app, FlyHttp.MachineBody("ord", Config("a"), skipLaunch: true))).Str("id");
        var b = (await emulator.Fly.CreateMachineAsync(app, FlyHttp.MachineBody("ams", Config("b"), skipLaunch: true))).Str("id");

        static IEnumerable<string> Ids(FlyResponse r) => r.Expect(HttpStatusCode.OK).Array.Select(m => m.Str("id"));

        Assert.Equal([a], Ids(await emulator.Fly.GetAsync($"/v1/apps/{app}/machines?metadata.client_token=a")));
        Assert.Equal([a, b], Ids(await emulator.Fly.GetAsync($"/v1/apps/{app}/machines?metadata.role=worker")));
        Assert.Empty(Ids(await emulator.Fly.GetAsync($"/v1/apps/{app}/machines?metadata.role=worker&metadata.client_token=c")));
        Assert.Equal([b], Ids(await emulator.Fly.GetAsync($"/v1/apps/{app}/machines?region=ams")));
        Assert.Equal([a, b], Ids(await emulator.Fly.GetAsync($"/v1/apps/{app}/machines?state=created,started")));
        Assert.Empty(Ids(await emulator.Fly.GetAsync($"/v1/apps/{app}/machines?state=started")));
        var summary = (await emulator.Fly.GetAsync($"/v1/apps/{app}/machines?summary=true")).Array[0]!.AsObject();
        Assert.False(summary.ContainsKey("config"));
        Assert.False(summary.ContainsKey("events"));
    }

    [Fact]
    public async Task MachineNamesAreGeneratedOrKeptAndUniqueWithinTheApp()
    {
        await using var emulator = await TestEmulator.StartAsync();
        var app = await emulator.Fly.CreateAppAsync();

        var generated = await emulator.Fly.CreateMachineAsync(app, FlyHttp.MachineBody(skipLaunch: true));
        var named = FlyHttp.MachineBody(skipLaunch: true);
        named["name"] = "worker-1";
        (await emulator.Fly.PostAsync($"/v1/apps/{app}/machines", named)).Expect(HttpStatusCode.OK);
        var duplicate = await emulator.Fly.PostAsync($"/v1/apps/{app}/machines", named.DeepClone());

        Assert.Matches("^[a-z]+-[a-z]+-[0-9]{4}$", generated.Str("name"));
        Assert.Matches("^[0-9a-f]{14}$", generated.Str("id"));
        duplicate.Expect(HttpStatusCode.Conflict);
    }
}
