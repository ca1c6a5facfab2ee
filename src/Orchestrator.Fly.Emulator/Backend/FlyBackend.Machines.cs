using System.Text.Json;
using System.Text.Json.Nodes;
using Orchestrator.Fly.Emulator.Api;

namespace Orchestrator.Fly.Emulator.Backend;

/// <summary>Machine calls: create, read, list, update, start, stop, restart, suspend, signal, destroy, wait.</summary>
internal sealed partial class FlyBackend
{
    private const int EventsInMachine = 20;

    private static readonly Dictionary<string, int> Signals = new(StringComparer.Ordinal)
    {
        ["SIGABRT"] = 6, ["SIGALRM"] = 14, ["SIGFPE"] = 8, ["SIGHUP"] = 1, ["SIGILL"] = 4, ["SIGINT"] = 2, ["SIGKILL"] = 9,
        ["SIGPIPE"] = 13, ["SIGQUIT"] = 3, ["SIGSEGV"] = 11, ["SIGTERM"] = 15, ["SIGTRAP"] = 5, ["SIGUSR1"] = 10, ["SIGUSR2"] = 12,
    };

    public Outcome<MachineView> CreateMachine(string appName, MachineRequest request, string owner)
    {
        var region = string.IsNullOrEmpty(request.Region) ? _options.DefaultRegion : request.Region;
        if (FlyRegions.Check(region) is { } badRegion)
        {
            return badRegion;
        }

        var prepared = PrepareConfig(request.Config, "failed to launch VM");
        if (!prepared.IsSuccess)
        {
            return prepared.Failure!;
        }

        var (config, guest, parsed) = prepared.Value!;
        if (request.LeaseTtl is < 0)
        {
            return FlyErrors.InvalidArgument("lease_ttl must not be negative");
        }

        lock (_sync)
        {
            if (FindApp(appName, out var app) is { } failure)
            {
                return failure;
            }

            var name = string.IsNullOrEmpty(request.Name) ? UniqueName(app) : request.Name;
            if (app.Machines.Values.Any(m => m.Name == name && m.State != MachineStates.Destroyed))
            {
                return FlyFailure.Error(409, $"already_exists: a machine named \"{name}\" already exists in app {app.Name}");
            }

            VolumeRecord? volume = null;
            if (parsed.Mounts is [var mount])
            {
                if (CheckMount(app, mount, region, machineId: null, out volume) is { } mountFailure)
                {
                    return mountFailure;
                }
            }

            var now = _time.GetUtcNow();
            var id = NewMachineId();
            var machine = new MachineRecord
            {
                Id = id,
                App = app,
                Name = name,
                Region = region,
                PrivateIp = _addresses.Allocate(),
                CreatedAt = now,
                UpdatedAt = now,
                InstanceId = FlyIds.Ulid(now),
                Config = config,
                Guest = guest,
                State = MachineStates.Created,
                VolumeId = volume?.Id,
                NewVersion = true,
            };
            machine.Events.Add(NewEvent("launch", MachineStates.Created, "user"));
            if (volume is not null)
            {
                volume.AttachedMachineId = id;
            }

            if (request.LeaseTtl is > 0 and var ttl)
            {
                machine.Lease = NewLease(machine, owner, "", ttl);
            }

            app.Machines.Add(id, machine);
            _machines.Add(id, machine);
            Log.MachineCreated(_logger, app.Name, id, machine.PrivateIp, region);

            if (request.SkipLaunch != true)
            {
                machine.LaunchPending = true;
                var generation = machine.Generation;
                Enqueue(machine, token => LaunchFlowAsync(machine, generation, token));
            }

            return ToView(machine, summary: false, includeLease: false) with { Nonce = machine.Lease?.Nonce };
        }
    }

    public Outcome<MachineView> GetMachine(string appName, string machineId, bool includeLease)
    {
        lock (_sync)
        {
            return FindMachine(appName, machineId, out var machine) is { } failure
                ? failure
                : ToView(machine, summary: false, includeLease);
        }
    }

    public Outcome<IReadOnlyList<MachineView>> ListMachines(
        string appName, bool includeDeleted, string? region, string? states, bool summary, IReadOnlyDictionary<string, string> metadata)
    {
        var wanted = string.IsNullOrEmpty(states)
            ? null
            : states.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(StringComparer.Ordinal);
        lock (_sync)
        {
            if (FindApp(appName, out var app) is { } failure)
            {
                return failure;
            }

            return app.Machines.Values
                .Where(m => includeDeleted || m.State != MachineStates.Destroyed)
                .Where(m => string.IsNullOrEmpty(region) || m.Region == region)
                .Where(m => wanted is null || wanted.Contains(m.State))
                .Where(m => metadata.All(pair => MetadataOf(m).TryGetValue(pair.Key, out var value) && value == pair.Value))
                .OrderBy(m => m.CreatedAt)
                .ThenBy(m => m.Id, StringComparer.Ordinal)
                .Select(m => ToView(m, summary, includeLease: false))
                .ToList();
        }
    }

    public Outcome<MachineView> UpdateMachine(string appName, string machineId, MachineRequest request, string? nonce)
    {
        var prepared = PrepareConfig(request.Config, $"failed to update VM {machineId}");
        if (!prepared.IsSuccess)
        {
            return prepared.Failure!;
        }

        var (config, guest, parsed) = prepared.Value!;
        lock (_sync)
        {
            if (FindMachine(appName, machineId, out var machine) is { } failure)
            {
                return failure;
            }

            if (machine.State is MachineStates.Destroyed or MachineStates.Destroying)
            {
                return FlyFailure.Error(404, "not_found: machine not found");
            }

            if (CheckLease(machine, nonce) is { } leaseFailure)
            {
                return leaseFailure;
            }

            if (!string.IsNullOrEmpty(request.CurrentVersion) && request.CurrentVersion != machine.InstanceId)
            {
                return FlyErrors.FailedPrecondition($"machine version mismatch: current version is {machine.InstanceId}, not {request.CurrentVersion}");
            }

            if (!string.IsNullOrEmpty(request.Name) && request.Name != machine.Name)
            {
                return FlyErrors.InvalidArgument("a machine's name cannot be changed by an update");
            }

            if (!string.IsNullOrEmpty(request.Region) && request.Region != machine.Region)
            {
                return FlyErrors.InvalidArgument("a machine's region cannot be changed by an update");
            }

            var newVolume = parsed.Mounts is [var mount] ? mount.Volume : null;
            if (newVolume != machine.VolumeId)
            {
                return FlyErrors.InvalidArgument("the volume a machine mounts cannot be changed by an update; destroy the machine and create a new one with the volume");
            }

            var previous = machine.State;
            machine.ReplacedInstances.Add(machine.InstanceId);
            machine.InstanceId = FlyIds.Ulid(_time.GetUtcNow());
            machine.Config = config;
            machine.Guest = guest;
            machine.LaunchPending = false;
            // A new version: its first start rebuilds the root unless rootfs.persist is "always".
            machine.NewVersion = true;
            machine.AutomaticRestarts.Clear();
            if (request.LeaseTtl is > 0 and var ttl)
            {
                machine.Lease = NewLease(machine, machine.Lease?.Owner ?? "", "", ttl);
            }

            // Fly starts the new version unless told not to; with skip_launch it keeps the old resting state.
            var start = request.SkipLaunch != true;
            var resting = previous is MachineStates.Created ? MachineStates.Created : MachineStates.Stopped;
            var generation = Begin(machine, MachineStates.Replacing, NewEvent("update", MachineStates.Replacing, "user"));
            Enqueue(machine, token => ReplaceFlowAsync(machine, generation, start, resting, token));
            Log.MachineUpdated(_logger, appName, machineId, machine.InstanceId);
            return ToView(machine, summary: false, includeLease: false);
        }
    }

    public Outcome<StartResponse> StartMachine(string appName, string machineId, string? nonce)
    {
        lock (_sync)
        {
            if (FindWritableMachine(appName, machineId, nonce, out var machine) is { } failure)
            {
                return failure;
            }

            var previous = machine.State;
            switch (previous)
            {
                case MachineStates.Replacing:
                    return FlyErrors.StartWhileReplacing;
                case MachineStates.Created when machine.LaunchPending:
                    // The automatic first start is still to come; flaps refuses a second one meanwhile.
                    return FlyErrors.UnableFromState("start", previous);
                case MachineStates.Started or MachineStates.Starting:
                    return new StartResponse(previous, false, "");
                case MachineStates.Stopped or MachineStates.Created or MachineStates.Suspended or MachineStates.Failed:
                    // The restart policy counts its retries from the user's last start.
                    machine.AutomaticRestarts.Clear();
                    var generation = Begin(machine, MachineStates.Starting, null);
                    Enqueue(machine, token => StartFlowAsync(machine, generation, token));
                    return new StartResponse(previous, false, "");
                default:
                    return FlyErrors.UnableFromState("start", previous);
            }
        }
    }

    public FlyFailure? StopMachine(string appName, string machineId, StopRequest request, string? nonce)
    {
        if (request.Signal is { Length: > 0 } signal && !Signals.ContainsKey(signal))
        {
            return FlyErrors.InvalidArgument($"invalid signal \"{signal}\"");
        }

        if (ParseDuration(request.Timeout) is { IsSuccess: false } badTimeout)
        {
            return badTimeout.Failure;
        }

        lock (_sync)
        {
            if (FindWritableMachine(appName, machineId, nonce, out var machine) is { } failure)
            {
                return failure;
            }

            switch (machine.State)
            {
                case MachineStates.Stopped or MachineStates.Stopping or MachineStates.Failed:
                case MachineStates.Created when !machine.LaunchPending:
                    return null;
                case MachineStates.Destroying or MachineStates.Destroyed:
                    return FlyErrors.UnableFromState("stop", machine.State);
                default:
                    machine.LaunchPending = false;
                    var generation = Begin(machine, MachineStates.Stopping, null);
                    Enqueue(machine, token => StopFlowAsync(machine, generation, ExitRequest(requested: true, signal: -1, restarting: false), token));
                    return null;
            }
        }
    }

    public FlyFailure? RestartMachine(string appName, string machineId, string? signal, string? timeout, string? nonce)
    {
        if (!string.IsNullOrEmpty(signal) && !Signals.ContainsKey(signal))
        {
            return FlyErrors.InvalidArgument($"invalid signal \"{signal}\"");
        }

        if (!string.IsNullOrEmpty(timeout) && ParseDuration(JsonSerializer.SerializeToElement(timeout)) is { IsSuccess: false } badTimeout)
        {
            return badTimeout.Failure;
        }

        lock (_sync)
        {
            if (FindWritableMachine(appName, machineId, nonce, out var machine) is { } failure)
            {
                return failure;
            }

            if (machine.State is not MachineStates.Started)
            {
                return FlyErrors.UnableFromState("restart", machine.State);
            }

            machine.AutomaticRestarts.Clear();
            var generation = Begin(machine, MachineStates.Restarting, NewEvent("restart", MachineStates.Restarting, "user"));
            Enqueue(machine, token => RestartFlowAsync(machine, generation, token));
            return null;
        }
    }

    public FlyFailure? SuspendMachine(string appName, string machineId, string? nonce)
    {
        lock (_sync)
        {
            if (FindWritableMachine(appName, machineId, nonce, out var machine) is { } failure)
            {
                return failure;
            }

            if (machine.State is not MachineStates.Started)
            {
                return FlyErrors.UnableFromState("suspend", machine.State);
            }

            if (machine.Guest.MemoryMb > 2048 || machine.Config["schedule"] is JsonValue)
            {
                return FlyErrors.FailedPrecondition("only machines with at most 2 GB of memory and no schedule can be suspended");
            }

            var generation = Begin(machine, MachineStates.Suspending, NewEvent("suspend", MachineStates.Suspending, "user"));
            Enqueue(machine, token => SuspendFlowAsync(machine, generation, token));
            return null;
        }
    }

    public FlyFailure? SignalMachine(string appName, string machineId, SignalRequest request, string? nonce)
    {
        var parsed = ParseSignal(request.Signal, defaultSignal: null);
        if (!parsed.IsSuccess)
        {
            return parsed.Failure;
        }

        var number = parsed.Value;

        lock (_sync)
        {
            if (FindWritableMachine(appName, machineId, nonce, out var machine) is { } failure)
            {
                return failure;
            }

            if (machine.State is not MachineStates.Started)
            {
                return FlyErrors.UnableFromState("signal", machine.State);
            }

            // The machine's main process is what the signal reaches; these end it, so the machine exits.
            if (number is 2 or 3 or 9 or 15)
            {
                var restart = RestartPolicy(machine) == "always";
                var generation = Begin(machine, MachineStates.Stopping, null);
                Enqueue(machine, token => StopFlowAsync(machine, generation, ExitRequest(requested: false, signal: number, restarting: restart), token));
            }

            return null;
        }
    }

    /// <summary>A signal as the API takes it: a name (<c>SIGTERM</c>) or, as fly-go's Kill sends it, a number.</summary>
    public static Outcome<int> ParseSignal(JsonElement? signal, int? defaultSignal) =>
        signal switch
        {
            { ValueKind: JsonValueKind.String } name when Signals.TryGetValue(name.GetString()!, out var known) => known,
            { ValueKind: JsonValueKind.Number } value when value.TryGetInt32(out var n) && Signals.ContainsValue(n) => n,
            null or { ValueKind: JsonValueKind.Null } when defaultSignal is { } fallback => fallback,
            null or { ValueKind: JsonValueKind.Null } => FlyErrors.InvalidArgument("signal is required"),
            _ => FlyErrors.InvalidArgument($"invalid signal {signal.Value.GetRawText()}"),
        };

    public FlyFailure? DestroyMachine(string appName, string machineId, bool force, string? nonce)
    {
        lock (_sync)
        {
            if (FindMachine(appName, machineId, out var machine) is { } failure)
            {
                return failure;
            }

            if (machine.State is MachineStates.Destroyed)
            {
                return FlyErrors.MachineNotFound;
            }

            if (CheckLease(machine, nonce) is { } leaseFailure)
            {
                return leaseFailure;
            }

            if (machine.State is MachineStates.Destroying)
            {
                return null;
            }

            if (!force && !MachineStates.DestroyableWithoutForce(machine))
            {
                return FlyErrors.FailedPrecondition(
                    $"unable to destroy machine {machine.Id}: it is currently {machine.State}; stop it first or pass force=true");
            }

            machine.LaunchPending = false;
            var generation = Begin(machine, MachineStates.Destroying, null);
            Enqueue(machine, token => DestroyFlowAsync(machine, generation, token));
            return null;
        }
    }

    public Outcome<IReadOnlyList<MachineEventView>> ListEvents(string appName, string machineId, int limit)
    {
        lock (_sync)
        {
            return FindMachine(appName, machineId, out var machine) is { } failure ? failure : EventsOf(machine, limit);
        }
    }

    public FlyFailure? Cordon(string appName, string machineId, bool cordoned, string? nonce)
    {
        lock (_sync)
        {
            if (FindWritableMachine(appName, machineId, nonce, out var machine) is { } failure)
            {
                return failure;
            }

            machine.Cordoned = cordoned;
            return null;
        }
    }

    /// <summary>
    /// Blocks until the machine (or, with <paramref name="instanceId"/>, that version of it) is in one of
    /// <paramref name="desired"/>, or answers 408 naming the state it is in when <paramref name="timeout"/> passes.
    /// </summary>
    public async Task<FlyFailure?> WaitAsync(
        string appName, string machineId, IReadOnlyList<string> desired, string? instanceId, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var expired = Task.Delay(timeout, _time, deadline.Token);
        try
        {
            while (true)
            {
                Task changed;
                string current;
                lock (_sync)
                {
                    if (!_machines.TryGetValue(machineId, out var machine) || machine.Removed || machine.App.Name != appName || machine.App.Deleted)
                    {
                        return _apps.ContainsKey(appName) ? FlyErrors.MachineNotFound : FlyErrors.AppNotFound;
                    }

                    current = EffectiveState(machine, instanceId);
                    if (Reached(current, desired, machine))
                    {
                        return null;
                    }

                    changed = machine.Changed.Task;
                }

                if (await Task.WhenAny(changed, expired) == expired)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    return FlyErrors.WaitTimeout(string.Join(',', desired), current);
                }
            }
        }
        finally
        {
            await deadline.CancelAsync();
        }
    }

    private static bool Reached(string current, IReadOnlyList<string> desired, MachineRecord machine)
    {
        foreach (var state in desired)
        {
            if (state == current || (state == "settled" && !MachineStates.IsTransient(current) && !(current == MachineStates.Created && machine.LaunchPending)))
            {
                return true;
            }
        }

        return false;
    }

    private static string EffectiveState(MachineRecord machine, string? instanceId) =>
        string.IsNullOrEmpty(instanceId) || instanceId == machine.InstanceId || machine.State == MachineStates.Destroyed
            ? machine.State
            : MachineStates.Replaced;

    private string NewMachineId()
    {
        while (true)
        {
            var id = FlyIds.MachineId();
            if (!_machines.ContainsKey(id))
            {
                return id;
            }
        }
    }

    private static string UniqueName(AppRecord app)
    {
        while (true)
        {
            var name = FlyIds.MachineName();
            if (!app.Machines.Values.Any(m => m.Name == name))
            {
                return name;
            }
        }
    }

    private static string RestartPolicy(MachineRecord machine) =>
        machine.Config["restart"] is JsonObject restart && restart["policy"] is JsonValue policy && policy.TryGetValue<string>(out var text) ? text : "";

    private static Dictionary<string, string> MetadataOf(MachineRecord machine)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        if (machine.Config["metadata"] is JsonObject metadata)
        {
            foreach (var (key, value) in metadata)
            {
                if (value is JsonValue text && text.TryGetValue<string>(out var s))
                {
                    result[key] = s;
                }
            }
        }

        return result;
    }

    private MachineEvent NewEvent(string type, string status, string source, JsonObject? request = null)
    {
        var now = _time.GetUtcNow();
        return new MachineEvent(FlyIds.Ulid(now), type, status, source, now.ToUnixTimeMilliseconds(), request);
    }

    private JsonObject ExitRequest(bool requested, int signal, bool restarting) => new()
    {
        ["exit_event"] = new JsonObject
        {
            ["exit_code"] = signal > 0 ? 128 + signal : 0,
            ["exited_at"] = _time.GetUtcNow().ToUnixTimeMilliseconds(),
            ["guest_exit_code"] = 0,
            ["guest_signal"] = -1,
            ["oom_killed"] = false,
            ["requested_stop"] = requested,
            ["restarting"] = restarting,
            ["signal"] = signal,
        },
        ["restart_count"] = 0,
    };

    private static List<MachineEventView> EventsOf(MachineRecord machine, int limit) =>
        machine.Events
            .AsEnumerable()
            .Reverse()
            .Take(limit)
            .Select(e => new MachineEventView(e.Id, e.Type, e.Status, e.Source, e.Timestamp, (JsonObject?)e.Request?.DeepClone()))
            .ToList();

    private MachineView ToView(MachineRecord machine, bool summary, bool includeLease)
    {
        var lease = includeLease && ActiveLease(machine) is { } active
            ? new LeaseSummaryView(active.Description, active.ExpiresAt.ToUnixTimeSeconds(), active.Owner)
            : null;
        return new MachineView(
            machine.Id,
            machine.Name,
            machine.State,
            machine.Region,
            machine.InstanceId,
            machine.PrivateIp.ToString(),
            summary ? null : (JsonObject)machine.Config.DeepClone(),
            ImageRefs.Parse(ConfigImage(machine)),
            FlyTime.Seconds(machine.CreatedAt),
            FlyTime.Seconds(machine.UpdatedAt),
            summary ? null : EventsOf(machine, EventsInMachine),
            summary ? null : "ok",
            Nonce: null,
            lease);
    }

    private static string ConfigImage(MachineRecord machine) =>
        machine.Config["image"] is JsonValue image && image.TryGetValue<string>(out var text) ? text : "";
}
