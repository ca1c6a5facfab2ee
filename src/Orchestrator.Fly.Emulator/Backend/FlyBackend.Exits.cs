using System.Text.Json.Nodes;
using Orchestrator.Fly.Emulator.Api;
using Orchestrator.Fly.Emulator.Runtime;

namespace Orchestrator.Fly.Emulator.Backend;

/// <summary>
/// A machine whose main process exits by itself, as flyd handles it: an <c>exit</c> event, then the restart
/// policy decides between starting again and resting in <c>stopped</c>. And what lives only across starts:
/// which starts rebuild the root (<c>rootfs.persist</c>).
/// </summary>
internal sealed partial class FlyBackend
{
    /// <summary>Fly's default for <c>restart.max_retries</c> with policy <c>on-failure</c>.</summary>
    private const int DefaultMaxRetries = 10;

    /// <summary>The docs count <c>max_retries</c> within this window.</summary>
    private static readonly TimeSpan _retryWindow = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Sends <paramref name="signal"/> to a started machine's main process and returns once the emulator has
    /// recorded its exit (the exit event is in, and the restart policy's transition begun), or a failure.
    /// </summary>
    public async Task<FlyFailure?> KillMainProcessAsync(string machineId, int signal, TimeSpan timeout, CancellationToken cancellationToken)
    {
        MachineRecord machine;
        RuntimeMachine instance;
        int generation;
        lock (_sync)
        {
            if (!_machines.TryGetValue(machineId, out machine!) || machine.Removed)
            {
                return FlyErrors.MachineNotFound;
            }

            if (machine.State != MachineStates.Started || machine.Instance is null)
            {
                return FlyErrors.FailedPrecondition($"machine {machineId} is {machine.State}; only a started machine's process can be killed");
            }

            instance = machine.Instance;
            generation = machine.Generation;
        }

        try
        {
            await _runtime.SignalAsync(machineId, signal, cancellationToken);
        }
        catch (InvalidOperationException ex)
        {
            return FlyErrors.FailedPrecondition(ex.Message);
        }

        // On the emulator's clock, as every other wait here: a test that stops the clock decides when this gives up.
        using var expiry = new CancellationTokenSource(timeout, _time);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, expiry.Token);
        while (true)
        {
            Task changed;
            lock (_sync)
            {
                if (!ReferenceEquals(machine.Instance, instance) || machine.Generation != generation || machine.Removed)
                {
                    return null;
                }

                changed = machine.Changed.Task;
            }

            try
            {
                await changed.WaitAsync(deadline.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return FlyFailure.Error(500, $"internal: machine {machineId}'s process did not exit within {timeout.TotalSeconds:0} s of signal {signal}");
            }
        }
    }

    private void OnRuntimeExited(RuntimeExit exit)
    {
        lock (_sync)
        {
            if (!_machines.TryGetValue(exit.Instance.MachineId, out var machine) || machine.Removed)
            {
                return;
            }

            if (ReferenceEquals(machine.Instance, exit.Instance))
            {
                HandleExit(machine, exit);
            }
            else if (machine.State == MachineStates.Starting && machine.Instance is null)
            {
                // The start flow has not recorded this start yet; it handles the exit once it has.
                machine.EarlyExit = exit;
            }
        }
    }

    /// <summary>Under the lock: the running start's process has ended without a stop.</summary>
    private void HandleExit(MachineRecord machine, RuntimeExit exit)
    {
        machine.Instance = null;
        if (machine.State != MachineStates.Started)
        {
            // A transition is under way (a stop, restart or update raced the exit): its flow owns the runtime.
            Signal(machine);
            return;
        }

        var now = _time.GetUtcNow();
        machine.AutomaticRestarts.RemoveAll(at => now - at > _retryWindow);
        var restartCount = machine.AutomaticRestarts.Count;
        var restart = RestartPolicy(machine) switch
        {
            "always" => true,
            "no" or "spot-price" => false,
            // on-failure, also Fly's default when no policy is set.
            _ => exit.ExitCode != 0 && restartCount < MaxRetries(machine),
        };
        if (restart)
        {
            machine.AutomaticRestarts.Add(now);
        }

        var request = ExitRequest(requested: false, signal: exit.Signal ?? -1, restarting: restart);
        var exitEvent = request["exit_event"]!.AsObject();
        exitEvent["exit_code"] = exit.ExitCode;
        exitEvent["exited_at"] = exit.ExitedAt.ToUnixTimeMilliseconds();
        request["restart_count"] = restartCount;
        Log.MachineExited(_logger, machine.Id, exit.ExitCode, restart, exit.LastOutput);
        // The exit is recorded when it happened; the clean-up of what the process left behind follows.
        var generation = Begin(machine, restart ? MachineStates.Restarting : MachineStates.Stopping, NewEvent("exit", MachineStates.Stopped, "flyd", request));
        Enqueue(machine, token => ExitFlowAsync(machine, generation, restart, token));
    }

    private async Task ExitFlowAsync(MachineRecord machine, int generation, bool restart, CancellationToken cancellationToken)
    {
        if (!await RunStopAsync(machine, generation, cancellationToken))
        {
            return;
        }

        if (restart)
        {
            if (Advance(machine, generation, MachineStates.Starting))
            {
                await RunStartAsync(machine, generation, cancellationToken);
            }

            return;
        }

        if (Advance(machine, generation, MachineStates.Stopped))
        {
            Log.MachineStopped(_logger, machine.Id, false);
            await AutoDestroyAsync(machine, generation, cancellationToken);
        }
    }

    /// <summary>
    /// Whether this start keeps what the machine wrote to its root. Fly rebuilds the root filesystem from the
    /// image at every start unless <c>rootfs.persist</c> (or the older <c>guest.persist_rootfs</c>) says
    /// otherwise: "never" (the default) rebuilds it, "restart" keeps it across stops, starts and restarts but
    /// not across an update, "always" keeps it across updates too.
    /// </summary>
    private static bool KeepRoot(MachineRecord machine, MachineConfigRequest config)
    {
        var persist = config.Rootfs?.Persist is { Length: > 0 } rootfs ? rootfs : config.Guest?.PersistRootfs;
        return persist switch
        {
            "always" => true,
            "restart" => !machine.NewVersion,
            _ => false,
        };
    }

    private static int MaxRetries(MachineRecord machine) =>
        machine.Config["restart"] is JsonObject restart && restart["max_retries"] is JsonValue value && value.TryGetValue<int>(out var retries) && retries > 0
            ? retries
            : DefaultMaxRetries;
}
