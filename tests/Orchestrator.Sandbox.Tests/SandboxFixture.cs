using System.Globalization;
using System.Net;
using System.Runtime.Versioning;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging;
using Orchestrator.Testing;
using Renci.SshNet;

namespace Orchestrator.Sandbox.Tests;

/// <summary>A scratch directory and an SSH client key shared by one test class; deleted afterwards.</summary>
[SupportedOSPlatform("linux")]
public sealed class SandboxFixture : IAsyncLifetime
{
    private const UnixFileMode Mode0755 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
        | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;

    /// <summary>
    /// Parent of each test's data directory. Under /run when root: without bubblewrap sshd's
    /// StrictModes rejects authorized_keys below a world-writable directory such as /tmp.
    /// </summary>
    public string BaseDirectory { get; private set; } = "";

    public string ClientPrivateKeyPem { get; private set; } = "";

    /// <summary>The client key as an authorized_keys line.</summary>
    public string ClientPublicKey { get; private set; } = "";

    public async Task InitializeAsync()
    {
        var parent = Environment.IsPrivilegedProcess ? "/run/orchestrator-sandbox-tests" : Path.Combine(Path.GetTempPath(), "orchestrator-sandbox-tests");
        BaseDirectory = Path.Combine(parent, Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(parent);
        File.SetUnixFileMode(parent, Mode0755);
        Directory.CreateDirectory(BaseDirectory);
        File.SetUnixFileMode(BaseDirectory, Mode0755);

        var keyPath = Path.Combine(BaseDirectory, "client_ed25519");
        await ToolProcess.RunCheckedAsync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "sandbox-test", "-f", keyPath], TimeSpan.FromSeconds(30));
        ClientPrivateKeyPem = await File.ReadAllTextAsync(keyPath);
        ClientPublicKey = (await File.ReadAllTextAsync(keyPath + ".pub")).Trim();
    }

    public Task DisposeAsync()
    {
        Directory.Delete(BaseDirectory, recursive: true);
        return Task.CompletedTask;
    }

    /// <summary>A fresh data directory for one manager.</summary>
    public string NewDataDirectory()
    {
        var directory = Path.Combine(BaseDirectory, "data-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(directory);
        File.SetUnixFileMode(directory, Mode0755);
        return directory;
    }

    /// <summary>A fresh, empty host directory for a volume.</summary>
    public string NewVolume()
    {
        var directory = Path.Combine(BaseDirectory, "volume-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(directory);
        return directory;
    }

    public static MachineSandboxes CreateManager(string dataDirectory, bool? useBubblewrap, ILoggerProvider? logs = null)
    {
        var logger = logs is null
            ? NullLogger<MachineSandboxes>.Instance
            : new LoggerFactory([logs]).CreateLogger<MachineSandboxes>();
        return new MachineSandboxes(new MachineSandboxOptions { DataDirectory = dataDirectory, UseBubblewrap = useBubblewrap }, logger, TimeProvider.System);
    }

    /// <summary>A spec whose authorized_keys admits this fixture's client key.</summary>
    public SandboxSpec Spec(
        string machineId,
        IReadOnlyDictionary<string, string>? environment = null,
        IReadOnlyList<SandboxFile>? files = null,
        IReadOnlyList<SandboxMount>? mounts = null,
        IPAddress? address = null) =>
        new(
            machineId,
            address ?? RandomLoopback(),
            environment ?? new Dictionary<string, string>(),
            [new SandboxFile("/root/.ssh/authorized_keys", Encoding.UTF8.GetBytes(ClientPublicKey + "\n")), .. files ?? []],
            mounts ?? []);

    /// <summary>Logs in as root (pinning the machine's host key) and runs one command.</summary>
    public async Task<CommandResult> RunAsync(MachineSandbox machine, string command, CancellationToken cancellationToken)
    {
        using var client = Connect(machine);
        await client.ConnectAsync(cancellationToken);
        using var run = client.CreateCommand(command);
        await run.ExecuteAsync(cancellationToken);
        return new CommandResult(run.ExitStatus, run.Result, run.Error);
    }

    /// <summary>An SSH client for root that trusts only <paramref name="expectedHostKey"/>, by default the machine's own host key.</summary>
    public SshClient Connect(MachineSandbox machine, string? expectedHostKey = null) =>
        Pin(new SshClient(machine.Address.ToString(), machine.SshPort, "root", ClientKey()), expectedHostKey ?? machine.HostPublicKey);

    /// <summary>An SFTP client for root that trusts only the machine's host key.</summary>
    public SftpClient ConnectSftp(MachineSandbox machine) =>
        Pin(new SftpClient(machine.Address.ToString(), machine.SshPort, "root", ClientKey()), machine.HostPublicKey);

    private PrivateKeyFile ClientKey()
    {
        // PrivateKeyFile copies what it needs, so the stream may go right away.
        using var pem = new MemoryStream(Encoding.UTF8.GetBytes(ClientPrivateKeyPem));
        return new PrivateKeyFile(pem);
    }

    private static T Pin<T>(T client, string hostPublicKey)
        where T : BaseClient
    {
        var pinned = hostPublicKey.Split(' ');
        client.HostKeyReceived += (_, e) => e.CanTrust = e.HostKeyName == pinned[0] && Convert.ToBase64String(e.HostKey) == pinned[1];
        return client;
    }

    public static string NewMachineId() => "m" + Guid.NewGuid().ToString("N")[..13];

    /// <summary>
    /// An address in 127/8 other than 127.0.x.x, random so that parallel tests (and other
    /// projects' tests on port 2222) do not collide.
    /// </summary>
    public static IPAddress RandomLoopback() =>
        IPAddress.Parse(string.Create(CultureInfo.InvariantCulture, $"127.{Random.Shared.Next(1, 255)}.{Random.Shared.Next(1, 255)}.{Random.Shared.Next(1, 255)}"));

    /// <summary>Live host processes whose command line is exactly <paramref name="arguments"/>, found through /proc.</summary>
    internal static IReadOnlyList<ProcessIdentity> HostProcessesRunning(params string[] arguments)
    {
        var expected = string.Join('\0', arguments) + "\0";
        var found = new List<ProcessIdentity>();
        foreach (var path in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(path), NumberStyles.None, CultureInfo.InvariantCulture, out var processId))
            {
                continue;
            }

            try
            {
                if (File.ReadAllText(Path.Combine(path, "cmdline")) == expected && ProcessIdentity.TryGet(processId) is { } identity && identity.IsRunning())
                {
                    found.Add(identity);
                }
            }
            catch (IOException)
            {
                // Exited while we looked.
            }
        }

        return found;
    }

    /// <summary>Waits (up to 5 s) until <paramref name="count"/> host processes run exactly <paramref name="arguments"/>.</summary>
    internal static async Task<IReadOnlyList<ProcessIdentity>> WaitForHostProcessesAsync(int count, params string[] arguments)
    {
        // A command started with & over SSH returns before its fork has exec'd the program.
        for (var attempt = 0; ; attempt++)
        {
            var found = HostProcessesRunning(arguments);
            if (found.Count >= count || attempt == 250)
            {
                return found;
            }

            await Task.Delay(20);
        }
    }

    /// <summary>A <c>sleep</c> argument unique to one test, so its process can be told apart on the host.</summary>
    public static string UniqueSleep() => string.Create(CultureInfo.InvariantCulture, $"1000.{Random.Shared.Next(100_000, 999_999)}");
}

public sealed record CommandResult(int? ExitStatus, string Output, string Error);
