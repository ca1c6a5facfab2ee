using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.Versioning;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;

namespace Orchestrator.Sandbox;

/// <summary>
/// Turns Fly machines into local sandboxes: each machine is a root directory under
/// <see cref="MachineSandboxOptions.DataDirectory"/>, a loopback address and a real OpenSSH
/// server, isolated with bubblewrap where it is available. One per emulator; disposing it stops
/// every machine it started. Linux only.
/// </summary>
public sealed partial class MachineSandboxes : IAsyncDisposable
{
    /// <summary>
    /// Where a machine's sshd reads its Ed25519 host key, as in the machine image (<c>HOST_KEY_DIR</c> of
    /// orchestrator-init). A <see cref="SandboxSpec.Files"/> entry here (and optionally at <c>.pub</c>) is the host key.
    /// </summary>
    public const string HostKeyGuestPath = "/etc/ssh/ssh_host_ed25519_key";

    internal const string DefaultSshdPath = "/usr/sbin/sshd";
    internal const string DefaultKeygenPath = "/usr/bin/ssh-keygen";
    internal const string DefaultBubblewrapPath = "/usr/bin/bwrap";
    private const string InstallBubblewrap = "install it with `apt-get install bubblewrap`";

    // Carried by every session without bubblewrap, so that stop finds commands that detached
    // from sshd's process tree (nohup ... &).
    private const string MarkerVariable = "ORCHESTRATOR_SANDBOX";
    private const int OutputCapacity = 200;

    private const UnixFileMode Mode0755 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
        | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;
    private const UnixFileMode Mode0700 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode Mode1777 = Mode0755 | UnixFileMode.GroupWrite | UnixFileMode.OtherWrite | UnixFileMode.StickyBit;
    private const UnixFileMode Mode0644 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
    private const UnixFileMode Mode0600 = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    // ssh-keygen, sshd -V and the bwrap trial finish in milliseconds; a minute means something is wrong.
    private static readonly TimeSpan _toolTimeout = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan _stopTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan _monitorGrace = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan _drainTimeout = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan _pollInterval = TimeSpan.FromMilliseconds(20);

    private readonly MachineSandboxOptions _options;
    private readonly string _dataDirectory;
    private readonly ILogger<MachineSandboxes> _logger;
    private readonly TimeProvider _time;
    private readonly Dictionary<string, MachineSlot> _machines = new(StringComparer.Ordinal);
    private readonly Lock _machinesLock = new();
    private readonly SemaphoreSlim _initializeLock = new(1, 1);
    private HostSetup? _setup;
    private int _disposed;

    public MachineSandboxes(MachineSandboxOptions options, ILogger<MachineSandboxes> logger, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);
        ArgumentNullException.ThrowIfNull(time);
        if (string.IsNullOrWhiteSpace(options.DataDirectory))
        {
            throw new ArgumentException("MachineSandboxOptions.DataDirectory is required: the directory where machine roots live.", nameof(options));
        }

        if (options.SshPort is < 1 or > 65535)
        {
            throw new ArgumentException($"MachineSandboxOptions.SshPort must be a TCP port (1-65535), not {options.SshPort}.", nameof(options));
        }

        if (options.StartTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentException("MachineSandboxOptions.StartTimeout must be positive.", nameof(options));
        }

        _options = options;
        _dataDirectory = Path.GetFullPath(options.DataDirectory);
        _logger = logger;
        _time = time;
    }

    /// <summary>
    /// Starts the machine: recreates its root directory empty (unless <see cref="SandboxSpec.KeepRoot"/>),
    /// writes <see cref="SandboxSpec.Files"/> into it, sets up its host key (see <see cref="HostKeyGuestPath"/>)
    /// and starts its sshd at
    /// <see cref="SandboxSpec.Address"/>:<see cref="MachineSandboxOptions.SshPort"/>. Returns once
    /// the port accepts TCP connections. A machine that is already running is stopped first, so
    /// that the new spec takes effect.
    /// </summary>
    /// <exception cref="ArgumentException">The spec is invalid (e.g. a file path escaping the root with <c>..</c>).</exception>
    /// <exception cref="PlatformNotSupportedException">Not Linux.</exception>
    /// <exception cref="InvalidOperationException">OpenSSH is missing, or sshd did not come up (the message carries its output).</exception>
    public async Task<MachineSandbox> StartAsync(SandboxSpec spec, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("Machine sandboxes need Linux (OpenSSH server, /proc, and bubblewrap for isolation).");
        }

        var mounts = ValidateSpec(spec);
        var setup = await SetUpAsync(cancellationToken).ConfigureAwait(false);

        var slot = GetSlot(spec.MachineId);
        await slot.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(IsDisposed, this);
            await StopCurrentAsync(slot, only: null).ConfigureAwait(false);
            var sandbox = await LaunchAsync(spec, mounts, setup, cancellationToken).ConfigureAwait(false);
            slot.Current = sandbox;
            return sandbox;
        }
        finally
        {
            slot.Gate.Release();
        }
    }

    /// <summary>
    /// Ends every process of the machine (sshd and every session and command it spawned) and
    /// waits until they are gone. The root directory and volumes stay. Does nothing for a
    /// machine that is not running. Cancellation ends the wait for a concurrent start or stop
    /// of the same machine; a kill, once begun, always finishes.
    /// </summary>
    public Task StopAsync(string machineId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(machineId);
        return TryGetSlot(machineId) is { } slot ? StopSlotAsync(slot, only: null, cancellationToken) : Task.CompletedTask;
    }

    /// <summary>Stops the machine, then deletes its directory (root, host key, config). Volumes are the caller's and stay.</summary>
    public async Task DestroyAsync(string machineId, CancellationToken cancellationToken)
    {
        ValidateMachineId(machineId, nameof(machineId));
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        var slot = GetSlot(machineId);
        await slot.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await StopCurrentAsync(slot, only: null).ConfigureAwait(false);
            var layout = new MachineLayout(_dataDirectory, machineId);
            if (Directory.Exists(layout.Directory))
            {
                // Recursive delete removes symbolic links without following them, so a link the
                // machine planted (or a volume link without bubblewrap) never takes host files along.
                Directory.Delete(layout.Directory, recursive: true);
            }

            LogDestroyed(machineId, layout.Directory);
        }
        finally
        {
            slot.Gate.Release();
        }
    }

    /// <summary>Stops every machine; no process of any of them is left when this completes.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        MachineSlot[] slots;
        lock (_machinesLock)
        {
            slots = [.. _machines.Values];
        }

        await Task.WhenAll(slots.Select(slot => StopSlotAsync(slot, only: null, CancellationToken.None))).ConfigureAwait(false);

        Volatile.Read(ref _setup)?.Spawner.Dispose();
    }

    /// <summary>Stops <paramref name="sandbox"/> if it is still its machine's current instance: a handle from before a restart must not stop its successor.</summary>
    internal Task StopAsync(MachineSandbox sandbox, CancellationToken cancellationToken) =>
        TryGetSlot(sandbox.MachineId) is { } slot ? StopSlotAsync(slot, sandbox, cancellationToken) : Task.CompletedTask;

    private async Task StopSlotAsync(MachineSlot slot, MachineSandbox? only, CancellationToken cancellationToken)
    {
        await slot.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await StopCurrentAsync(slot, only).ConfigureAwait(false);
        }
        finally
        {
            slot.Gate.Release();
        }
    }

    /// <summary>Under the slot's gate: terminates the current instance (if it is <paramref name="only"/>, when given).</summary>
    private async Task StopCurrentAsync(MachineSlot slot, MachineSandbox? only)
    {
        if (slot.Current is { } current && (only is null || ReferenceEquals(current, only)))
        {
            slot.Current = null;
            // Not cancellable: a kill abandoned half-way would leave processes nobody tracks.
            await TerminateAsync(current).ConfigureAwait(false);
        }
    }

    private bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    private MachineSlot GetSlot(string machineId)
    {
        lock (_machinesLock)
        {
            ObjectDisposedException.ThrowIf(IsDisposed, this);
            if (!_machines.TryGetValue(machineId, out var slot))
            {
                // Slots are never removed: a caller may be waiting on this one's gate.
                _machines[machineId] = slot = new MachineSlot();
            }

            return slot;
        }
    }

    private MachineSlot? TryGetSlot(string machineId)
    {
        lock (_machinesLock)
        {
            return _machines.GetValueOrDefault(machineId);
        }
    }

    private static List<ResolvedMount> ValidateSpec(SandboxSpec spec)
    {
        ValidateMachineId(spec.MachineId, nameof(spec));
        ArgumentNullException.ThrowIfNull(spec.Address, nameof(spec));
        if (!IPAddress.IsLoopback(spec.Address))
        {
            // sshd lets root in: it must never listen where other hosts can reach it.
            throw new ArgumentException($"Machine {spec.MachineId}: the address must be a loopback address such as 127.0.1.2, not {spec.Address}.", nameof(spec));
        }

        SshdConfig.ValidateEnvironment(spec.Environment ?? throw new ArgumentNullException(nameof(spec), "Environment is null."), nameof(spec));
        foreach (var file in spec.Files ?? throw new ArgumentNullException(nameof(spec), "Files is null."))
        {
            ArgumentNullException.ThrowIfNull(file, nameof(spec));
            var guestPath = GuestPaths.Normalize(file.GuestPath, nameof(spec));
            if (guestPath == "/")
            {
                throw new ArgumentException($"Machine {spec.MachineId}: file path '{file.GuestPath}' is the root directory.", nameof(spec));
            }

            if (file.Mode is < 0 or > 0xFFF)
            {
                throw new ArgumentException($"Machine {spec.MachineId}: mode of {file.GuestPath} must be permission bits (0 to 07777).", nameof(spec));
            }
        }

        var mounts = new List<ResolvedMount>();
        foreach (var mount in spec.Mounts ?? throw new ArgumentNullException(nameof(spec), "Mounts is null."))
        {
            ArgumentNullException.ThrowIfNull(mount, nameof(spec));
            var guestPath = GuestPaths.Normalize(mount.GuestPath, nameof(spec));
            if (guestPath == "/" || Bubblewrap.ReservedGuestPaths.Any(reserved => GuestPaths.IsAtOrBelow(guestPath, reserved)))
            {
                throw new ArgumentException($"Machine {spec.MachineId}: a volume cannot be mounted at {guestPath}.", nameof(spec));
            }

            if (string.IsNullOrEmpty(mount.HostDirectory) || !Path.IsPathFullyQualified(mount.HostDirectory))
            {
                throw new ArgumentException($"Machine {spec.MachineId}: the host directory of the volume at {guestPath} must be an absolute path.", nameof(spec));
            }

            if (mounts.Any(other => other.GuestPath == guestPath))
            {
                throw new ArgumentException($"Machine {spec.MachineId}: two volumes are mounted at {guestPath}.", nameof(spec));
            }

            mounts.Add(new ResolvedMount(Path.GetFullPath(mount.HostDirectory), guestPath));
        }

        return mounts;
    }

    private static void ValidateMachineId(string machineId, string parameterName)
    {
        ArgumentException.ThrowIfNullOrEmpty(machineId, parameterName);
        if (!MachineIdPattern().IsMatch(machineId))
        {
            // The id names a directory: no separators, no dot-dot.
            throw new ArgumentException($"Machine id '{machineId}' must be 1-128 letters, digits, '_', '-' or '.', starting with a letter or digit.", parameterName);
        }
    }

    [SupportedOSPlatform("linux")]
    private async Task<MachineSandbox> LaunchAsync(SandboxSpec spec, IReadOnlyList<ResolvedMount> mounts, HostSetup setup, CancellationToken cancellationToken)
    {
        var layout = new MachineLayout(_dataDirectory, spec.MachineId);
        var isolated = setup.Bubblewrap is not null;
        PrepareDirectories(layout, mounts, isolated, spec.KeepRoot);
        if (!isolated && FindWritableByOthers(layout.Root) is { } offender)
        {
            // Otherwise every login fails later with a bare "Permission denied (publickey)".
            throw new InvalidOperationException(
                $"Machine {spec.MachineId}: without bubblewrap, sshd's StrictModes rejects authorized_keys under {layout.Root} because {offender} is group- or world-writable; choose a DataDirectory elsewhere (e.g. under /var/lib or /run).");
        }

        // Written before any process exists, so a reaper never sees a machine without an owner.
        new SandboxRecord(setup.Self, null, null).Write(layout.Record);
        var hostPublicKey = await EnsureHostKeyAsync(spec, layout, setup, cancellationToken).ConfigureAwait(false);
        await WriteFilesAsync(spec, layout, mounts, isolated, cancellationToken).ConfigureAwait(false);

        var marker = isolated ? null : $"{MarkerVariable}={spec.MachineId}.{Guid.NewGuid():N}";
        await File.WriteAllTextAsync(layout.Config, BuildConfig(spec, layout, setup, marker), cancellationToken).ConfigureAwait(false);

        var start = new ProcessStartInfo
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = "/",
        };
        // sshd builds every session's environment itself; its own needs nothing of ours, and the
        // emulator's variables (tokens, connection strings) must not be readable in the machine.
        start.Environment.Clear();
        start.Environment["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
        // -D: stay in the foreground so we own the PID; -e: log to stderr, which we capture.
        if (setup.Bubblewrap is { } bubblewrap)
        {
            start.FileName = bubblewrap;
            var hostname = HostnamePattern().IsMatch(spec.MachineId) ? spec.MachineId : null;
            foreach (var argument in Bubblewrap.Arguments(
                layout.Root, layout.Ssh, hostname, mounts, setup.IsRoot, [setup.Sshd, "-D", "-e", "-f", Bubblewrap.GuestSshDirectory + "/sshd_config"]))
            {
                start.ArgumentList.Add(argument);
            }
        }
        else
        {
            start.FileName = setup.Sshd;
            foreach (var argument in new[] { "-D", "-e", "-f", layout.Config })
            {
                start.ArgumentList.Add(argument);
            }
        }

        var output = new OutputLog(OutputCapacity);
        var listening = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var exited = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        MachineSandbox? sandbox = null;
        int? exitCode = null;
        process.Exited += (_, _) =>
        {
            // Read here: the process object is disposed once the machine is cleaned up.
            exitCode = process.ExitCode;
            exited.TrySetResult();
            if (sandbox is { Ready: true, Stopping: false } running)
            {
                ReportUnexpectedExit(running, exitCode);
            }
        };
        void OnLine(object sender, DataReceivedEventArgs e)
        {
            if (e.Data is not { } line)
            {
                return;
            }

            output.Add(line);
            LogSshdOutput(spec.MachineId, line);
            if (line.StartsWith("Server listening on", StringComparison.Ordinal))
            {
                listening.TrySetResult();
            }
        }

        process.ErrorDataReceived += OnLine;
        process.OutputDataReceived += OnLine;
        try
        {
            await setup.Spawner.StartAsync(process).ConfigureAwait(false);
        }
        catch
        {
            process.Dispose();
            throw;
        }

        // No identity means it already died and was reaped; the readiness wait reports its output.
        var identity = ProcessIdentity.TryGet(process.Id) ?? new ProcessIdentity(process.Id, -1);
        new SandboxRecord(setup.Self, identity, marker).Write(layout.Record);
        process.StandardInput.Close();
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        sandbox = new MachineSandbox(this, spec, _options.SshPort, layout, hostPublicKey, isolated, process, identity, marker, output, exited);

        string? failure;
        try
        {
            failure = await WaitUntilReadyAsync(spec.Address, listening.Task, exited.Task, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await TerminateAsync(sandbox).ConfigureAwait(false);
            throw;
        }

        if (failure is not null)
        {
            var exitedByItself = exited.Task.IsCompleted;
            // Terminate also drains the output, so the message below has sshd's last words.
            await TerminateAsync(sandbox).ConfigureAwait(false);
            throw new InvalidOperationException(
                StartFailureMessage(spec.MachineId, failure, start.FileName, exitedByItself ? exitCode : null, output.Snapshot()));
        }

        sandbox.Ready = true;
        if (exited.Task.IsCompleted && !sandbox.Stopping)
        {
            // Died between the readiness probe and now; the Exited handler saw it not yet ready.
            ReportUnexpectedExit(sandbox, exitCode);
        }

        LogStarted(spec.MachineId, spec.Address, _options.SshPort, identity.ProcessId, isolated);
        return sandbox;
    }

    /// <summary>Null once sshd accepts TCP connections at the machine's address, else why it did not.</summary>
    private async Task<string?> WaitUntilReadyAsync(IPAddress address, Task listening, Task exited, CancellationToken cancellationToken)
    {
        using var timeout = new CancellationTokenSource(_options.StartTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            // The "listening" line proves that our sshd, not a squatter, holds the port; the
            // probe then shows that it accepts connections.
            await Task.WhenAny(listening, exited).WaitAsync(linked.Token).ConfigureAwait(false);
            while (!exited.IsCompleted)
            {
                using var client = new TcpClient(address.AddressFamily);
                try
                {
                    await client.ConnectAsync(address, _options.SshPort, linked.Token).ConfigureAwait(false);
                    return null;
                }
                catch (SocketException)
                {
                    await Task.Delay(_pollInterval, _time, linked.Token).ConfigureAwait(false);
                }
            }

            return "sshd exited during start-up";
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return $"sshd did not accept connections on {address}:{_options.SshPort} within {_options.StartTimeout.TotalSeconds:0.#} s";
        }
    }

    [SupportedOSPlatform("linux")]
    private string BuildConfig(SandboxSpec spec, MachineLayout layout, HostSetup setup, string? marker)
    {
        var environment = spec.Environment.OrderBy(variable => variable.Key, StringComparer.Ordinal).ToList();
        if (setup.Bubblewrap is not null)
        {
            return SshdConfig.Build(new SshdSettings(
                spec.MachineId, spec.Address, _options.SshPort, Bubblewrap.GuestSshDirectory + "/ssh_host_ed25519_key",
                AuthorizedKeysFile: null, ForceCommand: null, SftpSubsystem: "internal-sftp", environment, setup.DisablePerSourcePenalties));
        }

        // Without a private / the session script moves every session into the machine's home;
        // the marker and HOME come first because sshd keeps the first value of a name.
        var home = Path.Combine(layout.Root, "root");
        List<KeyValuePair<string, string>> ours =
        [
            new(MarkerVariable, marker![(MarkerVariable.Length + 1)..]),
            new("HOME", home),
        ];
        File.WriteAllText(layout.SessionScript, """
            # Written by Orchestrator.Sandbox: without bubblewrap, this keeps sessions in the machine's home.
            cd "$HOME" || exit 1
            if [ -n "$SSH_ORIGINAL_COMMAND" ]; then
                exec "$SHELL" -c "$SSH_ORIGINAL_COMMAND"
            fi
            exec "$SHELL" -l

            """);
        File.SetUnixFileMode(layout.SessionScript, Mode0755);
        if (layout.SessionScript.Contains('\'', StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"DataDirectory paths cannot contain a single quote without bubblewrap: {layout.SessionScript}");
        }

        return SshdConfig.Build(new SshdSettings(
            spec.MachineId, spec.Address, _options.SshPort, layout.HostKey,
            AuthorizedKeysFile: Path.Combine(home, ".ssh", "authorized_keys"),
            // ForceCommand also wraps the sftp subsystem, so it must be an external program.
            ForceCommand: $"/bin/sh '{layout.SessionScript}'",
            SftpSubsystem: setup.SftpServer ?? "internal-sftp",
            [.. ours, .. environment.Where(variable => !ours.Any(own => own.Key == variable.Key))],
            setup.DisablePerSourcePenalties));
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")]
    private static partial Regex MachineIdPattern();

    [GeneratedRegex("^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")]
    private static partial Regex HostnamePattern();

    [GeneratedRegex(@"OpenSSH_(?<major>\d+)\.(?<minor>\d+)")]
    private static partial Regex OpenSshVersion();

    /// <summary>What was learned about this host once, at the first start.</summary>
    private sealed record HostSetup(
        string Sshd,
        string Keygen,
        string? Bubblewrap,
        bool IsRoot,
        bool DisablePerSourcePenalties,
        string? SftpServer,
        ProcessIdentity Self,
        ProcessSpawner Spawner);

    /// <summary>Serializes start, stop and destroy of one machine.</summary>
    private sealed class MachineSlot
    {
        public SemaphoreSlim Gate { get; } = new(1, 1);

        public MachineSandbox? Current { get; set; }
    }
}
