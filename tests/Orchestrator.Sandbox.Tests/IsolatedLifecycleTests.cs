using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.Versioning;
using System.Text;
using Orchestrator.Testing;
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
    public async Task InjectedHostKeyIsPresentedAcrossStopAndStartAndPinnedByTheClient()
    {
        var key = await SshServer.GenerateKeyPairAsync("host-key", Timeout);
        // As Fly's files would carry it: no mode, no .pub.
        var spec = fixture.Spec(SandboxFixture.NewMachineId(), files: [new SandboxFile(MachineSandboxes.HostKeyGuestPath, Encoding.UTF8.GetBytes(key.PrivateKeyPem))]);
        var first = await _sandboxes.StartAsync(spec, Timeout);
        var firstLogin = await fixture.RunAsync(first, "true", Timeout);
        var firstScan = await HostKeyScan.Ed25519Async(first.Address.ToString(), first.SshPort, Timeout);
        await first.StopAsync(Timeout);
        var second = await _sandboxes.StartAsync(spec, Timeout);
        var secondLogin = await fixture.RunAsync(second, "true", Timeout);
        var other = await _sandboxes.StartAsync(fixture.Spec(SandboxFixture.NewMachineId()), Timeout);
        var keyFile = Path.Combine(Path.GetDirectoryName(second.RootDirectory)!, "ssh", "ssh_host_ed25519_key");

        Assert.Equal(HostKeyScan.KeyOf(key.PublicKeyLine), HostKeyScan.KeyOf(first.HostPublicKey));
        Assert.Equal(HostKeyScan.KeyOf(key.PublicKeyLine), firstScan);
        Assert.Equal(first.HostPublicKey, second.HostPublicKey);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyFile));
        Assert.False(File.Exists(Path.Combine(second.RootDirectory, "etc", "ssh", "ssh_host_ed25519_key")), "the private key was also left in the root");
        Assert.Equal(0, firstLogin.ExitStatus);
        Assert.Equal(0, secondLogin.ExitStatus);
        // The pin is real: a client expecting another machine's key is refused.
        using var impostor = fixture.Connect(second, expectedHostKey: other.HostPublicKey);
        await Assert.ThrowsAsync<SshConnectionException>(() => impostor.ConnectAsync(Timeout));
    }

    [Fact]
    public async Task WithoutAnInjectedKeyEveryStartHasANewHostKeyUnlessTheRootIsKept()
    {
        var spec = fixture.Spec(SandboxFixture.NewMachineId());
        var first = await _sandboxes.StartAsync(spec, Timeout);
        var second = await _sandboxes.StartAsync(spec, Timeout);
        var scanned = await HostKeyScan.Ed25519Async(second.Address.ToString(), second.SshPort, Timeout);
        var kept = await _sandboxes.StartAsync(spec with { KeepRoot = true }, Timeout);

        Assert.StartsWith("ssh-ed25519 ", first.HostPublicKey, StringComparison.Ordinal);
        Assert.NotEqual(HostKeyScan.KeyOf(first.HostPublicKey), HostKeyScan.KeyOf(second.HostPublicKey));
        Assert.Equal(HostKeyScan.KeyOf(second.HostPublicKey), scanned);
        Assert.Equal(second.HostPublicKey, kept.HostPublicKey);
    }

    [Fact]
    public async Task InjectedPublicKeyThatIsNotThePrivateKeysHalfFailsTheStart()
    {
        var key = await SshServer.GenerateKeyPairAsync("host-key", Timeout);
        var stranger = await SshServer.GenerateKeyPairAsync("stranger", Timeout);
        var spec = fixture.Spec(SandboxFixture.NewMachineId(), files:
        [
            new SandboxFile(MachineSandboxes.HostKeyGuestPath, Encoding.UTF8.GetBytes(key.PrivateKeyPem)),
            new SandboxFile(MachineSandboxes.HostKeyGuestPath + ".pub", Encoding.UTF8.GetBytes(stranger.PublicKeyLine + "\n")),
        ]);
        var garbled = fixture.Spec(SandboxFixture.NewMachineId(), files: [new SandboxFile(MachineSandboxes.HostKeyGuestPath, "not a key"u8.ToArray())]);

        var mismatch = await Assert.ThrowsAsync<InvalidOperationException>(() => _sandboxes.StartAsync(spec, Timeout));
        var unreadable = await Assert.ThrowsAsync<InvalidOperationException>(() => _sandboxes.StartAsync(garbled, Timeout));

        Assert.Contains("is not the public half", mismatch.Message, StringComparison.Ordinal);
        Assert.Contains("is not an OpenSSH private key", unreadable.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheRootIsRebuiltAtEveryStartButVolumesKeepTheirData()
    {
        var volume = fixture.NewVolume();
        var spec = fixture.Spec(SandboxFixture.NewMachineId(), files: [new SandboxFile("/srv/motd", "hi\n"u8.ToArray())], mounts: [new SandboxMount(volume, "/data")]);
        var machine = await _sandboxes.StartAsync(spec, Timeout);
        var write = await fixture.RunAsync(machine, "echo gone > /root/note && echo kept > /data/x && mkdir -p /opt/cache && touch /opt/cache/y", Timeout);
        await machine.StopAsync(Timeout);

        var restarted = await _sandboxes.StartAsync(spec, Timeout);
        var read = await fixture.RunAsync(restarted, "ls /root/note /opt/cache 2>&1; cat /data/x /srv/motd", Timeout);

        Assert.Equal(0, write.ExitStatus);
        Assert.Contains("No such file", read.Output, StringComparison.Ordinal);
        Assert.EndsWith("kept\nhi\n", read.Output, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(restarted.RootDirectory, "root", "note")));
        Assert.Equal("kept\n", await File.ReadAllTextAsync(Path.Combine(volume, "x"), Timeout));
    }

    [Fact]
    public async Task KeepRootKeepsWhatTheMachineWrote()
    {
        var spec = fixture.Spec(SandboxFixture.NewMachineId()) with { KeepRoot = true };
        var machine = await _sandboxes.StartAsync(spec, Timeout);
        await fixture.RunAsync(machine, "echo kept > /root/note", Timeout);
        await machine.StopAsync(Timeout);

        var restarted = await _sandboxes.StartAsync(spec, Timeout);
        var read = await fixture.RunAsync(restarted, "cat /root/note", Timeout);

        Assert.Equal("kept\n", read.Output);
    }

    [Fact]
    public async Task AKilledSshdIsReportedOnceWithItsSignalAndAStopIsNot()
    {
        var exits = new List<SandboxExit>();
        var reported = new TaskCompletionSource<SandboxExit>(TaskCreationOptions.RunContinuationsAsynchronously);
        _sandboxes.MachineExited += (_, e) =>
        {
            lock (exits)
            {
                exits.Add(e.Exit);
            }

            reported.TrySetResult(e.Exit);
        };
        var stopped = await _sandboxes.StartAsync(fixture.Spec(SandboxFixture.NewMachineId()), Timeout);
        await stopped.StopAsync(Timeout);
        var machine = await _sandboxes.StartAsync(fixture.Spec(SandboxFixture.NewMachineId()), Timeout);
        var sshd = machine.MainProcessId!.Value;

        Assert.NotEqual(machine.ProcessId, sshd);
        Assert.Equal("/usr/sbin/sshd", new FileInfo($"/proc/{sshd}/exe").LinkTarget);
        System.Diagnostics.Process.GetProcessById(sshd).Kill();
        var exit = await reported.Task.WaitAsync(Timeout);
        await machine.Exited.WaitAsync(Timeout);

        Assert.Equal((machine.MachineId, 137, (int?)9), (exit.MachineId, exit.ExitCode, exit.Signal));
        Assert.False(machine.IsRunning);
        Assert.Null(machine.MainProcessId);
        lock (exits)
        {
            Assert.Single(exits);
        }

        // What sshd left behind is still the manager's to end; a later start works as usual.
        await _sandboxes.StopAsync(machine.MachineId, Timeout);
        var again = await _sandboxes.StartAsync(fixture.Spec(machine.MachineId), Timeout);
        Assert.Equal(0, (await fixture.RunAsync(again, "true", Timeout)).ExitStatus);
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
