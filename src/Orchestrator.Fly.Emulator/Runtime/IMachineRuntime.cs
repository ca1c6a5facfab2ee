using System.Net;
using Orchestrator.Sandbox;

namespace Orchestrator.Fly.Emulator.Runtime;

/// <summary>What a started machine is, seen from the host: where its sshd listens and its host key.</summary>
internal sealed record RuntimeMachine(string MachineId, IPAddress Address, int SshPort, string RootDirectory, string? HostPublicKey);

/// <summary>
/// Runs the machines behind the API. The real one starts a sandbox with sshd per machine; tests
/// that only check the API use one that records calls. Calls for one machine never overlap.
/// </summary>
internal interface IMachineRuntime : IAsyncDisposable
{
    Task<RuntimeMachine> StartAsync(SandboxSpec spec, CancellationToken cancellationToken);

    /// <summary>Stops the machine's processes; its root and volumes stay for the next start.</summary>
    Task StopAsync(string machineId, CancellationToken cancellationToken);

    /// <summary>Stops the machine and removes its root (volumes are the emulator's, not the runtime's).</summary>
    Task DestroyAsync(string machineId, CancellationToken cancellationToken);
}
