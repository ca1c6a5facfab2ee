using System.Text.Json;
using System.Text.Json.Nodes;
using Orchestrator.Fly.Emulator.Api;
using Orchestrator.Fly.Emulator.Runtime;
using Orchestrator.Sandbox;

namespace Orchestrator.Fly.Emulator.Backend;

/// <summary>
/// The second half of every transition. A call sets the transient state and bumps the machine's
/// generation; its flow then does the slow work (the sandbox, and holding the transient state for
/// at least <see cref="FlyEmulatorOptions.TransitionDelay"/>) and sets the resting state, unless a
/// later call has superseded it (the generation moved on), in which case it stops where it is.
/// </summary>
internal sealed partial class FlyBackend
{
    /// <summary>Under the lock: the machine heads somewhere new; flows of older generations stand down.</summary>
    private int Begin(MachineRecord machine, string state, MachineEvent? @event)
    {
        machine.Generation++;
        SetState(machine, state, @event);
        return machine.Generation;
    }

    /// <summary>Under the lock.</summary>
    private void SetState(MachineRecord machine, string state, MachineEvent? @event)
    {
        machine.State = state;
        machine.UpdatedAt = _time.GetUtcNow();
        if (@event is not null)
        {
            machine.Events.Add(@event);
        }

        Signal(machine);
    }

    private static void Signal(MachineRecord machine)
    {
        var changed = machine.Changed;
        machine.Changed = MachineRecord.NewSignal();
        changed.TrySetResult();
    }

    /// <summary>Moves to <paramref name="state"/> only if no later call superseded this flow.</summary>
    private bool Advance(MachineRecord machine, int generation, string state, MachineEvent? @event = null)
    {
        lock (_sync)
        {
            if (machine.Generation != generation || machine.Removed)
            {
                return false;
            }

            SetState(machine, state, @event);
            return true;
        }
    }

    /// <summary>Under the lock: runs <paramref name="flow"/> after the machine's earlier flows.</summary>
    private void Enqueue(MachineRecord machine, Func<CancellationToken, Task> flow)
    {
        var token = _stopping.Token;
        machine.Chain = machine.Chain.ContinueWith(
            async _ =>
            {
                try
                {
                    await flow(token);
                }
                catch (OperationCanceledException) when (token.IsCancellationRequested)
                {
                    // Shutdown: whatever the runtime still runs is stopped by ShutdownAsync.
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    Log.FlowFailed(_logger, machine.Id, ex);
                }
            },
            CancellationToken.None,
            TaskContinuationOptions.None,
            TaskScheduler.Default).Unwrap();
    }

    private Task HoldAsync(CancellationToken cancellationToken) =>
        _options.TransitionDelay > TimeSpan.Zero ? Task.Delay(_options.TransitionDelay, _time, cancellationToken) : Task.CompletedTask;

    private async Task LaunchFlowAsync(MachineRecord machine, int generation, CancellationToken cancellationToken)
    {
        // created is shown for a moment too: a client may well look before the machine starts.
        await HoldAsync(cancellationToken);
        lock (_sync)
        {
            if (machine.Generation != generation || machine.Removed)
            {
                return;
            }

            machine.LaunchPending = false;
            SetState(machine, MachineStates.Starting, null);
        }

        await RunStartAsync(machine, generation, cancellationToken);
    }

    private Task StartFlowAsync(MachineRecord machine, int generation, CancellationToken cancellationToken) =>
        RunStartAsync(machine, generation, cancellationToken);

    private async Task StopFlowAsync(MachineRecord machine, int generation, JsonObject exit, CancellationToken cancellationToken)
    {
        if (!await RunStopAsync(machine, generation, cancellationToken))
        {
            return;
        }

        var exitEvent = exit["exit_event"]!.AsObject();
        var requested = exitEvent["requested_stop"]!.GetValue<bool>();
        var restarting = exitEvent["restarting"]!.GetValue<bool>();
        if (restarting)
        {
            // restart.policy "always": the exit is recorded, and the machine never rests in stopped.
            if (Advance(machine, generation, MachineStates.Starting, NewEvent("exit", MachineStates.Stopped, "flyd", exit)))
            {
                await RunStartAsync(machine, generation, cancellationToken);
            }

            return;
        }

        if (!Advance(machine, generation, MachineStates.Stopped, NewEvent("exit", MachineStates.Stopped, "flyd", exit)))
        {
            return;
        }

        Log.MachineStopped(_logger, machine.Id, requested);
        await AutoDestroyAsync(machine, generation, cancellationToken);
    }

    /// <summary>After the machine came to rest in <c>stopped</c>: with <c>auto_destroy</c>, it goes.</summary>
    private async Task AutoDestroyAsync(MachineRecord machine, int generation, CancellationToken cancellationToken)
    {
        lock (_sync)
        {
            if (!(machine.Config["auto_destroy"] is JsonValue value && value.GetValueKind() == JsonValueKind.True))
            {
                return;
            }
        }

        // stopped is shown for a moment before auto_destroy takes the machine away.
        await HoldAsync(cancellationToken);
        int destroyGeneration;
        lock (_sync)
        {
            if (machine.Generation != generation || machine.Removed)
            {
                return;
            }

            // auto_destroy: the machine goes once its main process has exited, whoever stopped it.
            destroyGeneration = Begin(machine, MachineStates.Destroying, null);
        }

        await DestroyFlowAsync(machine, destroyGeneration, cancellationToken);
    }

    private async Task RestartFlowAsync(MachineRecord machine, int generation, CancellationToken cancellationToken)
    {
        if (await RunStopAsync(machine, generation, cancellationToken) && Advance(machine, generation, MachineStates.Starting))
        {
            await RunStartAsync(machine, generation, cancellationToken);
        }
    }

    private async Task ReplaceFlowAsync(MachineRecord machine, int generation, bool start, string resting, CancellationToken cancellationToken)
    {
        if (!await RunStopAsync(machine, generation, cancellationToken))
        {
            return;
        }

        if (!start)
        {
            Advance(machine, generation, resting);
            return;
        }

        if (Advance(machine, generation, MachineStates.Starting))
        {
            await RunStartAsync(machine, generation, cancellationToken);
        }
    }

    private async Task SuspendFlowAsync(MachineRecord machine, int generation, CancellationToken cancellationToken)
    {
        // A sandbox has no memory snapshot: suspend is a stop that resumes with its disk as it was.
        if (await RunStopAsync(machine, generation, cancellationToken))
        {
            Advance(machine, generation, MachineStates.Suspended, NewEvent("suspend", MachineStates.Suspended, "flyd"));
        }
    }

    private async Task DestroyFlowAsync(MachineRecord machine, int generation, CancellationToken cancellationToken)
    {
        bool hadRuntime;
        lock (_sync)
        {
            if (machine.Generation != generation || machine.Removed)
            {
                return;
            }

            hadRuntime = machine.RuntimeActive || machine.Runtime is not null;
        }

        var hold = HoldAsync(cancellationToken);
        if (hadRuntime)
        {
            try
            {
                await _runtime.DestroyAsync(machine.Id, cancellationToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                Log.RuntimeCallFailed(_logger, "destroy", machine.Id, ex);
            }
        }

        await hold;
        lock (_sync)
        {
            if (machine.Generation != generation)
            {
                return;
            }

            machine.RuntimeActive = false;
            machine.Runtime = null;
            machine.Instance = null;
            machine.EarlyExit = null;
            machine.Lease = null;
            if (machine.VolumeId is { } volumeId && machine.App.Volumes.TryGetValue(volumeId, out var volume) && volume.AttachedMachineId == machine.Id)
            {
                volume.AttachedMachineId = null;
            }

            SetState(machine, MachineStates.Destroyed, NewEvent("destroy", MachineStates.Destroyed, "user"));
        }

        Log.MachineDestroyed(_logger, machine.Id);
        // Fly still answers with the destroyed machine for a little while, then 404.
        await Task.Delay(_options.DestroyedRetention, _time, cancellationToken);
        lock (_sync)
        {
            machine.Removed = true;
            machine.App.Machines.Remove(machine.Id);
            _machines.Remove(machine.Id);
            Signal(machine);
        }
    }

    /// <summary>Starts the sandbox while the machine shows <c>starting</c>, then shows <c>started</c> (or <c>failed</c>).</summary>
    private async Task RunStartAsync(MachineRecord machine, int generation, CancellationToken cancellationToken)
    {
        SandboxSpec spec;
        StartFault? fault;
        lock (_sync)
        {
            if (machine.Generation != generation || machine.Removed)
            {
                return;
            }

            spec = BuildSpec(machine);
            machine.NewVersion = false;
            fault = _faults.DecideStart(machine.Name);
            // Set before the call: a start cut short by shutdown may still have left processes.
            machine.RuntimeActive = fault is null;
        }

        var hold = HoldAsync(cancellationToken);
        if (fault is not null)
        {
            await hold;
            Log.StartFaultInjected(_logger, machine.Id, fault.Reason);
            FailStart(machine, generation, fault.Reason, fault.ExitCode);
            return;
        }

        RuntimeMachine started;
        try
        {
            started = await _runtime.StartAsync(spec, cancellationToken);
            await hold;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            Log.RuntimeCallFailed(_logger, "start", machine.Id, ex);
            FailStart(machine, generation, ex.Message, exitCode: 1);
            return;
        }

        lock (_sync)
        {
            machine.Runtime = new RuntimeMachineInfo(started.Address.ToString(), started.SshPort, started.RootDirectory, started.HostPublicKey);
            if (machine.Generation != generation || machine.Removed)
            {
                return;
            }

            machine.Instance = started;
            SetState(machine, MachineStates.Started, NewEvent("start", MachineStates.Started, "flyd"));
            Log.MachineStarted(_logger, machine.Id, spec.Address);
            if (machine.EarlyExit is { } early && ReferenceEquals(early.Instance, started))
            {
                // The process ended while the start was still being recorded: its exit follows the start.
                HandleExit(machine, early);
            }

            machine.EarlyExit = null;
        }
    }

    /// <summary>A start that did not come up: the machine is <c>failed</c>, its exit event saying why.</summary>
    private void FailStart(MachineRecord machine, int generation, string reason, int exitCode)
    {
        var exit = ExitRequest(requested: false, signal: -1, restarting: false);
        exit["exit_event"]!["exit_code"] = exitCode;
        exit["error"] = reason;
        Advance(machine, generation, MachineStates.Failed, NewEvent("exit", MachineStates.Failed, "flyd", exit));
    }

    /// <summary>Stops the sandbox (if it runs) while the machine shows its transient state; false if superseded first.</summary>
    private async Task<bool> RunStopAsync(MachineRecord machine, int generation, CancellationToken cancellationToken)
    {
        bool active;
        lock (_sync)
        {
            if (machine.Generation != generation || machine.Removed)
            {
                return false;
            }

            active = machine.RuntimeActive;
        }

        var hold = HoldAsync(cancellationToken);
        if (active)
        {
            try
            {
                await _runtime.StopAsync(machine.Id, cancellationToken);
                lock (_sync)
                {
                    machine.RuntimeActive = false;
                    machine.Instance = null;
                    machine.EarlyExit = null;
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                Log.RuntimeCallFailed(_logger, "stop", machine.Id, ex);
            }
        }

        await hold;
        lock (_sync)
        {
            return machine.Generation == generation && !machine.Removed;
        }
    }

    /// <summary>Under the lock: the sandbox a machine's current config describes.</summary>
    private static SandboxSpec BuildSpec(MachineRecord machine)
    {
        var config = machine.Config.Deserialize<MachineConfigRequest>(FlyJson.Options)!;
        var environment = new Dictionary<string, string>(config.Env ?? [], StringComparer.Ordinal)
        {
            // What Fly sets in every machine (the runtime environment docs), over anything the config says.
            ["FLY_APP_NAME"] = machine.App.Name,
            ["FLY_MACHINE_ID"] = machine.Id,
            ["FLY_ALLOC_ID"] = machine.Id,
            ["FLY_REGION"] = machine.Region,
            ["FLY_PRIVATE_IP"] = machine.PrivateIp.ToString(),
            ["FLY_MACHINE_VERSION"] = machine.InstanceId,
            ["FLY_IMAGE_REF"] = config.Image ?? "",
            ["FLY_VM_MEMORY_MB"] = machine.Guest.MemoryMb.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["PRIMARY_REGION"] = machine.Region,
        };
        var files = (config.Files ?? [])
            .Select(f => new SandboxFile(f.GuestPath!, Convert.FromBase64String(f.RawValue!), f.Mode))
            .ToList();
        var mounts = new List<SandboxMount>();
        if (machine.VolumeId is { } volumeId && config.Mounts is [var mount] && machine.App.Volumes.TryGetValue(volumeId, out var volume))
        {
            mounts.Add(new SandboxMount(volume.HostDirectory, mount.Path!));
        }

        return new SandboxSpec(machine.Id, machine.PrivateIp, environment, files, mounts, KeepRoot(machine, config));
    }
}
