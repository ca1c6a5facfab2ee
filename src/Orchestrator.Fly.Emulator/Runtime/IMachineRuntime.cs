using System.Net;
using Orchestrator.Sandbox;

namespace Orchestrator.Fly.Emulator.Runtime;

/// <summary>
/// What a started machine is, seen from the host: where its sshd listens and its host key. Each start returns a
/// new one; an exit names the one whose process ended, so that a late report cannot touch a later start.
/// </summary>
internal sealed record RuntimeMachine(string MachineId, IPAddress Address, int SshPort, string RootDirectory, string? HostPublicKey);

/// <summary>A started machine's main process ended without a stop.</summary>
/// <param name="Instance">The start whose process ended.</param>
/// <param name="ExitCode">Its exit code; 128 + N when signal N killed it.</param>
/// <param name="Signal">The signal that killed it, if one did.</param>
/// <param name="LastOutput">The process's last words, for the log.</param>
/// <param name="ExitedAt">When the exit was noticed.</param>
internal sealed record RuntimeExit(RuntimeMachine Instance, int ExitCode, int? Signal, string LastOutput, DateTimeOffset ExitedAt);

/// <summary>
/// Runs the machines behind the API. The real one starts a sandbox with sshd per machine; tests
/// that only check the API use one that records calls. Calls for one machine never overlap.
/// </summary>
internal interface IMachineRuntime : IAsyncDisposable
{
    /// <summary>A started machine's main process exited by itself (or was killed from outside); raised once per start.</summary>
    event Action<RuntimeExit>? Exited;

    Task<RuntimeMachine> StartAsync(SandboxSpec spec, CancellationToken cancellationToken);

    /// <summary>Stops the machine's processes; volumes stay (its root stays until the next start decides).</summary>
    Task StopAsync(string machineId, CancellationToken cancellationToken);

    /// <summary>Stops the machine and removes its root (volumes are the emulator's, not the runtime's).</summary>
    Task DestroyAsync(string machineId, CancellationToken cancellationToken);

    /// <summary>Sends <paramref name="signal"/> to the running machine's main process; its end is reported through <see cref="Exited"/>.</summary>
    /// <exception cref="InvalidOperationException">The machine does not run.</exception>
    Task SignalAsync(string machineId, int signal, CancellationToken cancellationToken);
}
