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

        var mounts = SandboxSpecValidator.Validate(spec);
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
        SandboxSpecValidator.ValidateMachineId(machineId, nameof(machineId));
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
