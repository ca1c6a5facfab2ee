namespace Orchestrator.Fly;

/// <summary>Body of <c>POST /v1/apps/{app}/machines</c>.</summary>
public sealed record CreateMachineRequest
{
    public required FlyMachineConfig Config { get; init; }

    /// <summary>Unique within the app; Fly generates <c>adjective-noun-NNNN</c> when omitted.</summary>
    public string? Name { get; init; }

    /// <summary>Omitted means the region nearest the caller.</summary>
    public string? Region { get; init; }

    /// <summary>Create without booting; the machine stays <c>created</c>.</summary>
    public bool? SkipLaunch { get; init; }

    public bool? SkipServiceRegistration { get; init; }

    /// <summary>Seconds; when set, the created machine carries a lease <c>nonce</c>.</summary>
    public int? LeaseTtl { get; init; }

    public bool? Lsvd { get; init; }

    public int? MinSecretsVersion { get; init; }
}

/// <summary>Body of <c>POST /v1/apps/{app}/machines/{id}</c>: the full config, never a patch.</summary>
public sealed record UpdateMachineRequest
{
    public required FlyMachineConfig Config { get; init; }

    /// <summary>The <c>instance_id</c> the caller last saw: a precondition against concurrent updates.</summary>
    public string? CurrentVersion { get; init; }

    public bool? SkipLaunch { get; init; }

    public bool? SkipServiceRegistration { get; init; }

    public int? LeaseTtl { get; init; }

    public int? MinSecretsVersion { get; init; }
}

/// <summary>Body of <c>POST .../stop</c>.</summary>
public sealed record StopMachineRequest
{
    /// <summary>One of SIGHUP, SIGINT, SIGQUIT, SIGKILL, SIGUSR1, SIGUSR2, SIGTERM; Fly's default is SIGINT.</summary>
    public string? Signal { get; init; }

    /// <summary>A Go duration string such as <c>30s</c>; <see cref="FlyDurations.ToGo"/> makes one from a <see cref="TimeSpan"/>.</summary>
    public string? Timeout { get; init; }
}

/// <summary>Body of <c>POST .../signal</c>.</summary>
public sealed record SignalMachineRequest
{
    public required string Signal { get; init; }
}

/// <summary>Body of <c>POST .../lease</c> (acquire, or refresh with the nonce header).</summary>
public sealed record CreateLeaseRequest
{
    public string? Description { get; init; }

    /// <summary>Seconds.</summary>
    public int? Ttl { get; init; }
}

/// <summary>Body of <c>POST /v1/apps</c>.</summary>
/// <remarks>
/// The docs and the 2025 spec name the field <c>app_name</c>; the newer spec and fly-go send <c>name</c>.
/// The provider fills both so that either generation of the server reads it.
/// </remarks>
public sealed record CreateAppRequest
{
    public string? AppName { get; init; }

    public string? Name { get; init; }

    public string? OrgSlug { get; init; }

    /// <summary>A custom 6PN network isolates the app from the organisation's other apps.</summary>
    public string? Network { get; init; }

    public bool? EnableSubdomains { get; init; }
}

/// <summary>Body of <c>POST /v1/apps/{app}/volumes</c>.</summary>
public sealed record CreateVolumeRequest
{
    public required string Name { get; init; }

    public string? Region { get; init; }

    /// <summary>Fly's default is 3.</summary>
    public int? SizeGb { get; init; }

    public bool? Encrypted { get; init; }

    public bool? RequireUniqueZone { get; init; }

    public bool? UniqueZoneAppWide { get; init; }

    public int? SnapshotRetention { get; init; }

    public bool? AutoBackupEnabled { get; init; }

    /// <summary><c>ext4</c> or <c>raw</c>.</summary>
    public string? Fstype { get; init; }

    public string? SnapshotId { get; init; }

    public string? SourceVolumeId { get; init; }

    /// <summary>
    /// The guest that will mount the volume. Placement then picks a host with room for it, which avoids the
    /// 412 "insufficient resources ... existing volume" on the later machine create.
    /// </summary>
    public FlyGuest? Compute { get; init; }

    /// <summary>The image that will mount the volume; a placement hint like <see cref="Compute"/>.</summary>
    public string? ComputeImage { get; init; }
}

/// <summary>Body of <c>PUT .../volumes/{id}</c>.</summary>
public sealed record UpdateVolumeRequest
{
    public int? SnapshotRetention { get; init; }

    public bool? AutoBackupEnabled { get; init; }
}

/// <summary>Body of <c>PUT .../volumes/{id}/extend</c>; volumes only grow.</summary>
public sealed record ExtendVolumeRequest
{
    public required int SizeGb { get; init; }
}

/// <summary>Body of <c>POST /v1/apps/{app}/ip_assignments</c>.</summary>
public sealed record CreateIpAssignmentRequest
{
    /// <summary>One of <see cref="FlyIpAddressTypes"/>.</summary>
    public required string Type { get; init; }

    public string? Region { get; init; }

    public string? OrgSlug { get; init; }

    public string? Network { get; init; }

    public string? ServiceName { get; init; }
}

/// <summary>Body of <c>POST .../metadata/{key}</c>.</summary>
public sealed record FlyMetadataValue
{
    public string? Value { get; init; }
}

/// <summary>Filters of <c>GET /v1/apps/{app}/machines</c>.</summary>
public sealed record MachineListFilter
{
    public bool? IncludeDeleted { get; init; }

    public string? Region { get; init; }

    /// <summary>Comma-separated states, for example <c>started,stopped</c>.</summary>
    public string? State { get; init; }

    /// <summary>Leave out config, checks and events.</summary>
    public bool? Summary { get; init; }

    /// <summary>Sent as <c>metadata.{key}=value</c>; machines must carry every pair.</summary>
    public IReadOnlyDictionary<string, string>? Metadata { get; init; }
}

/// <summary>The <c>type</c> values of an IP assignment.</summary>
public static class FlyIpAddressTypes
{
    /// <summary>A public IPv6 address; free, and routes TCP (SSH included).</summary>
    public const string V6 = "v6";

    /// <summary>A dedicated IPv4 address; billed, needed for raw TCP and UDP over IPv4.</summary>
    public const string DedicatedV4 = "v4";

    /// <summary>A shared IPv4 address; routes only HTTP/TLS.</summary>
    public const string SharedV4 = "shared_v4";

    /// <summary>A Flycast address, reachable only over 6PN.</summary>
    public const string PrivateV6 = "private_v6";
}
