using Orchestrator.Fly;
using Orchestrator.Fly.Emulator;
using Orchestrator.Grains.Instances;
using Orchestrator.Testing;

namespace Orchestrator.Grains.Tests;

/// <summary>
/// Creation as the grain carries it on after the create call returned: its progress, the waits that follow it,
/// the calls answered meanwhile, a destroy in the middle of it and a creation resumed by a new activation.
/// Slow Fly calls are the emulator's injected latency, in real time; the grain's own waits are on the fake clock.
/// </summary>
[Collection(FakeTimeCluster.Name)]
public sealed class InstanceCreationTests(FakeTimeClusterFixture fixture) : IDisposable
{
    private static readonly TimeSpan Poll = new InstanceOptions().SettlePollInterval;

    // Waits that must not run out while the machine starts in real time: the clock moves about as fast as real time.
    private static readonly TimeSpan RealPace = TimeSpan.FromMilliseconds(10);

    private readonly string _tenant = $"t-{Guid.NewGuid():N}"[..30];

    private FaultInjection Faults => fixture.Emulator.FaultInjection;

    public void Dispose() => Faults.Clear();

    [Fact]
    public async Task WaitForStateReturnsTheStartedInstanceOnceItsCreationGotThere()
    {
        var instance = Instance("waited");
        var accepted = await instance.CreateAsync(Spec("waited"), "req-1");

        var started = await Eventually.DriveAsync(fixture.Clock, RealPace, instance.WaitForStateAsync(InstanceStates.Started, TimeSpan.FromSeconds(25)), "the wait for started");

        Assert.Equal(InstanceStates.Creating, accepted.ObservedState);
        Assert.Equal(InstanceStates.Started, started.ObservedState);
        Assert.NotNull(started.MachineId);
        Assert.Equal(
            [InstanceEventKinds.Created, InstanceEventKinds.MachineCreated, InstanceEventKinds.Started],
            (await instance.GetEventsAsync(0, 100)).Items.Select(e => e.Kind).Where(k => k is InstanceEventKinds.Created or InstanceEventKinds.MachineCreated or InstanceEventKinds.Started).ToList());
        await instance.DestroyAsync();
    }

    [Fact]
    public async Task AWaitThatRunsOutReturnsTheInstanceAsItIsThen()
    {
        var instance = Instance("patient");
        // Held in Fly (real time) for longer than the wait lasts on the fake clock.
        var slow = Faults.Add(FaultRule.Slow("Machines_create", TimeSpan.FromSeconds(3)));
        await instance.CreateAsync(Spec("patient"), "req-1");
        await Eventually.UntilAsync(() => Task.FromResult(Fired(slow)), n => n >= 1, "the machine create to reach Fly");

        var waited = await Eventually.DriveAsync(fixture.Clock, Poll, instance.WaitForStateAsync(InstanceStates.Started, TimeSpan.FromSeconds(2)), "the wait to run out");

        Assert.Equal(InstanceStates.Creating, waited.ObservedState);
        Assert.Empty(await LiveMachineIdsAsync("patient"));
        Faults.Clear();
        await instance.DestroyAsync();
        Assert.Empty(await LiveMachineIdsAsync("patient"));
    }

    [Fact]
    public async Task AMachineThatFailsToStartEndsFailedWithItsReasonInLastError()
    {
        var instance = Instance("doomed");
        Faults.AddStartFault(new StartFault("doomed", "the image's init could not mount /proc") { ExitCode = 3 });
        await instance.CreateAsync(Spec("doomed"), "req-1");

        var failed = await Eventually.DriveAsync(fixture.Clock, RealPace, instance.WaitForStateAsync(InstanceStates.Started, TimeSpan.FromSeconds(25)), "the wait for started");

        Assert.Equal(InstanceStates.Failed, failed.ObservedState);
        Assert.NotNull(failed.MachineId);
        Assert.Equal(InstanceErrorCodes.MachineStartFailed, failed.Error?.Code);
        Assert.Contains("the image's init could not mount /proc", failed.LastError, StringComparison.Ordinal);
        Assert.Contains(InstanceEventKinds.Failed, (await instance.GetEventsAsync(0, 100)).Items.Select(e => e.Kind));
        await instance.DestroyAsync();
    }

    [Fact]
    public async Task ReadsEventsExecAccessAndOtherCallsAreAnsweredWhileTheMachineCreateIsHeldInFly()
    {
        var instance = Instance("slow");
        var slow = Faults.Add(FaultRule.Slow("Machines_create", TimeSpan.FromSeconds(3)));
        await instance.CreateAsync(Spec("slow"), "req-1");
        await Eventually.UntilAsync(() => Task.FromResult(Fired(slow)), n => n >= 1, "the machine create to reach Fly");

        var read = await instance.GetAsync();
        var events = await instance.GetEventsAsync(0, 100);
        var exec = await Assert.ThrowsAsync<InstanceConflictException>(() => fixture.Client.GetGrain<IInstanceSshAccessGrain>(Key("slow")).GetSshAccessAsync());
        var start = await Assert.ThrowsAsync<InstanceConflictException>(() => instance.StartAsync());
        var repeated = await instance.CreateAsync(Spec("slow"), "req-1");

        // All answered while the create was still held: no machine exists yet.
        Assert.Empty(await LiveMachineIdsAsync("slow"));
        Assert.Equal(InstanceStates.Creating, read!.ObservedState);
        Assert.Equal(InstanceStates.Creating, repeated.ObservedState);
        Assert.Equal([InstanceEventKinds.Created], events.Items.Select(e => e.Kind));
        Assert.Contains("being created", exec.Message, StringComparison.Ordinal);
        Assert.Contains("being created", start.Message, StringComparison.Ordinal);
        var started = await Eventually.DriveAsync(fixture.Clock, Poll, () => instance.GetAsync(), s => s!.ObservedState == InstanceStates.Started, "the instance to be started");
        Assert.Single(await LiveMachineIdsAsync("slow"), started!.MachineId!);
        await instance.DestroyAsync();
    }

    [Fact]
    public async Task ADestroyDuringTheMachineCreateRemovesTheMachineThatCreateMade()
    {
        var instance = Instance("gone");
        var slow = Faults.Add(FaultRule.Slow("Machines_create", TimeSpan.FromSeconds(2)));
        await instance.CreateAsync(Spec("gone"), "req-1");
        await Eventually.UntilAsync(() => Task.FromResult(Fired(slow)), n => n >= 1, "the machine create to reach Fly");

        // The clock stands still: the destroy lets the create in flight finish, then removes what it made.
        var destroyed = await instance.DestroyAsync();

        Assert.Equal(InstanceStates.Destroyed, destroyed.ObservedState);
        Assert.NotNull(destroyed.MachineId);
        Assert.Empty(await LiveMachineIdsAsync("gone"));
        Assert.Equal(InstanceStates.Destroyed, (await instance.WaitForStateAsync(InstanceStates.Started, TimeSpan.FromSeconds(25))).ObservedState);
        // The creation does not come back to life.
        await Eventually.DriveAsync(fixture.Clock, Poll, Task.Delay(TimeSpan.FromSeconds(2), fixture.Clock).ContinueWith(_ => true, TaskScheduler.Default), "a few creation ticks");
        Assert.Empty(await LiveMachineIdsAsync("gone"));
        Assert.Equal(InstanceStates.Destroyed, (await instance.GetAsync())!.ObservedState);
    }

    [Fact]
    public async Task ADestroyThatCannotWaitForTheMachineCreateCancelsItAndNoMachineIsLeft()
    {
        var instance = Instance("cut");
        var slow = Faults.Add(FaultRule.Slow("Machines_create", TimeSpan.FromSeconds(30)));
        await instance.CreateAsync(Spec("cut"), "req-1");
        await Eventually.UntilAsync(() => Task.FromResult(Fired(slow)), n => n >= 1, "the machine create to reach Fly");

        // The clock moves past the destroy's bounded wait for the step: the create is cancelled, then looked for.
        var destroyed = await Eventually.DriveAsync(fixture.Clock, Poll, instance.DestroyAsync(), "the destroy");

        Assert.Equal(InstanceStates.Destroyed, destroyed.ObservedState);
        Assert.Empty(await LiveMachineIdsAsync("cut"));
    }

    [Fact]
    public async Task ACreationResumedByANewActivationAdoptsTheMachineAnUnansweredCreateMadeAndMakesNoSecond()
    {
        var instance = Instance("resumed");
        var slow = Faults.Add(FaultRule.Slow("Machines_create", TimeSpan.FromSeconds(30)));
        await instance.CreateAsync(Spec("resumed"), "req-1");
        await Eventually.UntilAsync(() => Task.FromResult(Fired(slow)), n => n >= 1, "the machine create to reach Fly");

        // The silo goes away with the create in flight, and Fly made the machine all the same (its answer was lost):
        // the machine carries the creation's client token, as Fly keeps it in the machine's metadata.
        await instance.AsReference<Orleans.Core.Internal.IGrainManagementExtension>().DeactivateOnIdle();
        Faults.Clear();
        var made = await fixture.Fly.Provider.CreateMachineAsync(FlyClientHost.AppName, new CreateMachineRequest
        {
            Name = "resumed-made-by-fly",
            Region = "ams",
            Config = new FlyMachineConfig
            {
                Image = new InstanceOptions().DefaultImage,
                Guest = new FlyGuest { CpuKind = "shared", Cpus = 1, MemoryMb = 256 },
                Metadata = new Dictionary<string, string> { ["orchestrator_tenant"] = _tenant, ["orchestrator_instance"] = "resumed" },
            },
        }, ClientToken("resumed", "req-1"));
        var started = await Eventually.DriveAsync(fixture.Clock, Poll, () => instance.GetAsync(), s => s!.ObservedState == InstanceStates.Started, "the resumed creation to start");

        Assert.Equal(made.Id, started!.MachineId);
        Assert.Equal([made.Id!], await LiveMachineIdsAsync("resumed"));
        await instance.DestroyAsync();
        Assert.Empty(await LiveMachineIdsAsync("resumed"));
    }

    private int Fired(string rule) => Faults.Rules.Single(r => r.Id == rule).Fired;

    /// <summary>The client token the instance's machine create carries: derived from tenant, instance and the create's request id.</summary>
    private string ClientToken(string name, string requestId) =>
        Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes($"{_tenant}/{name}/{requestId}")))[..32];

    private string Key(string name) => InstanceKey.Format(_tenant, name);

    private IInstanceGrain Instance(string name) => fixture.Client.GetGrain<IInstanceGrain>(Key(name));

    private static InstanceSpec Spec(string name) => new(name, "ams", new InstanceSize("shared-cpu-1x"));

    /// <summary>This test's machines of the instance <paramref name="name"/> that are not being destroyed, by their metadata.</summary>
    private async Task<List<string>> LiveMachineIdsAsync(string name) =>
        [.. (await fixture.Fly.Provider.ListMachinesAsync(FlyClientHost.AppName))
            .Where(m => m.State is not (FlyMachineStates.Destroyed or FlyMachineStates.Destroying)
                && m.Config?.Metadata?.GetValueOrDefault("orchestrator_tenant") == _tenant
                && m.Config?.Metadata?.GetValueOrDefault("orchestrator_instance") == name)
            .Select(m => m.Id!)
            .Order(StringComparer.Ordinal)];
}
