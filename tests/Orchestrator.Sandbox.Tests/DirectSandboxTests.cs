using System.Runtime.Versioning;
using Orchestrator.Testing;

namespace Orchestrator.Sandbox.Tests;

/// <summary>Without bubblewrap (forced off): sshd runs on the host, but logins, environment, files and stop still work.</summary>
[SupportedOSPlatform("linux")]
public sealed class DirectSandboxTests(SandboxFixture fixture) : IClassFixture<SandboxFixture>, IAsyncLifetime
{
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromSeconds(30));
    private readonly LogCapture _logs = new();
    private MachineSandboxes _sandboxes = null!;

    private CancellationToken Timeout => _timeout.Token;

    public Task InitializeAsync()
    {
        _sandboxes = SandboxFixture.CreateManager(fixture.NewDataDirectory(), useBubblewrap: false, _logs);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _sandboxes.DisposeAsync();
        _timeout.Dispose();
    }

    [Fact]
    public async Task RootLogsInWithSpecEnvironmentAndFilesInTheMachineRoot()
    {
        var probe = "probe-" + Guid.NewGuid().ToString("N");
        var machine = await _sandboxes.StartAsync(
            fixture.Spec(
                SandboxFixture.NewMachineId(),
                new Dictionary<string, string> { ["FOO"] = "bar baz", ["HOME"] = "/root" },
                [new SandboxFile("/etc/app.conf", "x=1\n"u8.ToArray())]),
            Timeout);

        var id = await fixture.RunAsync(machine, "id -u", Timeout);
        var environment = await fixture.RunAsync(machine, "echo \"$FOO\"; bash -lc 'echo \"$FOO\"'", Timeout);
        var home = await fixture.RunAsync(machine, $"pwd; touch {probe}; touch ~/home-{probe}", Timeout);
        await _sandboxes.StartAsync(fixture.Spec(SandboxFixture.NewMachineId()), Timeout);

        Assert.False(machine.Isolated);
        Assert.Equal("0\n", id.Output);
        Assert.Equal("bar baz\nbar baz\n", environment.Output);
        var machineHome = Path.Combine(machine.RootDirectory, "root");
        Assert.Equal(machineHome + "\n", home.Output);
        Assert.True(File.Exists(Path.Combine(machineHome, probe)));
        Assert.True(File.Exists(Path.Combine(machineHome, "home-" + probe)));
        Assert.False(File.Exists("/root/" + probe), "a relative write reached the host's /root");
        Assert.Equal("x=1\n", await File.ReadAllTextAsync(Path.Combine(machine.RootDirectory, "etc", "app.conf"), Timeout));
        // Said once, however many machines start.
        var warning = Assert.Single(_logs.Lines, line => line.StartsWith("Warning", StringComparison.Ordinal) && line.Contains("NOT isolated", StringComparison.Ordinal));
        Assert.Contains("apt-get install bubblewrap", warning, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StopKillsSessionsAndCommandsThatLeftSshdsTree()
    {
        var sleep = SandboxFixture.UniqueSleep();
        var machine = await _sandboxes.StartAsync(fixture.Spec(SandboxFixture.NewMachineId()), Timeout);
        using var session = fixture.Connect(machine);
        await session.ConnectAsync(Timeout);
        // setsid takes the sleeper out of sshd's process tree and session: only the marker finds it.
        using (var detach = session.CreateCommand($"setsid nohup sleep {sleep} >/dev/null 2>&1 < /dev/null &"))
        {
            await detach.ExecuteAsync(Timeout);
        }

        var sleepers = await SandboxFixture.WaitForHostProcessesAsync(1, "sleep", sleep);
        var sshd = ProcessIdentity.TryGet(machine.ProcessId!.Value)!.Value;
        var tree = ProcessTable.FindMachineProcesses([sshd], marker: null);
        await machine.StopAsync(Timeout);

        Assert.Single(sleepers);
        Assert.DoesNotContain(sleepers[0], tree);
        Assert.True(tree.Count >= 2, "sshd and the live connection");
        Assert.All(tree, process => Assert.False(process.IsRunning(), $"process {process.ProcessId} outlived stop"));
        Assert.False(sleepers[0].IsRunning(), "the detached sleeper outlived stop");
        Assert.False(machine.IsRunning);
    }

    [Fact]
    public async Task SftpRelativePathsStartInTheMachineHome()
    {
        var machine = await _sandboxes.StartAsync(fixture.Spec(SandboxFixture.NewMachineId()), Timeout);
        using var sftp = fixture.ConnectSftp(machine);
        await sftp.ConnectAsync(Timeout);

        using (var upload = new MemoryStream("uploaded\n"u8.ToArray()))
        {
            await sftp.UploadFileAsync(upload, "uploaded.txt", Timeout);
        }

        Assert.Equal("uploaded\n", await File.ReadAllTextAsync(Path.Combine(machine.RootDirectory, "root", "uploaded.txt"), Timeout));
    }

    [Fact]
    public async Task VolumeIsALinkInTheRootAndSurvivesDestroy()
    {
        var volume = fixture.NewVolume();
        var machine = await _sandboxes.StartAsync(fixture.Spec(SandboxFixture.NewMachineId(), mounts: [new SandboxMount(volume, "/data")]), Timeout);

        var write = await fixture.RunAsync(machine, "echo kept > ../data/x", Timeout);
        await _sandboxes.DestroyAsync(machine.MachineId, Timeout);

        Assert.Equal(0, write.ExitStatus);
        Assert.False(Directory.Exists(machine.RootDirectory));
        Assert.Equal("kept\n", await File.ReadAllTextAsync(Path.Combine(volume, "x"), Timeout));
    }

    [Fact]
    public async Task TheRootIsRebuiltAtEveryStartAndTheVolumeLinkedAgain()
    {
        var volume = fixture.NewVolume();
        var spec = fixture.Spec(SandboxFixture.NewMachineId(), mounts: [new SandboxMount(volume, "/data")]);
        var machine = await _sandboxes.StartAsync(spec, Timeout);
        var write = await fixture.RunAsync(machine, "echo gone > note && echo kept > ../data/x", Timeout);
        await machine.StopAsync(Timeout);

        var restarted = await _sandboxes.StartAsync(spec, Timeout);
        var read = await fixture.RunAsync(restarted, "ls note 2>&1; cat ../data/x", Timeout);

        Assert.Equal(0, write.ExitStatus);
        Assert.Contains("No such file", read.Output, StringComparison.Ordinal);
        Assert.EndsWith("kept\n", read.Output, StringComparison.Ordinal);
        Assert.Equal(volume, new DirectoryInfo(Path.Combine(restarted.RootDirectory, "data")).LinkTarget);
        Assert.Equal("kept\n", await File.ReadAllTextAsync(Path.Combine(volume, "x"), Timeout));
    }

    [Fact]
    public async Task SigtermEndsSshdCleanlyAndTheExitIsReported()
    {
        var reported = new TaskCompletionSource<SandboxExit>(TaskCreationOptions.RunContinuationsAsynchronously);
        _sandboxes.MachineExited += (_, e) => reported.TrySetResult(e.Exit);
        var key = await SshServer.GenerateKeyPairAsync("direct-host-key", Timeout);
        var machine = await _sandboxes.StartAsync(
            fixture.Spec(SandboxFixture.NewMachineId(), files: [new SandboxFile(MachineSandboxes.HostKeyGuestPath, System.Text.Encoding.UTF8.GetBytes(key.PrivateKeyPem))]),
            Timeout);
        var scanned = await HostKeyScan.Ed25519Async(machine.Address.ToString(), machine.SshPort, Timeout);

        Assert.Equal(machine.ProcessId, machine.MainProcessId);
        await machine.SignalMainProcessAsync(15, Timeout);
        var exit = await reported.Task.WaitAsync(Timeout);

        Assert.Equal(HostKeyScan.KeyOf(key.PublicKeyLine), scanned);
        Assert.Equal((0, (int?)null), (exit.ExitCode, exit.Signal));
        Assert.Contains(exit.LastOutput, line => line.Contains("Received signal 15", StringComparison.Ordinal));
        Assert.False(machine.IsRunning);
        await Assert.ThrowsAsync<InvalidOperationException>(() => machine.SignalMainProcessAsync(9, Timeout));
    }
}
