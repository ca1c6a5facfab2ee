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
    private volatile bool _ready;
    private int _exitReported;

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

    /// <summary>
    /// Host directory that is the machine's <c>/</c>. Recreated empty at every start unless
    /// <see cref="SandboxSpec.KeepRoot"/>; volumes live elsewhere. Goes with destroy.
    /// </summary>
    public string RootDirectory { get; }

    /// <summary>
    /// The machine's ed25519 host key as a <c>.pub</c> line (<c>ssh-ed25519 BASE64 comment</c>): the public half of
    /// the key injected at <c>/etc/ssh/ssh_host_ed25519_key</c>, else one generated at this start.
    /// </summary>
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

    /// <summary>
    /// Host PID of the machine's main process, its sshd, while it runs: the process whose exit ends the
    /// machine. Without bubblewrap it is <see cref="ProcessId"/>; with it, the sshd inside the namespace.
    /// </summary>
    public int? MainProcessId
    {
        get
        {
            if (!IsRunning)
            {
                return null;
            }

            if (!Isolated)
            {
                return Identity.ProcessId;
            }

            // bwrap forks the namespace's init, which forks the command: sshd is the init's first child.
            var inits = ProcessTable.ChildrenOf(Identity);
            var commands = inits.Count == 0 ? [] : ProcessTable.ChildrenOf(inits[0]);
            return commands.Count == 0 ? null : commands[0].ProcessId;
        }
    }

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

    /// <summary>Set once sshd accepts connections: an exit before that is a failed start, not a crash.</summary>
    internal bool Ready
    {
        get => _ready;
        set => _ready = value;
    }

    /// <summary>
    /// Sends <paramref name="signal"/> (e.g. 9 for SIGKILL; on 15, SIGTERM, sshd exits with 0) to the machine's
    /// main process, as a crash or an outside kill would end it. The exit is then reported through
    /// <see cref="MachineSandboxes.MachineExited"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">The machine does not run.</exception>
    public Task SignalMainProcessAsync(int signal, CancellationToken cancellationToken = default) =>
        _owner.SignalAsync(this, signal, cancellationToken);

    /// <summary>Stops this machine (see <see cref="MachineSandboxes.StopAsync(string, CancellationToken)"/>).</summary>
    public Task StopAsync(CancellationToken cancellationToken = default) => _owner.StopAsync(this, cancellationToken);

    /// <summary>True the first time only: an exit is reported once, whether it is noticed before or after readiness.</summary>
    internal bool TryClaimExitReport() => Interlocked.Exchange(ref _exitReported, 1) == 0;
}
