using System.Text.Json.Serialization;

namespace Orchestrator.Fly;

/// <summary>An app, as <c>GET /v1/apps/{app}</c> and the list items of <c>GET /v1/apps</c> return it.</summary>
public sealed record FlyApp
{
    public string? Id { get; init; }

    public string Name { get; init; } = "";

    /// <summary><c>pending</c> right after creation; <c>deployed</c> or <c>suspended</c> later.</summary>
    public string? Status { get; init; }

    public FlyOrganization? Organization { get; init; }

    public int? MachineCount { get; init; }

    public int? VolumeCount { get; init; }

    public string? Network { get; init; }

    public long? InternalNumericId { get; init; }
}

public sealed record FlyOrganization
{
    public string? Name { get; init; }

    public string? Slug { get; init; }

    public long? InternalNumericId { get; init; }
}

/// <summary>Answer of <c>GET /v1/apps?org_slug=</c>.</summary>
public sealed record FlyAppList
{
    public int? TotalApps { get; init; }

    public IReadOnlyList<FlyApp>? Apps { get; init; }
}

/// <summary>Answer of <c>POST /v1/apps</c> (201).</summary>
public sealed record FlyCreateAppResponse
{
    public string? Id { get; init; }

    /// <summary>Unix milliseconds.</summary>
    public long? CreatedAt { get; init; }
}

/// <summary>A volume. <c>state</c> is <c>created</c>, <c>restoring</c> (from a snapshot) or <c>destroyed</c>, among others.</summary>
/// <remarks>https://fly.io/docs/machines/api/volumes-resource/</remarks>
public sealed record FlyVolume
{
    /// <summary><c>vol_</c> followed by 16 characters.</summary>
    public string Id { get; init; } = "";

    public string? Name { get; init; }

    public string? State { get; init; }

    public int? SizeGb { get; init; }

    public string? Region { get; init; }

    public string? Zone { get; init; }

    public bool? Encrypted { get; init; }

    public string? AttachedMachineId { get; init; }

    public string? AttachedAllocId { get; init; }

    public DateTimeOffset? CreatedAt { get; init; }

    public long? Blocks { get; init; }

    public long? BlockSize { get; init; }

    public long? BlocksFree { get; init; }

    public long? BlocksAvail { get; init; }

    public long? BytesTotal { get; init; }

    public long? BytesUsed { get; init; }

    public string? Fstype { get; init; }

    public int? SnapshotRetention { get; init; }

    public bool? AutoBackupEnabled { get; init; }

    public string? HostDedicationKey { get; init; }

    /// <summary><c>ok</c>, <c>unknown</c> or <c>unreachable</c>.</summary>
    public string? HostStatus { get; init; }

    /// <summary><c>local</c> or <c>cache</c>.</summary>
    public string? Type { get; init; }
}

/// <summary>Answer of <c>PUT .../volumes/{id}/extend</c>.</summary>
public sealed record FlyExtendVolumeResponse
{
    public FlyVolume? Volume { get; init; }

    /// <summary>True when the attached machine must restart to see the new size.</summary>
    public bool? NeedsRestart { get; init; }
}

public sealed record FlyVolumeSnapshot
{
    public string Id { get; init; } = "";

    public long? Size { get; init; }

    public string? Digest { get; init; }

    public DateTimeOffset? CreatedAt { get; init; }

    public int? RetentionDays { get; init; }

    public string? Status { get; init; }

    public long? VolumeSize { get; init; }
}

/// <summary>Answer of <c>POST .../volumes/{id}/snapshots</c> (beta): an odd <c>{"Msg":{"backup":{...}}}</c> envelope.</summary>
public sealed record FlyCreateSnapshotResponse
{
    [JsonPropertyName("Msg")]
    public FlyCreateSnapshotMessage? Msg { get; init; }
}

public sealed record FlyCreateSnapshotMessage
{
    public FlyVolumeBackup? Backup { get; init; }
}

public sealed record FlyVolumeBackup
{
    public string? Id { get; init; }

    public string? AppId { get; init; }

    public string? VolumeId { get; init; }

    public string? State { get; init; }

    public string? Type { get; init; }

    public string? Message { get; init; }

    public DateTimeOffset? CreatedAt { get; init; }

    public DateTimeOffset? UpdatedAt { get; init; }

    public DateTimeOffset? FinishedAt { get; init; }

    /// <summary>The snapshot id (<c>vs_...</c>).</summary>
    public string? GraphId { get; init; }
}

/// <summary>A lease on a machine: <c>data</c> of the lease answers, or <c>lease</c> of a machine read with <c>include_leases</c>.</summary>
public sealed record FlyLease
{
    /// <summary>12 hex characters; sent back as <c>fly-machine-lease-nonce</c>.</summary>
    public string? Nonce { get; init; }

    /// <summary>Unix seconds, as Fly sends it; see <see cref="ExpiresAtTime"/>.</summary>
    public long? ExpiresAt { get; init; }

    public string? Owner { get; init; }

    public string? Description { get; init; }

    public string? Version { get; init; }

    [JsonIgnore]
    public DateTimeOffset? ExpiresAtTime => ExpiresAt is { } s ? DateTimeOffset.FromUnixTimeSeconds(s) : null;
}

/// <summary>The <c>{"status":"success","data":{...}}</c> envelope of <c>POST .../lease</c> (201) and <c>GET .../lease</c>.</summary>
public sealed record FlyLeaseResponse
{
    public string? Status { get; init; }

    public FlyLease? Data { get; init; }

    public string? Message { get; init; }

    public string? Code { get; init; }
}

/// <summary>Answer of <c>DELETE .../lease</c>: <c>{"status":"success","data":{"ok":true}}</c>.</summary>
public sealed record FlyLeaseReleaseResponse
{
    public string? Status { get; init; }

    public FlyOkResponse? Data { get; init; }
}

/// <summary>A public (or Flycast) IP address of an app.</summary>
public sealed record FlyIpAssignment
{
    public string? Ip { get; init; }

    /// <summary><c>global</c> for anycast addresses.</summary>
    public string? Region { get; init; }

    public string? ServiceName { get; init; }

    public bool? Shared { get; init; }

    public string? Type { get; init; }

    public DateTimeOffset? CreatedAt { get; init; }
}

/// <summary>Answer of <c>GET /v1/apps/{app}/ip_assignments</c>.</summary>
public sealed record FlyIpAssignmentList
{
    public IReadOnlyList<FlyIpAssignment>? Ips { get; init; }
}
