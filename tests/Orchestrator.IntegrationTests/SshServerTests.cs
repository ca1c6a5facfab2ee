using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.Versioning;
using System.Security.Cryptography;
using System.Text;
using Orchestrator.Sandbox;
using Orchestrator.Testing;
using Renci.SshNet;
using Renci.SshNet.Common;

namespace Orchestrator.IntegrationTests;

/// <summary>Proves the sshd fixture against a real SSH client, so tests built on it can trust it.</summary>
[SupportedOSPlatform("linux")]
public sealed class SshServerTests(SshServerFixture fixture) : IClassFixture<SshServerFixture>
{
    private static readonly TimeSpan _testTimeout = TimeSpan.FromSeconds(30);

    private SshServer Server => fixture.Server;

    [Fact]
    public async Task FixtureClientKeyFileLogsInAndRunsACommand()
    {
        using var timeout = new CancellationTokenSource(_testTimeout);
        using var key = new PrivateKeyFile(Server.ClientPrivateKeyPath);
        using var client = new SshClient(Server.Host, Server.Port, Server.UserName, key);

        await client.ConnectAsync(timeout.Token);
        using var command = client.CreateCommand("echo hello");
        await command.ExecuteAsync(timeout.Token);

        Assert.Equal("hello\n", command.Result);
        Assert.Equal(0, command.ExitStatus);
    }

    [Fact]
    public async Task FixtureClientKeyTextLogsInAsTheTestUserAndReportsExitStatus()
    {
        using var timeout = new CancellationTokenSource(_testTimeout);
        using var client = Connectable(Server, Server.ClientPrivateKeyPem);

        await client.ConnectAsync(timeout.Token);
        using var whoami = client.CreateCommand("whoami");
        await whoami.ExecuteAsync(timeout.Token);
        using var failing = client.CreateCommand("exit 3");
        await failing.ExecuteAsync(timeout.Token);

        Assert.StartsWith("-----BEGIN OPENSSH PRIVATE KEY-----", Server.ClientPrivateKeyPem, StringComparison.Ordinal);
        Assert.Equal(Server.UserName + "\n", whoami.Result);
        Assert.Equal(3, failing.ExitStatus);
    }

    [Fact]
    public async Task UnauthorizedKeyIsRefusedUntilAuthorized()
    {
        using var timeout = new CancellationTokenSource(_testTimeout);
        var stranger = await SshServer.GenerateKeyPairAsync("stranger", timeout.Token);

        using (var refused = Connectable(Server, stranger.PrivateKeyPem))
        {
            await Assert.ThrowsAsync<SshAuthenticationException>(() => refused.ConnectAsync(timeout.Token));
        }

        // Same key once authorized: proves the refusal above was about authorization, not the key.
        await Server.AuthorizeKeyAsync(stranger.PublicKeyLine, timeout.Token);
        using var accepted = Connectable(Server, stranger.PrivateKeyPem);
        await accepted.ConnectAsync(timeout.Token);
        Assert.True(accepted.IsConnected);
    }

    [Fact]
    public async Task ClientSeesTheFixtureHostKey()
    {
        using var timeout = new CancellationTokenSource(_testTimeout);
        using var client = Connectable(Server, Server.ClientPrivateKeyPem);
        HostKeyEventArgs? seen = null;
        client.HostKeyReceived += (_, e) =>
        {
            seen = e;
            e.CanTrust = true;
        };

        await client.ConnectAsync(timeout.Token);

        var fields = Server.HostPublicKey.Split(' ');
        var expectedFingerprint = Convert.ToBase64String(SHA256.HashData(Convert.FromBase64String(fields[1]))).TrimEnd('=');
        Assert.NotNull(seen);
        Assert.Equal("ssh-ed25519", fields[0]);
        Assert.Equal(fields[0], seen.HostKeyName);
        Assert.Equal(fields[1], Convert.ToBase64String(seen.HostKey));
        Assert.Equal(expectedFingerprint, seen.FingerPrintSHA256);
    }

    [Fact]
    public async Task DisposeKillsSshdWithItsConnectionsAndDeletesItsDirectory()
    {
        using var timeout = new CancellationTokenSource(_testTimeout);
        // DisposeAsync is idempotent: "await using" only matters when an assertion fails early.
        await using var server = await SshServer.StartAsync(cancellationToken: timeout.Token);
        using var client = Connectable(server, server.ClientPrivateKeyPem);
        await client.ConnectAsync(timeout.Token);
        var connectionProcesses = ProcessTable.DescendantsOf(server.ProcessId);
        Assert.NotEmpty(connectionProcesses);
        Assert.True(Directory.Exists(server.DirectoryPath));

        // The client stays connected: its sshd processes must die with the server, not with it.
        await server.DisposeAsync();

        Assert.False(Directory.Exists(server.DirectoryPath));
        Assert.Null(ProcessIdentity.TryGet(server.ProcessId));
        Assert.All(connectionProcesses, process => Assert.False(process.IsRunning(), $"connection process {process} outlived sshd"));
        using var probe = new TcpClient();
        var refused = await Assert.ThrowsAsync<SocketException>(() => probe.ConnectAsync(server.Host, server.Port, timeout.Token).AsTask());
        Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);
    }

    [Fact]
    public async Task ListensOnTheChosenLoopbackAddressWithTheChosenSessionLimit()
    {
        using var timeout = new CancellationTokenSource(_testTimeout);
        await using var server = await SshServer.StartAsync(new SshServerOptions { ListenAddress = "127.0.0.2", MaxSessions = 1 }, timeout.Token);
        using var client = Connectable(server, server.ClientPrivateKeyPem);

        await client.ConnectAsync(timeout.Token);
        using var first = client.CreateCommand("sleep 1; echo first");
        var firstRun = first.ExecuteAsync(timeout.Token);
        using var second = client.CreateCommand("echo second");
        await Assert.ThrowsAnyAsync<SshException>(() => second.ExecuteAsync(timeout.Token));
        await firstRun;

        Assert.Equal("127.0.0.2", server.Host);
        Assert.Equal("first\n", first.Result);
        using var elsewhere = new TcpClient();
        await Assert.ThrowsAsync<SocketException>(() => elsewhere.ConnectAsync("127.0.0.1", server.Port, timeout.Token).AsTask());
    }

    [Fact]
    public async Task StartReapsLeftoversOfDeadTestProcessesAndKillsOnlyWhatTheyRecorded()
    {
        using var timeout = new CancellationTokenSource(_testTimeout);
        var baseDirectory = Path.Combine(SshServerFiles.DefaultBaseDirectory(), "reap-test-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(baseDirectory, SshServerFiles.SharedDirectoryMode);
        using var deadOwner = StartSleeper();
        var deadOwnerIdentity = Identity(deadOwner);
        deadOwner.Kill();
        await deadOwner.WaitForExitAsync(timeout.Token);
        using var orphanedSshd = StartSleeper();
        using var bystander = StartSleeper();
        try
        {
            var stale = CreateServerDirectory(baseDirectory, deadOwnerIdentity, Identity(orphanedSshd));
            // The recorded PID now names another process (a different start time): never kill it.
            var reused = CreateServerDirectory(baseDirectory, deadOwnerIdentity, Identity(bystander) with { StartTime = Identity(bystander).StartTime + 1 });
            var live = CreateServerDirectory(baseDirectory, ProcessIdentity.Current(), Identity(bystander));

            await using (await SshServer.StartAsync(new SshServerOptions { BaseDirectory = baseDirectory }, timeout.Token))
            {
            }

            await orphanedSshd.WaitForExitAsync(timeout.Token);
            Assert.False(Directory.Exists(stale));
            Assert.False(Directory.Exists(reused));
            Assert.True(Directory.Exists(live));
            Assert.False(bystander.HasExited);
        }
        finally
        {
            orphanedSshd.Kill();
            bystander.Kill();
            Directory.Delete(baseDirectory, recursive: true);
        }
    }

    [Fact]
    public async Task RejectsANonLoopbackListenAddress()
    {
        var error = await Assert.ThrowsAsync<ArgumentException>(() => SshServer.StartAsync(new SshServerOptions { ListenAddress = "0.0.0.0" }));

        Assert.Contains("loopback", error.Message, StringComparison.Ordinal);
    }

    private static SshClient Connectable(SshServer server, string privateKeyPem)
    {
        // PrivateKeyFile copies what it needs, so the stream may go right away.
        using var pem = new MemoryStream(Encoding.UTF8.GetBytes(privateKeyPem));
        return new SshClient(server.Host, server.Port, server.UserName, new PrivateKeyFile(pem));
    }

    private static Process StartSleeper() =>
        Process.Start(new ProcessStartInfo("sleep", "60") { UseShellExecute = false })
        ?? throw new InvalidOperationException("Could not start sleep.");

    private static ProcessIdentity Identity(Process process) =>
        ProcessIdentity.TryGet(process.Id) ?? throw new InvalidOperationException($"Process {process.Id} is gone.");

    private static string CreateServerDirectory(string baseDirectory, ProcessIdentity owner, ProcessIdentity sshd)
    {
        var directory = Path.Combine(baseDirectory, SshServerFiles.DirectoryPrefix + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, SshServerFiles.Owner), owner.ToString());
        File.WriteAllText(Path.Combine(directory, SshServerFiles.SshdProcess), sshd.ToString());
        return directory;
    }
}
