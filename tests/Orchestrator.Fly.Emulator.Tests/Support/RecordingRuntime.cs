using System.Collections.Concurrent;
using Orchestrator.Fly.Emulator.Runtime;
using Orchestrator.Sandbox;

namespace Orchestrator.Fly.Emulator.Tests.Support;

/// <summary>One call the emulator made to its machine runtime.</summary>
internal sealed record RuntimeCall(string Operation, string MachineId, SandboxSpec? Spec);

/// <summary>
/// Stands in for the real sandboxes in tests of the API alone: it records every call (in order) and
/// which machines would be running, so a test sees exactly what the emulator asked of its machines.
/// </summary>
internal sealed class RecordingRuntime : IMachineRuntime
{
    private readonly ConcurrentQueue<RuntimeCall> _calls = new();
    private readonly ConcurrentDictionary<string, RuntimeMachine> _running = new(StringComparer.Ordinal);

    public event Action<RuntimeExit>? Exited;

    /// <summary>How long a start takes (a real sshd takes a few hundred ms).</summary>
    public TimeSpan StartDuration { get; set; }

    /// <summary>When set, a start throws this.</summary>
    public Exception? StartFailure { get; set; }

    /// <summary>When set, a signalled machine exits with this code instead of the one its signal would give.</summary>
    public int? ExitCodeOverride { get; set; }

    /// <summary>When set, a signalled process does not exit, as one that traps the signal would not.</summary>
    public bool IgnoreSignals { get; set; }

    public bool Disposed { get; private set; }

    public IReadOnlyList<RuntimeCall> Calls => [.. _calls];

    public IReadOnlyList<RuntimeCall> CallsFor(string machineId) => [.. _calls.Where(c => c.MachineId == machineId)];

    public IReadOnlyList<string> OperationsFor(string machineId) => [.. CallsFor(machineId).Select(c => c.Operation)];

    public bool IsRunning(string machineId) => _running.ContainsKey(machineId);

    public IReadOnlyCollection<string> Running => [.. _running.Keys];

    public async Task<RuntimeMachine> StartAsync(SandboxSpec spec, CancellationToken cancellationToken)
    {
        _calls.Enqueue(new RuntimeCall("start", spec.MachineId, spec));
        if (StartDuration > TimeSpan.Zero)
        {
            await Task.Delay(StartDuration, cancellationToken);
        }

        if (StartFailure is { } failure)
        {
            throw failure;
        }

        var started = new RuntimeMachine(spec.MachineId, spec.Address, 2222, $"/recorded/{spec.MachineId}/root", "ssh-ed25519 AAAA recorded");
        _running[spec.MachineId] = started;
        return started;
    }

    public Task StopAsync(string machineId, CancellationToken cancellationToken)
    {
        _calls.Enqueue(new RuntimeCall("stop", machineId, null));
        _running.TryRemove(machineId, out _);
        return Task.CompletedTask;
    }

    public Task DestroyAsync(string machineId, CancellationToken cancellationToken)
    {
        _calls.Enqueue(new RuntimeCall("destroy", machineId, null));
        _running.TryRemove(machineId, out _);
        return Task.CompletedTask;
    }

    /// <summary>The process "exits" at once, as sshd does: SIGTERM cleanly (0), other signals with 128 + N.</summary>
    public Task SignalAsync(string machineId, int signal, CancellationToken cancellationToken)
    {
        _calls.Enqueue(new RuntimeCall("signal", machineId, null));
        if (IgnoreSignals && _running.ContainsKey(machineId))
        {
            return Task.CompletedTask;
        }

        if (!_running.TryRemove(machineId, out var instance))
        {
            throw new InvalidOperationException($"Machine {machineId} does not run.");
        }

        var exitCode = ExitCodeOverride ?? (signal == 15 ? 0 : 128 + signal);
        Exited?.Invoke(new RuntimeExit(instance, exitCode, exitCode > 128 ? exitCode - 128 : null, "", DateTimeOffset.UtcNow));
        return Task.CompletedTask;
    }

    public ValueTask DisposeAsync()
    {
        Disposed = true;
        return ValueTask.CompletedTask;
    }
}
