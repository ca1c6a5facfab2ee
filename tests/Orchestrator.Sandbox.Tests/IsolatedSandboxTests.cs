using System.Runtime.Versioning;
using System.Text;
using System.Text.RegularExpressions;

namespace Orchestrator.Sandbox.Tests;

/// <summary>What a machine looks like from the inside, with bubblewrap (forced on, so a broken bwrap fails here rather than falling back).</summary>
[SupportedOSPlatform("linux")]
public sealed class IsolatedSandboxTests(SandboxFixture fixture) : IClassFixture<SandboxFixture>, IAsyncLifetime
{
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromSeconds(30));
    private MachineSandboxes _sandboxes = null!;

    private CancellationToken Timeout => _timeout.Token;

    public Task InitializeAsync()
    {
        _sandboxes = SandboxFixture.CreateManager(fixture.NewDataDirectory(), useBubblewrap: true);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _sandboxes.DisposeAsync();
        _timeout.Dispose();
    }

    [Fact]
    public async Task RootLogsInOverSshAndRunsCommands()
    {
        var machineId = SandboxFixture.NewMachineId();
        var machine = await _sandboxes.StartAsync(fixture.Spec(machineId), Timeout);

        var uname = await fixture.RunAsync(machine, "uname -a", Timeout);
        var id = await fixture.RunAsync(machine, "id -u", Timeout);
        var hostname = await fixture.RunAsync(machine, "hostname", Timeout);

        Assert.True(machine.Isolated);
        Assert.True(machine.IsRunning);
        Assert.NotNull(machine.ProcessId);
        Assert.Equal(2222, machine.SshPort);
        Assert.Equal(0, uname.ExitStatus);
        Assert.StartsWith("Linux ", uname.Output, StringComparison.Ordinal);
        Assert.Equal("0\n", id.Output);
        Assert.Equal(machineId + "\n", hostname.Output);
    }

    [Fact]
    public async Task SpecEnvironmentReachesCommandsAndLoginShells()
    {
        const string tricky = "a \"quoted\" 'single' $HOME \\back\\ # not a comment %h\tend";
        var environment = new Dictionary<string, string> { ["FOO"] = "bar baz", ["TRICKY"] = tricky, ["DASHED-NAME"] = "ok" };
        var machine = await _sandboxes.StartAsync(fixture.Spec(SandboxFixture.NewMachineId(), environment), Timeout);

        var plain = await fixture.RunAsync(machine, "echo \"$FOO\"", Timeout);
        var exact = await fixture.RunAsync(machine, "printenv TRICKY; printenv DASHED-NAME", Timeout);
        var login = await fixture.RunAsync(machine, "bash -lc 'echo \"$FOO\"'", Timeout);
        var detached = await fixture.RunAsync(machine, "nohup sh -c 'echo \"$FOO\" > /tmp/env-probe' >/dev/null 2>&1 & wait; cat /tmp/env-probe", Timeout);

        Assert.Equal("bar baz\n", plain.Output);
        Assert.Equal(tricky + "\nok\n", exact.Output);
        Assert.Equal("bar baz\n", login.Output);
        Assert.Equal("bar baz\n", detached.Output);
    }

    [Fact]
    public async Task SpecFilesLandInTheRootDirectoryWithTheirModes()
    {
        var content = "{\"answer\": 42}\n";
        var machine = await _sandboxes.StartAsync(
            fixture.Spec(SandboxFixture.NewMachineId(), files: [new SandboxFile("/opt/app/./config.json", Encoding.UTF8.GetBytes(content), Convert.ToInt32("640", 8))]),
            Timeout);

        var inside = await fixture.RunAsync(machine, "cat /opt/app/config.json; stat -c %a /opt/app/config.json /root/.ssh /root/.ssh/authorized_keys", Timeout);

        var onHost = Path.Combine(machine.RootDirectory, "opt", "app", "config.json");
        Assert.Equal(content, await File.ReadAllTextAsync(onHost, Timeout));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead, File.GetUnixFileMode(onHost));
        Assert.Equal(content + "640\n700\n600\n", inside.Output);
    }

    [Fact]
    public async Task WritesStayInTheMachineAndSlashIsItsRoot()
    {
        var probe = "probe-" + Guid.NewGuid().ToString("N");
        var machine = await _sandboxes.StartAsync(fixture.Spec(SandboxFixture.NewMachineId()), Timeout);

        var write = await fixture.RunAsync(machine, $"echo inside > /root/{probe} && touch /tmp/{probe} && cd && touch relative-{probe}", Timeout);
        var listing = await fixture.RunAsync(machine, "ls -A /", Timeout);
        var etcWrite = await fixture.RunAsync(machine, $"touch /etc/{probe}", Timeout);

        Assert.Equal(0, write.ExitStatus);
        Assert.False(File.Exists("/root/" + probe), "the write reached the host's /root");
        Assert.False(File.Exists("/tmp/" + probe), "the write reached the host's /tmp");
        Assert.Equal("inside\n", await File.ReadAllTextAsync(Path.Combine(machine.RootDirectory, "root", probe), Timeout));
        Assert.True(File.Exists(Path.Combine(machine.RootDirectory, "tmp", probe)));
        Assert.True(File.Exists(Path.Combine(machine.RootDirectory, "root", "relative-" + probe)));
        var expected = Directory.EnumerateFileSystemEntries(machine.RootDirectory).Select(Path.GetFileName).Order(StringComparer.Ordinal);
        Assert.Equal(expected, listing.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal));
        Assert.NotEqual(0, etcWrite.ExitStatus);
        Assert.False(File.Exists("/etc/" + probe));
    }

    [Fact]
    public async Task MachineRootCannotMountItsWayOut()
    {
        var machine = await _sandboxes.StartAsync(fixture.Spec(SandboxFixture.NewMachineId()), Timeout);

        var mount = await fixture.RunAsync(machine, "mkdir -p /mnt/probe && mount -t tmpfs probe /mnt/probe", Timeout);
        var chown = await fixture.RunAsync(machine, "touch /tmp/owned && chown nobody /tmp/owned && stat -c %U /tmp/owned", Timeout);

        Assert.NotEqual(0, mount.ExitStatus);
        // Ordinary root work still works: the capabilities were trimmed, not dropped.
        Assert.Equal("nobody\n", chown.Output);
    }

    [Fact]
    public async Task VolumeKeepsItsDataAcrossStopAndStart()
    {
        var volume = fixture.NewVolume();
        var spec = fixture.Spec(SandboxFixture.NewMachineId(), mounts: [new SandboxMount(volume, "/data")]);
        var machine = await _sandboxes.StartAsync(spec, Timeout);

        var write = await fixture.RunAsync(machine, "echo kept > /data/x", Timeout);
        await machine.StopAsync(Timeout);
        var hostCopy = await File.ReadAllTextAsync(Path.Combine(volume, "x"), Timeout);
        var restarted = await _sandboxes.StartAsync(spec, Timeout);
        var read = await fixture.RunAsync(restarted, "cat /data/x", Timeout);

        Assert.Equal(0, write.ExitStatus);
        Assert.Equal("kept\n", hostCopy);
        Assert.False(File.Exists(Path.Combine(machine.RootDirectory, "data", "x")), "the write went to the root, not the volume");
        Assert.False(File.Exists("/data/x") && File.ReadAllText("/data/x") == "kept\n", "the write reached the host's /data");
        Assert.Equal("kept\n", read.Output);
    }

    [Fact]
    public async Task SpecFileBelowAVolumeIsWrittenIntoTheVolume()
    {
        var volume = fixture.NewVolume();
        var machine = await _sandboxes.StartAsync(
            fixture.Spec(SandboxFixture.NewMachineId(), files: [new SandboxFile("/data/conf/app.ini", "k=v\n"u8.ToArray())], mounts: [new SandboxMount(volume, "/data")]),
            Timeout);

        var read = await fixture.RunAsync(machine, "cat /data/conf/app.ini", Timeout);

        Assert.Equal("k=v\n", await File.ReadAllTextAsync(Path.Combine(volume, "conf", "app.ini"), Timeout));
        Assert.Equal("k=v\n", read.Output);
    }

    [Fact]
    public async Task InteractiveShellGetsATerminalAndTheEnvironment()
    {
        var machine = await _sandboxes.StartAsync(fixture.Spec(SandboxFixture.NewMachineId(), new Dictionary<string, string> { ["FOO"] = "bar" }), Timeout);
        using var client = fixture.Connect(machine);
        await client.ConnectAsync(Timeout);
        using var shell = client.CreateShellStream("xterm", 120, 24, 0, 0, 4096);

        // The terminal echoes the typed line with $FOO unexpanded; only the shell's output says "env-bar-end".
        shell.WriteLine("echo \"env-$FOO-end\"; tty");
        var output = await Task.Run(() => shell.Expect(new Regex(@"/dev/pts/\d+"), TimeSpan.FromSeconds(10)), Timeout);

        Assert.NotNull(output);
        Assert.Contains("env-bar-end", output, StringComparison.Ordinal);
        Assert.DoesNotContain("lastlog", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SftpUploadsLandInTheMachineRoot()
    {
        var machine = await _sandboxes.StartAsync(fixture.Spec(SandboxFixture.NewMachineId()), Timeout);
        using var sftp = fixture.ConnectSftp(machine);
        await sftp.ConnectAsync(Timeout);

        using (var upload = new MemoryStream("uploaded\n"u8.ToArray()))
        {
            await sftp.UploadFileAsync(upload, "/root/uploaded.txt", Timeout);
        }

        Assert.Equal("uploaded\n", await File.ReadAllTextAsync(Path.Combine(machine.RootDirectory, "root", "uploaded.txt"), Timeout));
        Assert.False(File.Exists("/root/uploaded.txt"));
    }

    [Fact]
    public async Task StartFailureCarriesSshdOutput()
    {
        var address = SandboxFixture.RandomLoopback();
        await _sandboxes.StartAsync(fixture.Spec(SandboxFixture.NewMachineId(), address: address), Timeout);

        var clash = await Assert.ThrowsAsync<InvalidOperationException>(() => _sandboxes.StartAsync(fixture.Spec(SandboxFixture.NewMachineId(), address: address), Timeout));

        Assert.Contains("Address already in use", clash.Message, StringComparison.Ordinal);
    }
}
