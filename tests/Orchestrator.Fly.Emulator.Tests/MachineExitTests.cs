using System.Net;
using System.Text.Json.Nodes;
using Orchestrator.Fly.Emulator.Tests.Support;
using Orchestrator.Testing;

namespace Orchestrator.Fly.Emulator.Tests;

/// <summary>
/// A machine's main process that exits without a stop, as flyd records it: an <c>exit</c> event with
/// <c>requested_stop</c> false, then the restart policy (reference §4 <c>restart</c>, §7 events).
/// </summary>
public sealed class MachineExitTests
{
    [Fact]
    public async Task PolicyNoRecordsTheExitAndStopsTheMachine()
    {
        await using var emulator = await TestEmulator.StartAsync();
        var app = await emulator.Fly.CreateAppAsync();
        var id = (await emulator.Fly.StartedMachineAsync(app, Body(new JsonObject { ["policy"] = "no" }))).Str("id");

        await emulator.Emulator.KillMachineProcessAsync(id, signal: 9);
        await emulator.Fly.WaitForAsync(app, id, "stopped", (await emulator.Fly.GetMachineAsync(app, id)).Str("instance_id"));

        var exit = (await emulator.Fly.GetMachineAsync(app, id))["events"]!.AsArray()[0]!;
        Assert.Equal(("exit", "stopped", "flyd"), (exit.Str("type"), exit.Str("status"), exit.Str("source")));
        var exitEvent = exit["request"]!["exit_event"]!;
        Assert.Equal(137, exitEvent["exit_code"]!.GetValue<int>());
        Assert.Equal(9, exitEvent["signal"]!.GetValue<int>());
        Assert.False(exitEvent["requested_stop"]!.GetValue<bool>());
        Assert.False(exitEvent["restarting"]!.GetValue<bool>());
        Assert.False(exitEvent["oom_killed"]!.GetValue<bool>());
        Assert.True(exitEvent["exited_at"]!.GetValue<long>() > 0);
        Assert.Equal(0, exit["request"]!["restart_count"]!.GetValue<int>());
        Assert.Equal(["start", "signal", "stop"], emulator.Runtime.OperationsFor(id));
    }

    [Fact]
    public async Task OnFailureRestartsAfterNonZeroExitsUpToMaxRetriesThenLetsItStop()
    {
        await using var emulator = await TestEmulator.StartAsync();
        var app = await emulator.Fly.CreateAppAsync();
        var id = (await emulator.Fly.StartedMachineAsync(app, Body(new JsonObject { ["policy"] = "on-failure", ["max_retries"] = 2 }))).Str("id");
        emulator.Runtime.ExitCodeOverride = 3;

        for (var attempt = 0; attempt < 2; attempt++)
        {
            await emulator.Emulator.KillMachineProcessAsync(id);
            await emulator.Fly.WaitForAsync(app, id, "started");
        }

        await emulator.Emulator.KillMachineProcessAsync(id);
        await emulator.Fly.WaitForAsync(app, id, "stopped", (await emulator.Fly.GetMachineAsync(app, id)).Str("instance_id"));

        var exits = (await emulator.Fly.GetAsync($"/v1/apps/{app}/machines/{id}/events")).Expect(HttpStatusCode.OK).Array
            .Where(e => e.Str("type") == "exit")
            .Select(e => (Code: e!["request"]!["exit_event"]!["exit_code"]!.GetValue<int>(), Restarting: e["request"]!["exit_event"]!["restarting"]!.GetValue<bool>(), Count: e["request"]!["restart_count"]!.GetValue<int>()))
            .ToList();
        // Newest first: the third exit found the retries used up.
        Assert.Equal([(3, false, 2), (3, true, 1), (3, true, 0)], exits);
        Assert.Equal(["start", "signal", "stop", "start", "signal", "stop", "start", "signal", "stop"], emulator.Runtime.OperationsFor(id));
    }

    [Fact]
    public async Task TheDefaultPolicyIsOnFailureSoACleanExitStopsAndACrashRestarts()
    {
        await using var emulator = await TestEmulator.StartAsync();
        var app = await emulator.Fly.CreateAppAsync();
        var clean = (await emulator.Fly.StartedMachineAsync(app)).Str("id");
        var crashed = (await emulator.Fly.StartedMachineAsync(app)).Str("id");

        await emulator.Emulator.KillMachineProcessAsync(clean, signal: 15);
        await emulator.Emulator.KillMachineProcessAsync(crashed, signal: 9);

        await emulator.Fly.WaitForAsync(app, clean, "stopped", (await emulator.Fly.GetMachineAsync(app, clean)).Str("instance_id"));
        await emulator.Fly.WaitForAsync(app, crashed, "started");
        Assert.Equal(0, (await emulator.Fly.GetMachineAsync(app, clean))["events"]![0]!["request"]!["exit_event"]!["exit_code"]!.GetValue<int>());
        var events = (await emulator.Fly.GetMachineAsync(app, crashed))["events"]!.AsArray().Select(e => e.Str("type")).ToList();
        Assert.Equal(["start", "exit", "start", "launch"], events);
    }

    [Fact]
    public async Task PolicyAlwaysRestartsEvenAfterACleanExit()
    {
        await using var emulator = await TestEmulator.StartAsync();
        var app = await emulator.Fly.CreateAppAsync();
        var id = (await emulator.Fly.StartedMachineAsync(app, Body(new JsonObject { ["policy"] = "always" }))).Str("id");

        await emulator.Emulator.KillMachineProcessAsync(id, signal: 15);
        await emulator.Fly.WaitForAsync(app, id, "started");

        var exit = (await emulator.Fly.GetMachineAsync(app, id))["events"]![1]!;
        Assert.Equal("exit", exit.Str("type"));
        Assert.True(exit["request"]!["exit_event"]!["restarting"]!.GetValue<bool>());
        Assert.Equal(["start", "signal", "stop", "start"], emulator.Runtime.OperationsFor(id));
    }

    [Fact]
    public async Task KillingAMachineThatDoesNotRunIsRefused()
    {
        await using var emulator = await TestEmulator.StartAsync();
        var app = await emulator.Fly.CreateAppAsync();
        var id = (await emulator.Fly.CreateMachineAsync(app, FlyHttp.MachineBody(skipLaunch: true))).Str("id");

        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => emulator.Emulator.KillMachineProcessAsync(id));
        var missing = await Assert.ThrowsAsync<InvalidOperationException>(() => emulator.Emulator.KillMachineProcessAsync("0123456789abcd"));
        var overHttp = await emulator.Fly.PostAsync($"/_emulator/machines/{id}/kill", new JsonObject { ["signal"] = "SIGKILL" });

        Assert.Contains("created", refused.Message, StringComparison.Ordinal);
        Assert.Contains("not found", missing.Message, StringComparison.Ordinal);
        Assert.StartsWith("failed_precondition:", overHttp.Expect(HttpStatusCode.PreconditionFailed).Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheAdminApiKillsAMachinesProcessAndAnswersOnceTheExitIsRecorded()
    {
        await using var emulator = await TestEmulator.StartAsync();
        var app = await emulator.Fly.CreateAppAsync();
        var id = (await emulator.Fly.StartedMachineAsync(app, Body(new JsonObject { ["policy"] = "no" }))).Str("id");

        (await emulator.Fly.PostAsync($"/_emulator/machines/{id}/kill", new JsonObject { ["signal"] = "SIGTERM" })).Expect(HttpStatusCode.OK);

        var machine = await emulator.Fly.GetMachineAsync(app, id);
        Assert.Contains(machine.Str("state"), (string[])["stopping", "stopped"]);
        Assert.Equal("exit", machine["events"]![0]!.Str("type"));
        Assert.Equal(-1, machine["events"]![0]!["request"]!["exit_event"]!["signal"]!.GetValue<int>());
    }

    [Fact]
    public async Task AKillGivesUpWhenTheProcessOutlastsTheKillTimeoutOnTheEmulatorsClock()
    {
        var clock = new WatchedClock();
        var runtime = new RecordingRuntime { IgnoreSignals = true };
        await using var emulator = await TestEmulator.StartAsync(o => o.TransitionDelay = TimeSpan.Zero, runtime, clock);
        var app = await emulator.Fly.CreateAppAsync();
        var id = (await emulator.Fly.StartedMachineAsync(app)).Str("id");

        var kill = emulator.Emulator.KillMachineProcessAsync(id);
        // The kill's deadline is a timer on the emulator's clock, not real time: until it moves, the kill waits.
        await clock.ArmedAsync(FlyEmulator.KillTimeout);
        Assert.False(kill.IsCompleted);
        clock.Advance(FlyEmulator.KillTimeout);

        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => kill.WaitAsync(Wait.DefaultTimeout));
        Assert.Contains("did not exit within 30 s of signal 9", ex.Message, StringComparison.Ordinal);
        Assert.Equal("started", await emulator.Fly.StateAsync(app, id));
        Assert.Equal(["start", "signal"], runtime.OperationsFor(id));
    }

    private static JsonObject Body(JsonObject restart) =>
        FlyHttp.MachineBody(config: new JsonObject { ["image"] = "ubuntu:24.04", ["restart"] = restart });
}
