using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Orchestrator.Sandbox;

namespace Orchestrator.Fly.Emulator.Runtime;

/// <summary>The real machines: one <see cref="MachineSandboxes"/> sandbox (own root, loopback address, sshd) per machine.</summary>
internal sealed class SandboxMachineRuntime : IMachineRuntime
{
    private readonly MachineSandboxes _sandboxes;
    private readonly TimeProvider _time;
    private readonly ConditionalWeakTable<MachineSandbox, RuntimeMachine> _instances = [];
    private readonly ConcurrentDictionary<string, MachineSandbox> _current = new(StringComparer.Ordinal);
    private int _disposed;

    public SandboxMachineRuntime(MachineSandboxes sandboxes, TimeProvider time)
    {
        _sandboxes = sandboxes;
        _time = time;
        _sandboxes.MachineExited += OnMachineExited;
    }

    public event Action<RuntimeExit>? Exited;

    public async Task<RuntimeMachine> StartAsync(SandboxSpec spec, CancellationToken cancellationToken)
    {
        var sandbox = await _sandboxes.StartAsync(spec, cancellationToken);
        var started = new RuntimeMachine(sandbox.MachineId, sandbox.Address, sandbox.SshPort, sandbox.RootDirectory, sandbox.HostPublicKey);
        _instances.AddOrUpdate(sandbox, started);
        _current[spec.MachineId] = sandbox;
        if (!sandbox.IsRunning)
        {
            // Died before it was registered above: its exit was raised with no instance to name.
            RaiseExit(sandbox, started, new SandboxExit(sandbox.MachineId, -1, null, sandbox.RecentOutput, _time.GetUtcNow()));
        }

        return started;
    }

    public Task StopAsync(string machineId, CancellationToken cancellationToken) => _sandboxes.StopAsync(machineId, cancellationToken);

    public Task DestroyAsync(string machineId, CancellationToken cancellationToken)
    {
        _current.TryRemove(machineId, out _);
        return _sandboxes.DestroyAsync(machineId, cancellationToken);
    }

    public Task SignalAsync(string machineId, int signal, CancellationToken cancellationToken) =>
        _current.TryGetValue(machineId, out var sandbox) && sandbox.IsRunning
            ? sandbox.SignalMainProcessAsync(signal, cancellationToken)
            : throw new InvalidOperationException($"Machine {machineId} does not run.");

    public ValueTask DisposeAsync()
    {
        // Disposed by the emulator's shutdown and again by the container; the sandboxes only once.
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return ValueTask.CompletedTask;
        }

        _sandboxes.MachineExited -= OnMachineExited;
        return _sandboxes.DisposeAsync();
    }

    private void OnMachineExited(object? sender, MachineExitedEventArgs e)
    {
        // Not yet registered: StartAsync notices the dead sandbox itself and raises the exit then.
        if (_instances.TryGetValue(e.Sandbox, out var instance))
        {
            RaiseExit(e.Sandbox, instance, e.Exit);
        }
    }

    private void RaiseExit(MachineSandbox sandbox, RuntimeMachine instance, SandboxExit exit)
    {
        // Whichever of the two paths comes second finds the entry gone: one report per start.
        if (_instances.Remove(sandbox))
        {
            Exited?.Invoke(new RuntimeExit(instance, exit.ExitCode, exit.Signal, string.Join(Environment.NewLine, exit.LastOutput), exit.ExitedAt));
        }
    }
}
