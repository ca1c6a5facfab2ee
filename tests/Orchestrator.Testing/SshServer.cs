using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Runtime.Versioning;
using System.Text.RegularExpressions;
using Orchestrator.Sandbox;

// The self-tests plant fake leftovers to prove the reaper kills only what it recorded.
[assembly: InternalsVisibleTo("Orchestrator.IntegrationTests")]

namespace Orchestrator.Testing;

/// <summary>Settings for <see cref="SshServer.StartAsync"/>.</summary>
public sealed class SshServerOptions
{
    /// <summary>Loopback address sshd listens on; any 127.x.y.z works on Linux without extra setup.</summary>
    public string ListenAddress { get; init; } = "127.0.0.1";

    /// <summary>sshd's <c>MaxSessions</c>: sessions (channels) allowed per connection.</summary>
    public int MaxSessions { get; init; } = 10;

    /// <summary>How long sshd gets to accept TCP connections before start fails.</summary>
    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Lines of sshd output kept for diagnostics; older lines are dropped.</summary>
    public int MaxLogLines { get; init; } = 2000;

    /// <summary>
    /// Parent of the per-server directories. Null picks one that sshd's StrictModes accepts
    /// (every directory up to / writable only by its owner): the temp directory when that
    /// qualifies, else /run (root), $XDG_RUNTIME_DIR or ~/.cache.
    /// </summary>
    public string? BaseDirectory { get; init; }
}

/// <summary>An OpenSSH key pair made by ssh-keygen.</summary>
/// <param name="PrivateKeyPem">Private key in OpenSSH format, no passphrase.</param>
/// <param name="PublicKeyLine">Public key as one authorized_keys line.</param>
public sealed record SshKeyPair(string PrivateKeyPem, string PublicKeyLine);

/// <summary>
/// A real OpenSSH server on a loopback port, with its own host key and a client key that it
/// trusts, for tests that need SSH without mocks. Start it with <see cref="StartAsync"/>;
/// disposing kills sshd with every connection it forked and deletes its directory.
/// </summary>
public sealed partial class SshServer : IAsyncDisposable
{
    private const string SshdMissingMessage = "OpenSSH server not found: install it with `apt-get install openssh-server`";
    private const string KeygenMissingMessage = "ssh-keygen not found: install it with `apt-get install openssh-client`";
    private const int MaxStartAttempts = 5;

    private static readonly TimeSpan _stopTimeout = TimeSpan.FromSeconds(10);

    // ssh-keygen and sshd -V finish in milliseconds; a minute means something is wrong.
    private static readonly TimeSpan ToolTimeout = TimeSpan.FromMinutes(1);

    private readonly Process _process;
    private readonly OutputLog _log;
    private readonly string _authorizedKeysPath;
    private readonly SemaphoreSlim _authorizedKeysLock = new(1, 1);
    private int _disposed;

    private SshServer(Process process, OutputLog log, string directoryPath, string host, int port, string clientPrivateKeyPath)
    {
        _process = process;
        _log = log;
        DirectoryPath = directoryPath;
        Host = host;
        Port = port;
        ClientPrivateKeyPath = clientPrivateKeyPath;
        _authorizedKeysPath = Path.Combine(directoryPath, SshServerFiles.AuthorizedKeys);
        ProcessId = process.Id;
        UserName = Environment.UserName;
        ClientPrivateKeyPem = File.ReadAllText(clientPrivateKeyPath);
        ClientPublicKey = File.ReadAllText(clientPrivateKeyPath + ".pub").Trim();
        HostPublicKey = File.ReadAllText(Path.Combine(directoryPath, SshServerFiles.HostKey) + ".pub").Trim();
    }

    /// <summary>Address to connect to (the configured loopback address).</summary>
    public string Host { get; }

    public int Port { get; }

    /// <summary>The only user sshd lets in: the user running the tests.</summary>
    public string UserName { get; }

    /// <summary>File holding the authorized client key, OpenSSH format, mode 0600.</summary>
    public string ClientPrivateKeyPath { get; }

    /// <summary>The authorized client key in OpenSSH format (<c>-----BEGIN OPENSSH PRIVATE KEY-----</c>).</summary>
    public string ClientPrivateKeyPem { get; }

    /// <summary>The authorized client key as an authorized_keys line.</summary>
    public string ClientPublicKey { get; }

    /// <summary>sshd's host key as a <c>.pub</c> line: <c>ssh-ed25519 BASE64 comment</c>.</summary>
    public string HostPublicKey { get; }

    /// <summary>Directory holding this server's keys, config and authorized_keys; deleted on dispose.</summary>
    public string DirectoryPath { get; }

    /// <summary>PID of the listening sshd.</summary>
    public int ProcessId { get; }

    /// <summary>Snapshot of sshd's recent output (LogLevel VERBOSE), oldest first.</summary>
    public IReadOnlyList<string> LogLines => _log.Snapshot();

    /// <summary>Starts sshd and returns once it accepts TCP connections.</summary>
    /// <exception cref="InvalidOperationException">OpenSSH is missing, or sshd exited or did not listen in time (the message carries its output).</exception>
    public static Task<SshServer> StartAsync(SshServerOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new SshServerOptions();
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("SshServer runs sshd the Linux way (/proc, /run/sshd); use a Linux host or container.");
        }

        if (!IPAddress.TryParse(options.ListenAddress, out var address) || !IPAddress.IsLoopback(address))
        {
            throw new ArgumentException($"ListenAddress must be a loopback address such as 127.0.0.2, not '{options.ListenAddress}'.", nameof(options));
        }

        if (options.MaxSessions < 1 || options.MaxLogLines < 1 || options.StartTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentException("MaxSessions, MaxLogLines and StartTimeout must be positive.", nameof(options));
        }

        return StartOnLinuxAsync(options, address, cancellationToken);
    }

    /// <summary>Makes ssh-keygen create an ed25519 key pair without a passphrase, e.g. for a second client.</summary>
    public static async Task<SshKeyPair> GenerateKeyPairAsync(string comment = "orchestrator-test", CancellationToken cancellationToken = default)
    {
        var keygen = ToolLocator.Find("ssh-keygen", "/usr/bin/ssh-keygen") ?? throw new InvalidOperationException(KeygenMissingMessage);
        var directory = Directory.CreateTempSubdirectory("orchestrator-sshkey-");
        try
        {
            var keyPath = Path.Combine(directory.FullName, "id_ed25519");
            await GenerateKeyAsync(keygen, keyPath, comment, cancellationToken).ConfigureAwait(false);
            return new SshKeyPair(
                await File.ReadAllTextAsync(keyPath, cancellationToken).ConfigureAwait(false),
                (await File.ReadAllTextAsync(keyPath + ".pub", cancellationToken).ConfigureAwait(false)).Trim());
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    /// <summary>Adds a key to authorized_keys; sshd reads the file on every login, so it applies at once.</summary>
    public async Task AuthorizeKeyAsync(string publicKeyLine, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(publicKeyLine);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (publicKeyLine.Contains('\n', StringComparison.Ordinal) || publicKeyLine.Contains('\r', StringComparison.Ordinal))
        {
            // One line per key: a newline would smuggle in a second, unreviewed entry.
            throw new ArgumentException("Pass exactly one authorized_keys line.", nameof(publicKeyLine));
        }

        await _authorizedKeysLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await File.AppendAllTextAsync(_authorizedKeysPath, publicKeyLine.Trim() + "\n", cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _authorizedKeysLock.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        // Listed before the kill: once the listener dies its children are re-parented and can no
        // longer be found from it.
        var descendants = ProcessTable.DescendantsOf(_process.Id);
        // sshd forks one child per connection in a new session, so killing the listener's
        // process group would leave live connections behind; walking the tree does not.
        KillTree(_process);
        using (var stop = new CancellationTokenSource(_stopTimeout))
        {
            try
            {
                await _process.WaitForExitAsync(stop.Token).ConfigureAwait(false);
                // SIGKILL lands asynchronously and these are not our children, so nothing signals
                // their end: poll, so that callers can count on every connection being gone.
                while (descendants.Any(process => process.IsRunning()))
                {
                    await Task.Delay(10, stop.Token).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException)
            {
                // A descendant that escaped the kill can hold stderr open; the directory must go anyway.
            }
        }

        _process.Dispose();
        _authorizedKeysLock.Dispose();
        SshServerFiles.TryDeleteDirectory(DirectoryPath);
    }

    [SupportedOSPlatform("linux")]
    private static async Task<SshServer> StartOnLinuxAsync(SshServerOptions options, IPAddress address, CancellationToken cancellationToken)
    {
        var sshd = ToolLocator.Find("sshd", "/usr/sbin/sshd") ?? throw new InvalidOperationException(SshdMissingMessage);
        var keygen = ToolLocator.Find("ssh-keygen", "/usr/bin/ssh-keygen") ?? throw new InvalidOperationException(KeygenMissingMessage);
        var isRoot = Environment.IsPrivilegedProcess;
        if (isRoot)
        {
            // Privilege separation chroots into /run/sshd; without systemd nobody else creates it.
            Directory.CreateDirectory("/run/sshd", SshServerFiles.SharedDirectoryMode);
        }

        var baseDirectory = SshServerFiles.PrepareBaseDirectory(options.BaseDirectory);
        SshServerFiles.ReapLeftovers(baseDirectory);

        var directory = Path.Combine(baseDirectory, SshServerFiles.DirectoryPrefix + Guid.NewGuid().ToString("N")[..16]);
        Directory.CreateDirectory(directory, SshServerFiles.PrivateDirectoryMode);
        try
        {
            // Written before sshd exists, so a reaper never sees a server directory without an owner.
            await File.WriteAllTextAsync(Path.Combine(directory, SshServerFiles.Owner), ProcessIdentity.Current().ToString(), cancellationToken).ConfigureAwait(false);

            var hostKeyPath = Path.Combine(directory, SshServerFiles.HostKey);
            var clientKeyPath = Path.Combine(directory, SshServerFiles.ClientKey);
            var authorizedKeysPath = Path.Combine(directory, SshServerFiles.AuthorizedKeys);
            await GenerateKeyAsync(keygen, hostKeyPath, "orchestrator-test-host", cancellationToken).ConfigureAwait(false);
            await GenerateKeyAsync(keygen, clientKeyPath, "orchestrator-test-client", cancellationToken).ConfigureAwait(false);
            var clientPublicKey = (await File.ReadAllTextAsync(clientKeyPath + ".pub", cancellationToken).ConfigureAwait(false)).Trim();
            await File.WriteAllTextAsync(authorizedKeysPath, clientPublicKey + "\n", cancellationToken).ConfigureAwait(false);
            File.SetUnixFileMode(authorizedKeysPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);

            var disablePenalties = await HasPerSourcePenaltiesAsync(sshd, cancellationToken).ConfigureAwait(false);
            var log = new OutputLog(options.MaxLogLines);
            var configPath = Path.Combine(directory, SshServerFiles.Config);
            for (var attempt = 1; ; attempt++)
            {
                var port = LoopbackPort.Free(address);
                var config = BuildConfig(address, port, directory, options.MaxSessions, isRoot, disablePenalties);
                await File.WriteAllTextAsync(configPath, config, cancellationToken).ConfigureAwait(false);

                var (process, outcome) = await LaunchAsync(sshd, configPath, directory, address, port, log, options.StartTimeout, cancellationToken).ConfigureAwait(false);
                if (outcome == LaunchOutcome.Ready)
                {
                    return new SshServer(process, log, directory, address.ToString(), port, clientKeyPath);
                }

                process.Dispose();
                if (outcome == LaunchOutcome.PortTaken && attempt < MaxStartAttempts)
                {
                    // Another process took the port between our probe and sshd's bind: pick another.
                    continue;
                }

                var reason = outcome switch
                {
                    LaunchOutcome.PortTaken => $"every one of {MaxStartAttempts} free ports was taken before sshd could bind it",
                    LaunchOutcome.Exited => "sshd exited during start-up",
                    LaunchOutcome.Refused => $"sshd reported listening, yet {address}:{port} refused a connection",
                    _ => $"sshd did not accept connections on {address}:{port} within {options.StartTimeout.TotalSeconds:0.#} s",
                };
                throw new InvalidOperationException($"Could not start sshd ({sshd}): {reason}. sshd output:{Environment.NewLine}{string.Join(Environment.NewLine, log.Snapshot())}");
            }
        }
        catch
        {
            SshServerFiles.TryDeleteDirectory(directory);
            throw;
        }
    }

    private static async Task<(Process Process, LaunchOutcome Outcome)> LaunchAsync(
        string sshd, string configPath, string directory, IPAddress address, int port, OutputLog log, TimeSpan startTimeout, CancellationToken cancellationToken)
    {
        var listening = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var portTaken = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnLine(object sender, DataReceivedEventArgs e)
        {
            if (e.Data is not { } line)
            {
                return;
            }

            log.Add(line);
            if (line.StartsWith("Server listening on", StringComparison.Ordinal))
            {
                listening.TrySetResult();
            }
            else if (line.Contains("Address already in use", StringComparison.Ordinal))
            {
                portTaken.TrySetResult();
            }
        }

        // -D: stay in the foreground so we own the PID; -e: log to stderr, which we capture.
        var process = new Process
        {
            StartInfo = new ProcessStartInfo(sshd)
            {
                ArgumentList = { "-D", "-e", "-f", configPath },
                UseShellExecute = false,
                RedirectStandardError = true,
                RedirectStandardOutput = true,
            },
        };
        process.ErrorDataReceived += OnLine;
        process.OutputDataReceived += OnLine;
        try
        {
            process.Start();
            if (ProcessIdentity.TryGet(process.Id) is { } identity)
            {
                // No identity means sshd already died; the exit path below reports its output.
                await File.WriteAllTextAsync(Path.Combine(directory, SshServerFiles.SshdProcess), identity.ToString(), cancellationToken).ConfigureAwait(false);
            }

            process.BeginErrorReadLine();
            process.BeginOutputReadLine();

            var exited = process.WaitForExitAsync(CancellationToken.None);
            try
            {
                // The "listening" line proves that our sshd, not a squatter, holds the port; the
                // probe then shows that it accepts connections.
                await Task.WhenAny(listening.Task, exited).WaitAsync(startTimeout, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // Reported as TimedOut below, with sshd's output.
            }

            if (listening.Task.IsCompleted && !exited.IsCompleted)
            {
                using var probeTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                probeTimeout.CancelAfter(startTimeout);
                var accepts = await AcceptsConnectionsAsync(address, port, probeTimeout.Token).ConfigureAwait(false);
                cancellationToken.ThrowIfCancellationRequested();
                if (accepts)
                {
                    return (process, LaunchOutcome.Ready);
                }

                KillTree(process);
                await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
                return (process, LaunchOutcome.Refused);
            }

            if (!exited.IsCompleted)
            {
                KillTree(process);
                await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
                cancellationToken.ThrowIfCancellationRequested();
                return (process, LaunchOutcome.TimedOut);
            }

            // WaitForExitAsync also drains the redirected output, so the port-taken line is in by now.
            await exited.ConfigureAwait(false);
            return (process, portTaken.Task.IsCompleted ? LaunchOutcome.PortTaken : LaunchOutcome.Exited);
        }
        catch
        {
            KillTree(process);
            process.Dispose();
            throw;
        }
    }

    private static async Task<bool> AcceptsConnectionsAsync(IPAddress address, int port, CancellationToken cancellationToken)
    {
        using var client = new TcpClient(address.AddressFamily);
        try
        {
            await client.ConnectAsync(address, port, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private static string BuildConfig(IPAddress address, int port, string directory, int maxSessions, bool isRoot, bool disablePenalties)
    {
        // OpenSSH 9.8+ would shut 127.0.0.1 out for a while after a test's deliberate auth failure.
        var penalties = disablePenalties ? "PerSourcePenalties no" : "";
        // MaxStartups: the default 10:30:100 randomly drops connections that parallel tests open at once.
        // SetEnv SHLVL=1: Debian's bash sources ~/.bashrc for every command sshd runs when it is the
        // first shell level; a developer's rc file (pyenv, nvm) then costs seconds per exec under
        // load, which the tests would measure instead of the server.
        return string.Create(CultureInfo.InvariantCulture, $"""
            # Written by Orchestrator.Testing.SshServer for one test run.
            ListenAddress {address}
            Port {port}
            HostKey {Quote(Path.Combine(directory, SshServerFiles.HostKey))}
            PidFile {Quote(Path.Combine(directory, SshServerFiles.PidFile))}
            AuthorizedKeysFile {Quote(Path.Combine(directory, SshServerFiles.AuthorizedKeys).Replace("%", "%%", StringComparison.Ordinal))}
            UsePAM no
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            PubkeyAuthentication yes
            StrictModes yes
            PermitRootLogin {(isRoot ? "prohibit-password" : "no")}
            LogLevel VERBOSE
            MaxSessions {maxSessions}
            MaxStartups 100
            AllowUsers {Environment.UserName}
            SetEnv SHLVL=1
            {penalties}

            """);
    }

    private static string Quote(string path) => path.Contains('"', StringComparison.Ordinal)
        ? throw new ArgumentException($"sshd_config cannot quote a path containing '\"': {path}", nameof(path))
        : $"\"{path}\"";

    private static async Task<bool> HasPerSourcePenaltiesAsync(string sshd, CancellationToken cancellationToken)
    {
        // sshd has no "ignore unknown option": the directive may only be written where it exists.
        var (_, output) = await RunToolAsync(sshd, ["-V"], cancellationToken).ConfigureAwait(false);
        var match = OpenSshVersion().Match(output);
        return match.Success
            && new Version(
                int.Parse(match.Groups["major"].ValueSpan, CultureInfo.InvariantCulture),
                int.Parse(match.Groups["minor"].ValueSpan, CultureInfo.InvariantCulture)) >= new Version(9, 8);
    }

    private static async Task GenerateKeyAsync(string keygen, string keyPath, string comment, CancellationToken cancellationToken)
    {
        var (exitCode, output) = await RunToolAsync(keygen, ["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", keyPath], cancellationToken).ConfigureAwait(false);
        if (exitCode != 0)
        {
            throw new InvalidOperationException($"ssh-keygen failed with exit code {exitCode} for {keyPath}: {output}");
        }
    }

    private static async Task<(int ExitCode, string Output)> RunToolAsync(string fileName, IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        var result = await ToolProcess.RunAsync(fileName, arguments, ToolTimeout, cancellationToken: cancellationToken).ConfigureAwait(false);
        return (result.ExitCode, result.Output);
    }

    private static void KillTree(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already exited, or never started: nothing to stop.
        }
    }

    [GeneratedRegex(@"OpenSSH_(?<major>\d+)\.(?<minor>\d+)")]
    private static partial Regex OpenSshVersion();

    private enum LaunchOutcome
    {
        Ready,
        PortTaken,
        Exited,
        Refused,
        TimedOut,
    }
}

/// <summary>
/// Layout of the per-server directories and the clean-up of ones whose test process died
/// (its sshd would otherwise live on). Only PIDs recorded by a server are ever killed, and
/// only while the PID still names the same process (same start time).
/// </summary>
internal static class SshServerFiles
{
    internal const string DirectoryPrefix = "sshd-";
    internal const string Owner = "owner.identity";
    internal const string SshdProcess = "sshd.identity";
    internal const string Config = "sshd_config";
    internal const string HostKey = "ssh_host_ed25519_key";
    internal const string ClientKey = "client_ed25519_key";
    internal const string AuthorizedKeys = "authorized_keys";
    internal const string PidFile = "sshd.pid";

    internal const UnixFileMode PrivateDirectoryMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    internal const UnixFileMode SharedDirectoryMode = PrivateDirectoryMode
        | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;

    private const string BaseDirectoryName = "orchestrator-sshd";

    // A directory without an owner file is one being created right now, unless it is this old.
    private static readonly TimeSpan _ownerlessGrace = TimeSpan.FromMinutes(10);

    [SupportedOSPlatform("linux")]
    internal static string DefaultBaseDirectory()
    {
        List<string> roots = [Path.GetTempPath()];
        if (Environment.IsPrivilegedProcess)
        {
            roots.Add("/run");
        }

        if (Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR") is { Length: > 0 } runtimeDirectory)
        {
            roots.Add(runtimeDirectory);
        }

        roots.Add(Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache"));
        foreach (var root in roots)
        {
            if (FindWritableByOthers(root) is null)
            {
                return Path.Combine(Path.GetFullPath(root), BaseDirectoryName);
            }
        }

        throw new InvalidOperationException(
            $"No directory for sshd test files passes sshd's StrictModes (tried {string.Join(", ", roots)}): set SshServerOptions.BaseDirectory.");
    }

    [SupportedOSPlatform("linux")]
    internal static string PrepareBaseDirectory(string? requested)
    {
        var baseDirectory = requested is null ? DefaultBaseDirectory() : Path.GetFullPath(requested);
        Directory.CreateDirectory(baseDirectory, SharedDirectoryMode);
        if (FindWritableByOthers(baseDirectory) is { } offender)
        {
            // Otherwise every login fails later with a bare "Permission denied (publickey)".
            throw new InvalidOperationException(
                $"sshd's StrictModes would reject authorized_keys under {baseDirectory}: {offender} is group- or world-writable. Set SshServerOptions.BaseDirectory elsewhere.");
        }

        return baseDirectory;
    }

    /// <summary>Removes server directories whose test process is gone, first killing the sshd they recorded.</summary>
    [SupportedOSPlatform("linux")]
    internal static void ReapLeftovers(string baseDirectory)
    {
        foreach (var directory in Directory.EnumerateDirectories(baseDirectory, DirectoryPrefix + "*"))
        {
            var owner = ProcessIdentity.TryRead(Path.Combine(directory, Owner));
            if (owner is null)
            {
                if (DateTime.UtcNow - Directory.GetLastWriteTimeUtc(directory) > _ownerlessGrace)
                {
                    TryDeleteDirectory(directory);
                }

                continue;
            }

            if (owner.Value.IsRunning())
            {
                continue;
            }

            if (ProcessIdentity.TryRead(Path.Combine(directory, SshdProcess)) is { } sshd)
            {
                ProcessTable.Kill(sshd, entireProcessTree: true);
            }
            TryDeleteDirectory(directory);
        }
    }

    internal static void TryDeleteDirectory(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
            // Another reaper or a concurrent dispose got there first.
        }
        catch (IOException)
        {
            // Best effort: a leftover directory costs disk space, never a wrong kill.
        }
        catch (UnauthorizedAccessException)
        {
            // Same: owned by someone else, leave it.
        }
    }

    [SupportedOSPlatform("linux")]
    private static string? FindWritableByOthers(string path)
    {
        const UnixFileMode writableByOthers = UnixFileMode.GroupWrite | UnixFileMode.OtherWrite;
        for (var directory = new DirectoryInfo(Path.GetFullPath(path)); directory is not null; directory = directory.Parent)
        {
            // Missing directories are created later with safe modes; a symlink reports 0777 and
            // is rejected, which errs on the safe side.
            if (directory.Exists && (directory.UnixFileMode & writableByOthers) != 0)
            {
                return directory.FullName;
            }
        }

        return null;
    }
}
