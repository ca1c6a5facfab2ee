using Orchestrator.Sandbox;

namespace Orchestrator.Fly.Emulator.Runtime;

/// <summary>The real machines: one <see cref="MachineSandboxes"/> sandbox (own root, loopback address, sshd) per machine.</summary>
internal sealed class SandboxMachineRuntime(MachineSandboxes sandboxes) : IMachineRuntime
{
    private int _disposed;

    public async Task<RuntimeMachine> StartAsync(SandboxSpec spec, CancellationToken cancellationToken)
    {
        var sandbox = await sandboxes.StartAsync(spec, cancellationToken);
        return new RuntimeMachine(sandbox.MachineId, sandbox.Address, sandbox.SshPort, sandbox.RootDirectory, sandbox.HostPublicKey);
    }

    public Task StopAsync(string machineId, CancellationToken cancellationToken) => sandboxes.StopAsync(machineId, cancellationToken);

    public Task DestroyAsync(string machineId, CancellationToken cancellationToken) => sandboxes.DestroyAsync(machineId, cancellationToken);

    public ValueTask DisposeAsync() =>
        // Disposed by the emulator's shutdown and again by the container; the sandboxes only once.
        Interlocked.Exchange(ref _disposed, 1) == 0 ? sandboxes.DisposeAsync() : ValueTask.CompletedTask;
}
