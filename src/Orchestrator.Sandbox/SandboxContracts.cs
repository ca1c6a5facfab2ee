using System.Net;

namespace Orchestrator.Sandbox;

/// <summary>What a machine sandbox is started with: the machine's identity, address, files, environment and volumes.</summary>
/// <param name="MachineId">Stable id; the sandbox's root directory is named after it and survives stop/start.</param>
/// <param name="Address">A loopback address (127.0.0.0/8, never 127.0.0.1) that this machine's sshd listens on, port 2222.</param>
/// <param name="Environment">Variables every command run over SSH sees.</param>
/// <param name="Files">Files written into the machine's root before start (e.g. <c>/root/.ssh/authorized_keys</c>).</param>
/// <param name="Mounts">Host directories (volumes) bound at a path inside the machine.</param>
public sealed record SandboxSpec(
    string MachineId,
    IPAddress Address,
    IReadOnlyDictionary<string, string> Environment,
    IReadOnlyList<SandboxFile> Files,
    IReadOnlyList<SandboxMount> Mounts);

/// <summary>A file to place at <paramref name="GuestPath"/> (absolute, inside the machine).</summary>
public sealed record SandboxFile(string GuestPath, ReadOnlyMemory<byte> Content, int? Mode = null);

/// <summary>A host directory bound read-write at <paramref name="GuestPath"/> inside the machine.</summary>
public sealed record SandboxMount(string HostDirectory, string GuestPath);
