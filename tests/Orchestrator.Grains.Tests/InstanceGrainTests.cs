using Orchestrator.Fly;
using Orchestrator.Fly.Emulator;
using Orchestrator.Grains.Instances;
using Orchestrator.Grains.Runs;
using Orchestrator.Testing;

namespace Orchestrator.Grains.Tests;

/// <summary>
/// Instance grains over the emulator's real sandbox machines. The grain follows its machine on a grain timer, so
/// what it reports moves only as the fake clock does; the machines move in real time.
/// </summary>
[Collection(FakeTimeCluster.Name)]
public sealed class InstanceGrainTests(FakeTimeClusterFixture fixture) : IDisposable
{
    private static readonly TimeSpan Poll = new InstanceOptions().SettlePollInterval;

    private readonly string _tenant = $"t-{Guid.NewGuid():N}"[..30];

    private FaultInjection Faults => fixture.Emulator.FaultInjection;

    public void Dispose() => Faults.Clear();

    [Fact]
    public async Task ACreateProgressesFromCreatingToStartedAsTheGrainFollowsItsMachine()
    {
        var instance = Instance("box");
        // The gateway passes its request id this way; the instance records it as who asked.
        RequestContext.Set(InstanceActor.RequestIdKey, "req-create");

        var created = await instance.CreateAsync(Spec("box"), "req-create");
        RequestContext.Clear();
        var started = await Eventually.DriveAsync(fixture.Clock, Poll, () => instance.GetAsync(), s => s!.ObservedState == InstanceStates.Started, "the instance to be started");

        // The create call only accepts: the machine is made after it returned.
        Assert.Equal(InstanceStates.Started, created.DesiredState);
        Assert.Equal(InstanceStates.Creating, created.ObservedState);
        Assert.Null(created.MachineId);
        Assert.NotNull(started!.MachineId);
        Assert.NotNull(started.PrivateIp);
        Assert.Null(started.Error);
        var machine = await fixture.Fly.Provider.GetMachineAsync(FlyClientHost.AppName, started.MachineId!);
        Assert.Equal(FlyMachineStates.Started, machine.State);
        var events = (await instance.GetEventsAsync(0, 100)).Items;
        Assert.Equal(
            [InstanceEventKinds.Created, InstanceEventKinds.MachineCreated, InstanceEventKinds.Started],
            events.Select(e => e.Kind).Where(k => k is InstanceEventKinds.Created or InstanceEventKinds.MachineCreated or InstanceEventKinds.Started).Distinct());
        Assert.Equal("req-create", events.First(e => e.Kind == InstanceEventKinds.Created).Actor?.RequestId);
        // Made in the background, on behalf of the same request.
        Assert.Equal("req-create", events.First(e => e.Kind == InstanceEventKinds.MachineCreated).Actor?.RequestId);
        // Repeating the create is harmless: same machine, nothing new.
        Assert.Equal(started.MachineId, (await instance.CreateAsync(Spec("box"), "req-create")).MachineId);

        await instance.DestroyAsync();
    }

    [Fact]
    public async Task StopStartAndDestroyAreTransitionsOfTheSameMachineEachRecorded()
    {
        var instance = Instance("cycle");
        await instance.CreateAsync(Spec("cycle"), "req-1");
        var started = await Eventually.DriveAsync(fixture.Clock, Poll, () => instance.GetAsync(), s => s!.ObservedState == InstanceStates.Started, "the instance to be started");

        await Eventually.DriveAsync(fixture.Clock, Poll, instance.StopAsync(), "the stop");
        var stopped = await Eventually.DriveAsync(fixture.Clock, Poll, () => instance.GetAsync(), s => s!.ObservedState == InstanceStates.Stopped, "the instance to be stopped");
        await Eventually.DriveAsync(fixture.Clock, Poll, instance.StartAsync(), "the start");
        var restarted = await Eventually.DriveAsync(fixture.Clock, Poll, () => instance.GetAsync(), s => s!.ObservedState == InstanceStates.Started, "the instance to be started again");
        var destroyed = await instance.DestroyAsync();

        Assert.Equal(InstanceStates.Stopped, stopped!.DesiredState);
        Assert.Equal(started!.MachineId, restarted!.MachineId);
        Assert.Equal(InstanceStates.Destroyed, destroyed.ObservedState);
        Assert.True(restarted.Revision > stopped.Revision && stopped.Revision > started.Revision);
        var kinds = (await instance.GetEventsAsync(0, 100)).Items.Select(e => e.Kind).ToList();
        Assert.Equal(
            [InstanceEventKinds.Created, InstanceEventKinds.Stopping, InstanceEventKinds.Starting, InstanceEventKinds.Destroyed],
            kinds.Where(k => k is InstanceEventKinds.Created or InstanceEventKinds.Stopping or InstanceEventKinds.Starting or InstanceEventKinds.Destroyed).ToList());
        Assert.True(kinds.IndexOf(InstanceEventKinds.Stopped) > kinds.IndexOf(InstanceEventKinds.Stopping));
        Assert.True(kinds.LastIndexOf(InstanceEventKinds.Started) > kinds.IndexOf(InstanceEventKinds.Starting));
        await Assert.ThrowsAsync<InstanceDestroyedException>(() => instance.StartAsync());
    }

    [Fact]
    public async Task ACreateFlyRefusesFor503CapacityEndsFailedWithTheReasonAndLeavesNothingBehind()
    {
        var instance = Instance("refused");
        // Fly's own answer when a region is full (tests/Orchestrator.Testing/Fixtures/fly/error-503-insufficient-capacity.json).
        var rule = Faults.Add(FaultRule.Failing("Machines_create", 503) with { Message = "out of capacity", ErrorCode = "insufficient_capacity" });
        var before = await LiveMachineIdsAsync();

        var accepted = await instance.CreateAsync(Spec("refused"), "req-refused");
        var failed = await Eventually.DriveAsync(fixture.Clock, Poll, () => instance.GetAsync(), s => s!.ObservedState == InstanceStates.Failed, "the creation to fail");

        Assert.Equal(InstanceStates.Creating, accepted.ObservedState);
        Assert.Equal(InstanceErrorCodes.FlyError, failed!.Error?.Code);
        Assert.Equal("out of capacity", failed.Error?.Message);
        Assert.Equal("out of capacity", failed.LastError);
        Assert.Null(failed.MachineId);
        Assert.Equal(1, Faults.Rules.Single(r => r.Id == rule).Fired);
        Assert.Equal(before, await LiveMachineIdsAsync());
        var failedEvent = (await instance.GetEventsAsync(0, 100)).Items.Single(e => e.Kind == InstanceEventKinds.Failed);
        Assert.Equal("out of capacity", failedEvent.Error?.Message);
        // A failed instance waits no more: the wait says so at once.
        Assert.Equal(InstanceStates.Failed, (await instance.WaitForStateAsync(InstanceStates.Started, TimeSpan.FromSeconds(25))).ObservedState);
        await Assert.ThrowsAsync<InstanceConflictException>(() => instance.StartAsync());
        // Nothing holds the name: the same create goes through once Fly has room again.
        Faults.Clear();
        Assert.Equal(InstanceStates.Creating, (await instance.CreateAsync(Spec("refused"), "req-refused")).ObservedState);
        var started = await Eventually.DriveAsync(fixture.Clock, Poll, () => instance.GetAsync(), s => s!.ObservedState == InstanceStates.Started, "the repeated creation to start");
        Assert.Null(started!.Error);
        await instance.DestroyAsync();
    }

    [Fact]
    public async Task ACreateWhoseOutcomeFlyLeavesUnknownKeepsItsIntentAndLastErrorWhileTheGrainRetriesIt()
    {
        var instance = Instance("unsure");
        // A bare 503 may have made the machine: the instance keeps what it knows and says why it is not ready.
        Faults.Add(FaultRule.Failing("Machines_create", 503) with { Message = "service unavailable" });

        await instance.CreateAsync(Spec("unsure"), "req-unsure");
        var pending = await Eventually.DriveAsync(fixture.Clock, Poll, () => instance.GetAsync(), s => s!.Error is not null, "the creation to meet Fly's 503");

        Assert.Equal(InstanceStates.Creating, pending!.ObservedState);
        Assert.Null(pending.MachineId);
        Assert.Equal(InstanceErrorCodes.FlyError, pending.Error?.Code);
        Assert.Equal("service unavailable", pending.Error?.Message);
        Faults.Clear();
        var started = await Eventually.DriveAsync(fixture.Clock, Poll, () => instance.GetAsync(), s => s!.ObservedState == InstanceStates.Started, "the retried creation to start");
        Assert.Null(started!.Error);
        Assert.Single(await LiveMachineIdsAsync(), id => id == started.MachineId);
        await instance.DestroyAsync();
    }

    [Fact]
    public async Task AStartFlyRefusesIsReportedAndTheInstanceStaysStopped()
    {
        var instance = Instance("stuck");
        await instance.CreateAsync(Spec("stuck"), "req-1");
        await Eventually.DriveAsync(fixture.Clock, Poll, () => instance.GetAsync(), s => s!.ObservedState == InstanceStates.Started, "the instance to be started");
        await Eventually.DriveAsync(fixture.Clock, Poll, instance.StopAsync(), "the stop");
        await Eventually.DriveAsync(fixture.Clock, Poll, () => instance.GetAsync(), s => s!.ObservedState == InstanceStates.Stopped, "the instance to be stopped");
        Faults.Add(FaultRule.Failing("Machines_start", 503) with { Message = "the test will not start it" });

        var error = await Assert.ThrowsAsync<InstanceProviderException>(() => Eventually.DriveAsync(fixture.Clock, Poll, instance.StartAsync(), "the refused start"));

        Assert.Equal(InstanceProviderErrorKinds.Unavailable, error.Kind);
        Assert.Contains("the test will not start it", error.Message, StringComparison.Ordinal);
        var snapshot = (await instance.GetAsync())!;
        Assert.Equal(InstanceStates.Stopped, snapshot.ObservedState);
        Faults.Clear();
        await instance.DestroyAsync();
    }

    [Fact]
    public async Task InstanceStepsCreateStopStartAndDestroyAMachineRecordingTheRunAndStep()
    {
        var runs = new RunDriver(fixture, _tenant);
        var run = await runs.StartAsync("""
            name: machine-life
            steps:
              - id: make
                uses: instance.create
                with: { name: wf-box, region: ams, size: shared-cpu-1x }
              - id: stop
                uses: instance.stop
                with: { instance: "${{ steps.make.outputs.id }}" }
              - id: start
                uses: instance.start
                with: { instance: "${{ steps.make.outputs.id }}" }
            finally:
              - id: cleanup
                uses: instance.destroy
                with: { instance: "${{ steps.make.outputs.id }}" }
            """);

        var done = await Eventually.DriveAsync(fixture.Clock, Poll, async () => (await run.GetAsync())!, v => RunStatuses.IsTerminal(v.Status), "the run to end");

        var steps = done.Steps.ToDictionary(s => s.Id);
        Assert.Equal(RunStatuses.Succeeded, done.Status);
        Assert.All(steps.Values, s => Assert.Equal(StepStatuses.Succeeded, s.Status));
        Assert.Contains("\"state\":\"stopped\"", steps["stop"].OutputsJson, StringComparison.Ordinal);
        Assert.Contains("\"state\":\"started\"", steps["start"].OutputsJson, StringComparison.Ordinal);
        Assert.Contains("\"state\":\"destroyed\"", steps["cleanup"].OutputsJson, StringComparison.Ordinal);
        var instance = Instance("wf-box");
        var snapshot = (await instance.GetAsync())!;
        Assert.Equal(InstanceStates.Destroyed, snapshot.ObservedState);
        Assert.DoesNotContain(snapshot.MachineId, await LiveMachineIdsAsync());
        var events = (await instance.GetEventsAsync(0, 100)).Items;
        var runId = done.RunId;
        Assert.Equal(new InstanceActor(null, runId, "make"), events.First(e => e.Kind == InstanceEventKinds.Created).Actor);
        Assert.Equal(new InstanceActor(null, runId, "stop"), events.First(e => e.Kind == InstanceEventKinds.Stopping).Actor);
        Assert.Equal(new InstanceActor(null, runId, "cleanup"), events.First(e => e.Kind == InstanceEventKinds.Destroyed).Actor);
    }

    private IInstanceGrain Instance(string name) => fixture.Client.GetGrain<IInstanceGrain>(InstanceKey.Format(_tenant, name));

    private static InstanceSpec Spec(string name) => new(name, "ams", new InstanceSize("shared-cpu-1x"));

    private async Task<List<string>> LiveMachineIdsAsync() =>
        [.. (await fixture.Fly.Provider.ListMachinesAsync(FlyClientHost.AppName))
            .Where(m => m.State is not (FlyMachineStates.Destroyed or FlyMachineStates.Destroying))
            .Select(m => m.Id!)
            .Order(StringComparer.Ordinal)];
}
