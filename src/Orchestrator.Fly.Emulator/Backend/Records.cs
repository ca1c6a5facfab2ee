using System.Net;
using System.Text.Json.Nodes;
using Orchestrator.Fly.Emulator.Api;
using Orchestrator.Fly.Emulator.Runtime;

namespace Orchestrator.Fly.Emulator.Backend;

// The emulator's state. Every field is read and written under FlyBackend's lock only.

internal sealed class AppRecord
{
    public required string Id { get; init; }

    public required string Name { get; init; }

    public required string OrgSlug { get; init; }

    public required string Network { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }

    public Dictionary<string, MachineRecord> Machines { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, VolumeRecord> Volumes { get; } = new(StringComparer.Ordinal);

    public List<IpRecord> Ips { get; } = [];

    public bool Deleted { get; set; }
}

internal sealed class MachineRecord
{
    public required string Id { get; init; }

    public required AppRecord App { get; init; }

    public required string Name { get; init; }

    public required string Region { get; init; }

    public required IPAddress PrivateIp { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }

    public required string InstanceId { get; set; }

    /// <summary>Every instance id this machine had before the current one (a wait on them sees <c>replaced</c>).</summary>
    public HashSet<string> ReplacedInstances { get; } = new(StringComparer.Ordinal);

    /// <summary>The config as sent, with the defaults Fly fills in; echoed back verbatim.</summary>
    public required JsonObject Config { get; set; }

    public required Guest Guest { get; set; }

    public required string State { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }

    /// <summary>Oldest first; the API lists them newest first.</summary>
    public List<MachineEvent> Events { get; } = [];

    public LeaseRecord? Lease { get; set; }

    public string? VolumeId { get; set; }

    public bool Cordoned { get; set; }

    /// <summary>Bumped by every call that changes where the machine is heading; a flow of an older generation stops.</summary>
    public int Generation { get; set; }

    /// <summary>Created without <c>skip_launch</c> and not yet past its automatic first start.</summary>
    public bool LaunchPending { get; set; }

    /// <summary>The runtime may have processes for this machine: set before a start, cleared after a stop.</summary>
    public bool RuntimeActive { get; set; }

    public RuntimeMachineInfo? Runtime { get; set; }

    /// <summary>The start whose main process runs now; null once it exited or was stopped.</summary>
    public RuntimeMachine? Instance { get; set; }

    /// <summary>An exit the runtime reported before the start flow had recorded its start.</summary>
    public RuntimeExit? EarlyExit { get; set; }

    /// <summary>When the restart policy restarted the machine, oldest first; cleared by a start from the user.</summary>
    public List<DateTimeOffset> AutomaticRestarts { get; } = [];

    /// <summary>An update made a new version: its first start rebuilds the root even with <c>rootfs.persist</c> "restart".</summary>
    public bool NewVersion { get; set; }

    /// <summary>The flows of this machine, one after the other, so runtime calls never overlap.</summary>
    public Task Chain { get; set; } = Task.CompletedTask;

    /// <summary>Completed (and replaced) on every state change; waiters await it.</summary>
    public TaskCompletionSource Changed { get; set; } = NewSignal();

    public bool Removed { get; set; }

    public static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}

/// <summary>What the admin endpoint reports about a machine's sandbox.</summary>
internal sealed record RuntimeMachineInfo(string Address, int SshPort, string RootDirectory, string? HostPublicKey);

internal sealed record MachineEvent(string Id, string Type, string Status, string Source, long Timestamp, JsonObject? Request);

internal sealed record LeaseRecord(string Nonce, string Owner, string Description, DateTimeOffset ExpiresAt, string Version);

internal sealed class VolumeRecord
{
    public required string Id { get; init; }

    public required string Name { get; init; }

    public required string Region { get; init; }

    public required string Zone { get; init; }

    public required bool Encrypted { get; init; }

    public required string Fstype { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }

    public required string HostDirectory { get; init; }

    public required int SizeGb { get; set; }

    public required string State { get; set; }

    public int SnapshotRetention { get; set; } = 5;

    public bool AutoBackupEnabled { get; set; } = true;

    public string? AttachedMachineId { get; set; }

    public List<SnapshotRecord> Snapshots { get; } = [];
}

internal sealed record SnapshotRecord(string Id, string VolumeId, long Size, string Digest, DateTimeOffset CreatedAt, int RetentionDays, string Directory);

internal sealed record IpRecord(string Ip, string Type, string Region, string ServiceName, bool Shared, DateTimeOffset CreatedAt);
