using System.Text.Json.Serialization;

namespace Orchestrator.Fly;

/// <summary>A Fly Machine as the API returns it (GET, list, create, update).</summary>
/// <remarks>https://fly.io/docs/machines/api/machines-resource/#machine-properties</remarks>
public sealed record FlyMachine
{
    /// <summary>14 lowercase hex characters.</summary>
    public string Id { get; init; } = "";

    public string? Name { get; init; }

    /// <summary>One of <see cref="FlyMachineStates"/>; kept as a string so a state Fly adds later does not break reads.</summary>
    public string? State { get; init; }

    public string? Region { get; init; }

    /// <summary>The 26-character version; changes on every update. Needed to wait for <c>stopped</c>.</summary>
    public string? InstanceId { get; init; }

    public string? Version { get; init; }

    /// <summary>The 6PN IPv6 address, reachable only inside the organisation's private network.</summary>
    public string? PrivateIp { get; init; }

    public FlyMachineConfig? Config { get; init; }

    /// <summary>Set instead of <see cref="Config"/> when the host is not reachable.</summary>
    public FlyMachineConfig? IncompleteConfig { get; init; }

    public FlyImageRef? ImageRef { get; init; }

    public DateTimeOffset? CreatedAt { get; init; }

    public DateTimeOffset? UpdatedAt { get; init; }

    /// <summary>Newest first.</summary>
    public IReadOnlyList<FlyMachineEvent>? Events { get; init; }

    public IReadOnlyList<FlyCheckStatus>? Checks { get; init; }

    /// <summary>Only when the machine was created with <c>lease_ttl</c>.</summary>
    public string? Nonce { get; init; }

    /// <summary>Only with <c>include_leases</c>.</summary>
    public FlyLease? Lease { get; init; }

    /// <summary><c>ok</c>, <c>unknown</c> or <c>unreachable</c>.</summary>
    public string? HostStatus { get; init; }

    public bool? Cordoned { get; init; }
}

public sealed record FlyImageRef
{
    public string? Registry { get; init; }

    public string? Repository { get; init; }

    public string? Tag { get; init; }

    public string? Digest { get; init; }

    public IReadOnlyDictionary<string, string>? Labels { get; init; }
}

/// <summary>One entry of a machine's event log (<c>launch/created</c>, <c>start/started</c>, <c>exit/stopped</c>...).</summary>
public sealed record FlyMachineEvent
{
    public string? Id { get; init; }

    public string? Type { get; init; }

    public string? Status { get; init; }

    /// <summary><c>user</c> or <c>flyd</c>.</summary>
    public string? Source { get; init; }

    /// <summary>Unix milliseconds, as Fly sends it; see <see cref="Time"/>.</summary>
    public long? Timestamp { get; init; }

    public FlyMachineEventRequest? Request { get; init; }

    [JsonIgnore]
    public DateTimeOffset? Time => Timestamp is { } ms ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : null;
}

/// <summary>The event's <c>request</c> object; only the parts with a known shape are read.</summary>
public sealed record FlyMachineEventRequest
{
    public FlyExitEvent? ExitEvent { get; init; }

    public int? RestartCount { get; init; }

    /// <summary>Why a start failed, where Fly (or the emulator) says so.</summary>
    public string? Error { get; init; }
}

public sealed record FlyExitEvent
{
    public int? ExitCode { get; init; }

    /// <summary>Unix milliseconds.</summary>
    public long? ExitedAt { get; init; }

    public int? GuestExitCode { get; init; }

    public int? GuestSignal { get; init; }

    public bool? OomKilled { get; init; }

    public bool? RequestedStop { get; init; }

    public bool? Restarting { get; init; }

    public int? Signal { get; init; }
}

public sealed record FlyCheckStatus
{
    public string? Name { get; init; }

    /// <summary><c>passing</c>, <c>warning</c> or <c>critical</c>.</summary>
    public string? Status { get; init; }

    public string? Output { get; init; }

    public DateTimeOffset? UpdatedAt { get; init; }
}

/// <summary>Answer of <c>POST .../start</c>.</summary>
public sealed record FlyStartMachineResponse
{
    public string? PreviousState { get; init; }

    public bool? Migrated { get; init; }

    public string? NewHost { get; init; }
}

/// <summary>Answer of <c>GET .../wait</c>; newer servers add the reached state, version and event id.</summary>
public sealed record FlyWaitResponse
{
    public bool? Ok { get; init; }

    public string? State { get; init; }

    public string? Version { get; init; }

    public string? EventId { get; init; }
}

/// <summary>The <c>{"ok":true}</c> answer of stop, suspend, delete, cordon and uncordon.</summary>
public sealed record FlyOkResponse
{
    public bool? Ok { get; init; }
}

/// <summary>Machine states, from Fly's machine-states page; transient states end in <c>-ing</c>.</summary>
public static class FlyMachineStates
{
    public const string Created = "created";
    public const string Starting = "starting";
    public const string Started = "started";
    public const string Stopping = "stopping";
    public const string Stopped = "stopped";
    public const string Suspending = "suspending";
    public const string Suspended = "suspended";
    public const string Restarting = "restarting";
    public const string Updating = "updating";
    public const string Replacing = "replacing";
    public const string Destroying = "destroying";
    public const string Destroyed = "destroyed";
    public const string Failed = "failed";
}
