using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Orchestrator.Fly.Emulator.Api;

// Request bodies. Every field is optional at the JSON level (Go zero values); the handlers decide
// what is required, so a missing field gets Fly's message rather than a deserializer's.

internal sealed record CreateAppRequest(string? AppName, string? Name, string? OrgSlug, string? Network, bool? EnableSubdomains);

internal sealed record MachineRequest(
    string? Name,
    string? Region,
    JsonObject? Config,
    bool? SkipLaunch,
    bool? SkipServiceRegistration,
    int? LeaseTtl,
    bool? Lsvd,
    string? CurrentVersion);

/// <summary>The parts of <c>config</c> the emulator acts on; the whole object is kept and echoed as sent.</summary>
internal sealed record MachineConfigRequest(
    string? Image,
    GuestRequest? Guest,
    string? Size,
    Dictionary<string, string>? Env,
    List<FileRequest>? Files,
    List<MountRequest>? Mounts,
    Dictionary<string, string>? Metadata,
    bool? AutoDestroy,
    RestartRequest? Restart,
    string? Schedule,
    RootfsRequest? Rootfs);

internal sealed record GuestRequest(string? CpuKind, int? Cpus, int? MemoryMb, string? GpuKind, int? Gpus, string? PersistRootfs);

internal sealed record RootfsRequest(string? Persist, int? SizeGb);

internal sealed record FileRequest(string? GuestPath, string? RawValue, string? SecretName, JsonElement? ImageConfig, int? Mode);

internal sealed record MountRequest(string? Volume, string? Path, string? Name);

internal sealed record RestartRequest(string? Policy, int? MaxRetries);

/// <summary><c>timeout</c> is a Go duration string, a number of nanoseconds, or <c>{"time.Duration": n}</c>.</summary>
internal sealed record StopRequest(string? Signal, JsonElement? Timeout);

/// <summary><c>signal</c> is a name (<c>SIGTERM</c>) or, as fly-go's Kill sends it, a number.</summary>
internal sealed record SignalRequest(JsonElement? Signal);

internal sealed record LeaseRequest(int? Ttl, string? Description);

internal sealed record MetadataValueRequest(string? Value);

internal sealed record MetadataReplaceRequest(Dictionary<string, string?>? Metadata, string? MachineVersion);

internal sealed record CreateVolumeRequest(
    string? Name,
    string? Region,
    int? SizeGb,
    bool? Encrypted,
    bool? RequireUniqueZone,
    int? SnapshotRetention,
    bool? AutoBackupEnabled,
    string? Fstype,
    string? SnapshotId,
    string? SourceVolumeId,
    GuestRequest? Compute,
    string? ComputeImage,
    bool? UniqueZoneAppWide);

internal sealed record ExtendVolumeRequest(int? SizeGb);

internal sealed record UpdateVolumeRequest(int? SnapshotRetention, bool? AutoBackupEnabled);

internal sealed record IpAssignmentRequest(string? Type, string? Region, string? OrgSlug, string? Network, string? ServiceName);

// Response bodies, shaped after the fixtures (Fixtures/fly/*.response.json).

internal sealed record CreateAppResponse(string Id, long CreatedAt);

internal sealed record OrganizationView(string Name, string Slug);

internal sealed record AppView(string Id, string Name, string Status, OrganizationView Organization);

internal sealed record AppListItem(string Id, string Name, int MachineCount, int VolumeCount, string Network);

internal sealed record AppListResponse(int TotalApps, IReadOnlyList<AppListItem> Apps);

internal sealed record ImageRefView(string Registry, string Repository, string Tag, string Digest, IReadOnlyDictionary<string, string> Labels);

internal sealed record MachineEventView(
    string Id,
    string Type,
    string Status,
    string Source,
    long Timestamp,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] JsonObject? Request);

internal sealed record LeaseSummaryView(string Description, long ExpiresAt, string Owner);

internal sealed record MachineView(
    string Id,
    string Name,
    string State,
    string Region,
    string InstanceId,
    string PrivateIp,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] JsonObject? Config,
    ImageRefView ImageRef,
    string CreatedAt,
    string UpdatedAt,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<MachineEventView>? Events,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? HostStatus,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Nonce,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] LeaseSummaryView? Lease);

internal sealed record StartResponse(string PreviousState, bool Migrated, string NewHost);

internal sealed record OkResponse(bool Ok)
{
    public static readonly OkResponse True = new(true);
}

internal sealed record LeaseData(string Nonce, long ExpiresAt, string Owner, string Description, string Version);

internal sealed record LeaseResponse(string Status, LeaseData Data);

internal sealed record LeaseReleaseResponse(string Status, OkResponse Data);

internal sealed record MetadataValueResponse(string Value);

internal sealed record VolumeView(
    string Id,
    string Name,
    string State,
    int SizeGb,
    string Region,
    string Zone,
    bool Encrypted,
    string? AttachedMachineId,
    string? AttachedAllocId,
    string CreatedAt,
    long Blocks,
    long BlockSize,
    long BlocksFree,
    long BlocksAvail,
    string Fstype,
    int SnapshotRetention,
    bool AutoBackupEnabled,
    string HostDedicationKey);

internal sealed record ExtendVolumeResponse(VolumeView Volume, bool NeedsRestart);

internal sealed record SnapshotView(string Id, long Size, string Digest, string CreatedAt, int RetentionDays, string Status);

/// <summary>The beta snapshot-create answer really is wrapped like this (fixture create-volume-snapshot.response.json).</summary>
internal sealed record SnapshotCreateResponse([property: JsonPropertyName("Msg")] SnapshotCreateMessage Msg);

internal sealed record SnapshotCreateMessage(SnapshotBackupView Backup);

internal sealed record SnapshotBackupView(
    string Id,
    string AppId,
    string VolumeId,
    string State,
    string Type,
    string Message,
    string CreatedAt,
    string UpdatedAt,
    string? FinishedAt,
    string GraphId);

internal sealed record IpAssignmentView(string Ip, string Region, string ServiceName, bool Shared, string CreatedAt);

internal sealed record IpAssignmentListResponse(IReadOnlyList<IpAssignmentView> Ips);

internal sealed record RegionView(string Code, string Name, bool GatewayAvailable, bool Deprecated, bool RequiresPaidPlan);

internal sealed record RegionListResponse(string Nearest, IReadOnlyList<RegionView> Regions);
