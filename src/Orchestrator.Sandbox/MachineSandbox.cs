using System.Diagnostics;
using System.Net;

namespace Orchestrator.Sandbox;

/// <summary>
/// One running machine: its sshd (inside bubblewrap when <see cref="Isolated"/>) listening at
/// <see cref="Address"/>:<see cref="SshPort"/>. Returned by <see cref="MachineSandboxes.StartAsync"/>;
/// a handle from before a restart reports not running and its <see cref="StopAsync"/> does nothing.
/// </summary>
public sealed class MachineSandbox
{
    private readonly MachineSandboxes _owner;
    private readonly OutputLog _output;
    private readonly TaskCompletionSource _exited;
    private volatile bool _stopping;

    internal MachineSandbox(
        MachineSandboxes owner,
        SandboxSpec spec,
        int sshPort,
        MachineLayout layout,
        string hostPublicKey,
        bool isolated,
        Process process,
        ProcessIdentity identity,
        string? marker,
        OutputLog output,
        TaskCompletionSource exited)
    {
        _owner = owner;
        _output = output;
        _exited = exited;
        MachineId = spec.MachineId;
        Address = spec.Address;
        SshPort = sshPort;
        RootDirectory = layout.Root;
        HostPublicKey = hostPublicKey;
        Isolated = isolated;
        Process = process;
        Identity = identity;
        Marker = marker;
        Layout = layout;
    }

    public string MachineId { get; }

    /// <summary>The loopback address sshd listens on.</summary>
    public IPAddress Address { get; }

    public int SshPort { get; }

    /// <summary>Host directory that is the machine's <c>/</c>; it survives stop and start, and goes with destroy.</summary>
    public string RootDirectory { get; }

    /// <summary>The machine's ed25519 host key as a <c>.pub</c> line (<c>ssh-ed25519 BASE64 comment</c>); the same after every restart.</summary>
    public string HostPublicKey { get; }

    /// <summary>True when bubblewrap isolates the machine; false when its sshd runs directly on the host.</summary>
    public bool Isolated { get; }

    /// <summary>False once the machine was stopped or its sshd exited by itself.</summary>
    public bool IsRunning => !_exited.Task.IsCompleted;

    /// <summary>Host PID of the machine's top process (bwrap, or sshd without bubblewrap) while it runs.</summary>
    public int? ProcessId => IsRunning ? Identity.ProcessId : null;

    /// <summary>Completes when the machine's top process has exited, whether stopped or crashed.</summary>
    public Task Exited => _exited.Task;

    /// <summary>The newest lines sshd (and bwrap) wrote, oldest first, for diagnostics.</summary>
    public IReadOnlyList<string> RecentOutput => _output.Snapshot();

    internal Process Process { get; }

    internal ProcessIdentity Identity { get; }

    internal string? Marker { get; }

    internal MachineLayout Layout { get; }

    /// <summary>Set before a deliberate stop, so that the exit is not reported as a crash.</summary>
    internal bool Stopping
    {
        get => _stopping;
        set => _stopping = value;
    }

    /// <summary>Stops this machine (see <see cref="MachineSandboxes.StopAsync(string, CancellationToken)"/>).</summary>
    public Task StopAsync(CancellationToken cancellationToken = default) => _owner.StopAsync(this, cancellationToken);
}
