using System.Net;

namespace Orchestrator.Sandbox;

/// <summary>What a machine sandbox is started with: the machine's identity, address, files, environment and volumes.</summary>
/// <param name="MachineId">Stable id; the sandbox's directory (root, ssh config) is named after it.</param>
/// <param name="Address">A loopback address (127.0.0.0/8, never 127.0.0.1) that this machine's sshd listens on, port 2222.</param>
/// <param name="Environment">Variables every command run over SSH sees.</param>
/// <param name="Files">
/// Files written into the machine's root before start (e.g. <c>/root/.ssh/authorized_keys</c>). A file at
/// <c>/etc/ssh/ssh_host_ed25519_key</c> (and optionally its <c>.pub</c>) becomes the machine's SSH host key.
/// </param>
/// <param name="Mounts">Host directories (volumes) bound at a path inside the machine.</param>
/// <param name="KeepRoot">
/// False (Fly's default, <c>rootfs.persist</c> "never"): the root is recreated empty at this start, as Fly
/// rebuilds a machine's root filesystem from its image, and a new host key is generated unless one is injected
/// through <paramref name="Files"/>. True: what the machine wrote to its root, and its host key, are kept.
/// </param>
public sealed record SandboxSpec(
    string MachineId,
    IPAddress Address,
    IReadOnlyDictionary<string, string> Environment,
    IReadOnlyList<SandboxFile> Files,
    IReadOnlyList<SandboxMount> Mounts,
    bool KeepRoot = false);

/// <summary>A file to place at <paramref name="GuestPath"/> (absolute, inside the machine).</summary>
public sealed record SandboxFile(string GuestPath, ReadOnlyMemory<byte> Content, int? Mode = null);

/// <summary>A host directory bound read-write at <paramref name="GuestPath"/> inside the machine.</summary>
public sealed record SandboxMount(string HostDirectory, string GuestPath);

/// <summary>How a machine's main process (its sshd) ended when nobody stopped it.</summary>
/// <param name="MachineId">The machine whose process exited.</param>
/// <param name="ExitCode">
/// The exit code; a process killed by a signal reports 128 + the signal number, as a shell does (bubblewrap
/// passes its child's status on the same way).
/// </param>
/// <param name="Signal">The signal that killed it, when <paramref name="ExitCode"/> is above 128; null otherwise.</param>
/// <param name="LastOutput">sshd's last lines, oldest first.</param>
/// <param name="ExitedAt">When the exit was noticed.</param>
public sealed record SandboxExit(string MachineId, int ExitCode, int? Signal, IReadOnlyList<string> LastOutput, DateTimeOffset ExitedAt);

/// <summary>Raised by <see cref="MachineSandboxes.MachineExited"/>.</summary>
public sealed class MachineExitedEventArgs(MachineSandbox sandbox, SandboxExit exit) : EventArgs
{
    /// <summary>The instance whose process exited (a later start of the same machine is another instance).</summary>
    public MachineSandbox Sandbox { get; } = sandbox;

    public SandboxExit Exit { get; } = exit;
}
