using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.Versioning;
using Renci.SshNet.Common;

namespace Orchestrator.Sandbox.Tests;

/// <summary>Stop, restart, destroy and dispose with bubblewrap: nothing of a machine may outlive them.</summary>
[SupportedOSPlatform("linux")]
public sealed class IsolatedLifecycleTests(SandboxFixture fixture) : IClassFixture<SandboxFixture>, IAsyncLifetime
{
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromSeconds(30));
    private MachineSandboxes _sandboxes = null!;

    private CancellationToken Timeout => _timeout.Token;

    public Task InitializeAsync()
    {
        // Auto-detection: on this host it must pick bubblewrap (asserted below through Isolated).
        _sandboxes = SandboxFixture.CreateManager(fixture.NewDataDirectory(), useBubblewrap: null);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _sandboxes.DisposeAsync();
        _timeout.Dispose();
    }

    [Fact]
    public async Task StopKillsEveryProcessOfTheMachineIncludingDetachedCommands()
    {
        var sleep = SandboxFixture.UniqueSleep();
        var machine = await _sandboxes.StartAsync(fixture.Spec(SandboxFixture.NewMachineId()), Timeout);
        using var session = fixture.Connect(machine);
        await session.ConnectAsync(Timeout);
        using (var detach = session.CreateCommand($"nohup sleep {sleep} >/dev/null 2>&1 &"))
        {
            await detach.ExecuteAsync(Timeout);
        }

        var sleepers = await SandboxFixture.WaitForHostProcessesAsync(1, "sleep", sleep);
        var tree = ProcessTable.FindMachineProcesses([ProcessIdentity.TryGet(machine.ProcessId!.Value)!.Value], marker: null);
        await _sandboxes.StopAsync(machine.MachineId, Timeout);

        Assert.True(machine.Isolated);
        Assert.Single(sleepers);
        Assert.Contains(sleepers[0], tree);
        // bwrap, its namespace init, sshd, the live connection's sshd processes and the sleeper.
        Assert.True(tree.Count >= 5, $"expected the whole machine tree, saw {tree.Count} processes");
        Assert.All(tree, process => Assert.False(process.IsRunning(), $"process {process.ProcessId} outlived stop"));
        Assert.Empty(SandboxFixture.HostProcessesRunning("sleep", sleep));
        Assert.False(machine.IsRunning);
        Assert.Null(machine.ProcessId);
        using var probe = new TcpClient();
        var refused = await Assert.ThrowsAsync<SocketException>(() => probe.ConnectAsync(machine.Address, machine.SshPort, Timeout).AsTask());
        Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);
        Assert.True(Directory.Exists(machine.RootDirectory));
    }

    [Fact]
    public async Task HostKeyIsStableAcrossStopAndStartAndPinnedByTheClient()
    {
        var spec = fixture.Spec(SandboxFixture.NewMachineId());
        var first = await _sandboxes.StartAsync(spec, Timeout);
        var firstLogin = await fixture.RunAsync(first, "true", Timeout);
        await first.StopAsync(Timeout);
        var second = await _sandboxes.StartAsync(spec, Timeout);
        var secondLogin = await fixture.RunAsync(second, "true", Timeout);
        var other = await _sandboxes.StartAsync(fixture.Spec(SandboxFixture.NewMachineId()), Timeout);

        Assert.StartsWith("ssh-ed25519 ", first.HostPublicKey, StringComparison.Ordinal);
        Assert.Equal(first.HostPublicKey, second.HostPublicKey);
        Assert.NotEqual(first.HostPublicKey.Split(' ')[1], other.HostPublicKey.Split(' ')[1]);
        Assert.Equal(0, firstLogin.ExitStatus);
        Assert.Equal(0, secondLogin.ExitStatus);
        // The pin is real: a client expecting another machine's key is refused.
        using var impostor = fixture.Connect(second, expectedHostKey: other.HostPublicKey);
        await Assert.ThrowsAsync<SshConnectionException>(() => impostor.ConnectAsync(Timeout));
    }

    [Fact]
    public async Task StartingARunningMachineRestartsItWithTheNewSpec()
    {
        var machineId = SandboxFixture.NewMachineId();
        var first = await _sandboxes.StartAsync(fixture.Spec(machineId, new Dictionary<string, string> { ["GENERATION"] = "1" }), Timeout);
        var firstTree = ProcessTable.FindMachineProcesses([ProcessIdentity.TryGet(first.ProcessId!.Value)!.Value], marker: null);

        var second = await _sandboxes.StartAsync(fixture.Spec(machineId, new Dictionary<string, string> { ["GENERATION"] = "2" }), Timeout);
        var generation = await fixture.RunAsync(second, "echo $GENERATION", Timeout);
        await first.StopAsync(Timeout);

        Assert.False(first.IsRunning);
        Assert.All(firstTree, process => Assert.False(process.IsRunning()));
        Assert.Equal("2\n", generation.Output);
        // The stale handle's stop did not touch its successor.
        Assert.True(second.IsRunning);
    }

    [Fact]
    public async Task DestroyDeletesTheMachineDirectoryButNotItsVolume()
    {
        var volume = fixture.NewVolume();
        var machine = await _sandboxes.StartAsync(fixture.Spec(SandboxFixture.NewMachineId(), mounts: [new SandboxMount(volume, "/data")]), Timeout);
        // A link the machine plants towards the volume must not drag the volume along.
        var write = await fixture.RunAsync(machine, "echo kept > /data/x && ln -s /data /root/data-link", Timeout);
        Assert.True(write.ExitStatus == 0, $"write failed ({write.ExitStatus}): {write.Error} | {string.Join(" / ", machine.RecentOutput)}");
        Assert.True(File.Exists(Path.Combine(volume, "x")), "not written to the volume");
        var machineDirectory = Path.GetDirectoryName(machine.RootDirectory)!;
        Assert.True(machine.Isolated);

        await _sandboxes.DestroyAsync(machine.MachineId, Timeout);

        Assert.False(machine.IsRunning);
        Assert.False(Directory.Exists(machineDirectory));
        Assert.Equal("kept\n", await File.ReadAllTextAsync(Path.Combine(volume, "x"), Timeout));
    }

    [Fact]
    public async Task DisposingTheManagerLeavesNoProcessBehind()
    {
        var sleep = SandboxFixture.UniqueSleep();
        var sandboxes = SandboxFixture.CreateManager(fixture.NewDataDirectory(), useBubblewrap: true);
        List<ProcessIdentity> recorded = [];
        List<MachineSandbox> machines = [];
        for (var i = 0; i < 2; i++)
        {
            var machine = await sandboxes.StartAsync(fixture.Spec(SandboxFixture.NewMachineId()), Timeout);
            await fixture.RunAsync(machine, $"nohup sleep {sleep} >/dev/null 2>&1 &", Timeout);
            machines.Add(machine);
            recorded.AddRange(ProcessTable.FindMachineProcesses([ProcessIdentity.TryGet(machine.ProcessId!.Value)!.Value], marker: null));
        }

        var sleepers = await SandboxFixture.WaitForHostProcessesAsync(2, "sleep", sleep);
        await sandboxes.DisposeAsync();

        Assert.Equal(2, sleepers.Count);
        Assert.Subset(recorded.ToHashSet(), sleepers.ToHashSet());
        Assert.All(recorded, process => Assert.False(process.IsRunning(), $"process {process.ProcessId} outlived dispose"));
        Assert.All(machines, machine => Assert.False(machine.IsRunning));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => sandboxes.StartAsync(fixture.Spec(SandboxFixture.NewMachineId()), Timeout));
    }

    [Fact]
    public async Task NewManagerKillsOnlyRecordedLeftoversOfADeadEmulator()
    {
        var dataDirectory = fixture.NewDataDirectory();
        using var deadOwner = StartSleeper();
        var deadOwnerIdentity = ProcessIdentity.TryGet(deadOwner.Id)!.Value;
        deadOwner.Kill();
        await deadOwner.WaitForExitAsync(Timeout);
        using var leftover = StartSleeper();
        using var bystander = StartSleeper();
        try
        {
            var bystanderIdentity = ProcessIdentity.TryGet(bystander.Id)!.Value;
            PlantRecord(dataDirectory, "crashed", new SandboxRecord(deadOwnerIdentity, ProcessIdentity.TryGet(leftover.Id), Marker: null));
            // Same PID, another start time: the PID was reused by an unrelated process.
            PlantRecord(dataDirectory, "reused", new SandboxRecord(deadOwnerIdentity, bystanderIdentity with { StartTime = bystanderIdentity.StartTime + 1 }, Marker: null));
            // Owned by a live emulator (this process): not a leftover.
            PlantRecord(dataDirectory, "owned", new SandboxRecord(ProcessIdentity.Current(), bystanderIdentity, Marker: null));

            await using (var sandboxes = SandboxFixture.CreateManager(dataDirectory, useBubblewrap: true))
            {
                await sandboxes.StartAsync(fixture.Spec(SandboxFixture.NewMachineId()), Timeout);
            }

            await leftover.WaitForExitAsync(Timeout);
            Assert.False(bystander.HasExited);
            Assert.False(File.Exists(Path.Combine(dataDirectory, "machines", "crashed", "sandbox.identity")));
            Assert.True(Directory.Exists(Path.Combine(dataDirectory, "machines", "crashed")), "a machine's directory outlives its processes");
        }
        finally
        {
            leftover.Kill();
            bystander.Kill();
        }
    }

    private static Process StartSleeper() =>
        Process.Start(new ProcessStartInfo("sleep", "60") { UseShellExecute = false }) ?? throw new InvalidOperationException("Could not start sleep.");

    private static void PlantRecord(string dataDirectory, string machineId, SandboxRecord record)
    {
        var directory = Path.Combine(dataDirectory, "machines", machineId);
        Directory.CreateDirectory(directory);
        record.Write(Path.Combine(directory, "sandbox.identity"));
    }
}
