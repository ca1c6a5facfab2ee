using System.Diagnostics;
using System.Text;
using Orchestrator.Sandbox;
using Orchestrator.Testing;
using Renci.SshNet;

namespace Orchestrator.IntegrationTests;

/// <summary>
/// The machine image's init script and sshd settings (src/Orchestrator.MachineImage) with the host's real
/// sshd: building the image needs Docker, but what runs inside it can be checked here.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class MachineImageInitTests : IAsyncLifetime
{
    private readonly string _directory = Path.Combine("/run", $"orch-image-test-{Guid.NewGuid():N}");
    private Process? _init;

    public Task InitializeAsync()
    {
        Directory.CreateDirectory(_directory);
        File.SetUnixFileMode(_directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        if (_init is { HasExited: false })
        {
            _init.Kill(entireProcessTree: true);
            await _init.WaitForExitAsync();
        }

        _init?.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task InitMakesAHostKeyServesTheWrittenKeyRestartsSshdAndStopsOnTerm()
    {
        var key = await SshServer.GenerateKeyPairAsync("image-test", CancellationToken.None);
        var home = Path.Combine(_directory, "root");
        Directory.CreateDirectory(Path.Combine(home, ".ssh"));
        // As Fly's `files` would leave it: no particular mode.
        await File.WriteAllTextAsync(Path.Combine(home, ".ssh", "authorized_keys"), key.PublicKeyLine + "\n");
        var hostKeys = Path.Combine(_directory, "hostkeys");
        Directory.CreateDirectory(hostKeys);
        var port = LoopbackPort.Free();
        var imageConfig = (await File.ReadAllLinesAsync(Path.Combine(AppContext.BaseDirectory, "MachineImage", "sshd_config")))
            .Where(line => !line.StartsWith("ListenAddress", StringComparison.Ordinal) && !line.StartsWith("Port", StringComparison.Ordinal));
        var config = Path.Combine(_directory, "sshd_config");
        await File.WriteAllLinesAsync(config,
        [
            $"Port {port}",
            "ListenAddress 127.0.0.1",
            $"PidFile {_directory}/sshd.pid",
            $"AuthorizedKeysFile {home}/.ssh/authorized_keys",
            .. imageConfig,
        ]);

        var start = new ProcessStartInfo("sh") { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "MachineImage", "orchestrator-init"));
        start.Environment["ORCH_SSHD_CONFIG"] = config;
        start.Environment["ORCH_HOST_KEY_DIR"] = hostKeys;
        start.Environment["ORCH_SSH_HOME"] = home;
        _init = Process.Start(start)!;
        var stderr = new StringBuilder();
        _init.ErrorDataReceived += (_, e) =>
        {
            lock (stderr)
            {
                stderr.AppendLine(e.Data);
            }
        };
        _init.BeginErrorReadLine();

        await Wait.UntilAsync(() => Task.FromResult(LoopbackPort.Accepts(port)), "the image's sshd to listen");
        var hostKey = (await File.ReadAllTextAsync(Path.Combine(hostKeys, "ssh_host_ed25519_key.pub"))).Split(' ')[1];
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(home, ".ssh", "authorized_keys")));
        Assert.Equal("ok", await RunAsync(port, key.PrivateKeyPem, "echo ok", hostKey));

        // sshd dies: the init starts it again.
        var firstSshd = SshdChildOf(_init.Id);
        Process.GetProcessById(firstSshd).Kill();
        await Wait.UntilAsync(() => Task.FromResult(SshdChildOrZero(_init.Id) is var pid && pid != 0 && pid != firstSshd && LoopbackPort.Accepts(port)), "the init to restart sshd");
        Assert.Equal("again", await RunAsync(port, key.PrivateKeyPem, "echo again", hostKey));
        lock (stderr)
        {
            Assert.Contains("restarting", stderr.ToString(), StringComparison.Ordinal);
        }

        // Fly stops a machine with SIGTERM to its init: sshd goes with it.
        var secondSshd = SshdChildOf(_init.Id);
        using (var kill = Process.Start("kill", ["-TERM", _init.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await _init.WaitForExitAsync(timeout.Token);
        Assert.False(LoopbackPort.Accepts(port));
        Assert.Throws<ArgumentException>(() => Process.GetProcessById(secondSshd));
    }

    private static async Task<string> RunAsync(int port, string privateKeyPem, string command, string expectedHostKey)
    {
        using var pem = new MemoryStream(Encoding.UTF8.GetBytes(privateKeyPem));
        using var ssh = new SshClient("127.0.0.1", port, "root", new PrivateKeyFile(pem));
        string? seen = null;
        ssh.HostKeyReceived += (_, e) => seen = Convert.ToBase64String(e.HostKey);
        await ssh.ConnectAsync(CancellationToken.None);
        using var result = ssh.RunCommand(command);
        Assert.Equal(expectedHostKey, seen);
        return result.Result.TrimEnd();
    }

    private static int SshdChildOf(int parent)
    {
        var pid = SshdChildOrZero(parent);
        Assert.True(pid != 0, "the init has no sshd child");
        return pid;
    }

    private static int SshdChildOrZero(int parent) =>
        ProcessTable.DescendantsOf(parent)
            .Select(p => p.ProcessId)
            .FirstOrDefault(pid => ProcessTable.TryReadStat(pid) is { ParentId: var ppid, State: not 'Z' } && ppid == parent);
}
