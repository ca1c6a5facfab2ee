using Refit;

namespace Orchestrator.Fly.Http;

/// <summary>
/// The slice of the Fly Machines API the orchestrator uses, relative to <see cref="FlyOptions.BaseAddress"/>.
/// Every failure surfaces as <see cref="FlyApiException"/> (see <see cref="FlyErrorFactory"/>). Callers go
/// through <see cref="IMachineProvider"/>, which adds idempotent creates, wait loops and lease scopes.
/// </summary>
/// <remarks>https://fly.io/docs/machines/api/ ; the reference summary is reference/fly-machines-api.md §3.</remarks>
internal interface IFlyMachinesApi
{
    internal const string LeaseNonceHeader = "fly-machine-lease-nonce";

    // Apps

    [Post("/v1/apps")]
    Task<FlyCreateAppResponse> CreateAppAsync([Body] CreateAppRequest request, CancellationToken cancellationToken);

    [Get("/v1/apps/{appName}")]
    Task<FlyApp> GetAppAsync(string appName, CancellationToken cancellationToken);

    [Get("/v1/apps")]
    Task<FlyAppList> ListAppsAsync([AliasAs("org_slug")] string orgSlug, CancellationToken cancellationToken);

    [Delete("/v1/apps/{appName}")]
    Task DeleteAppAsync(string appName, string? force, CancellationToken cancellationToken);

    // Machines

    [Post("/v1/apps/{appName}/machines")]
    Task<FlyMachine> CreateMachineAsync(string appName, [Body] CreateMachineRequest request, CancellationToken cancellationToken);

    [Get("/v1/apps/{appName}/machines/{machineId}")]
    Task<FlyMachine> GetMachineAsync(string appName, string machineId, CancellationToken cancellationToken);

    [Get("/v1/apps/{appName}/machines")]
    Task<List<FlyMachine>> ListMachinesAsync(
        string appName,
        [AliasAs("include_deleted")] string? includeDeleted,
        string? region,
        string? state,
        string? summary,
        [Query(".", "metadata")] IDictionary<string, string>? metadata,
        CancellationToken cancellationToken);

    [Post("/v1/apps/{appName}/machines/{machineId}")]
    Task<FlyMachine> UpdateMachineAsync(
        string appName,
        string machineId,
        [Body] UpdateMachineRequest request,
        [Header(LeaseNonceHeader)] string? leaseNonce,
        CancellationToken cancellationToken);

    [Post("/v1/apps/{appName}/machines/{machineId}/start")]
    Task<FlyStartMachineResponse> StartMachineAsync(string appName, string machineId, [Header(LeaseNonceHeader)] string? leaseNonce, CancellationToken cancellationToken);

    [Post("/v1/apps/{appName}/machines/{machineId}/stop")]
    Task StopMachineAsync(
        string appName,
        string machineId,
        [Body] StopMachineRequest request,
        [Header(LeaseNonceHeader)] string? leaseNonce,
        CancellationToken cancellationToken);

    [Post("/v1/apps/{appName}/machines/{machineId}/restart")]
    Task RestartMachineAsync(
        string appName,
        string machineId,
        string? timeout,
        string? signal,
        [AliasAs("force_stop")] string? forceStop,
        [Header(LeaseNonceHeader)] string? leaseNonce,
        CancellationToken cancellationToken);

    [Post("/v1/apps/{appName}/machines/{machineId}/signal")]
    Task SignalMachineAsync(
        string appName,
        string machineId,
        [Body] SignalMachineRequest request,
        [Header(LeaseNonceHeader)] string? leaseNonce,
        CancellationToken cancellationToken);

    [Get("/v1/apps/{appName}/machines/{machineId}/wait")]
    Task<FlyWaitResponse> WaitAsync(
        string appName,
        string machineId,
        string state,
        int timeout,
        [AliasAs("instance_id")] string? instanceId,
        CancellationToken cancellationToken);

    [Delete("/v1/apps/{appName}/machines/{machineId}")]
    Task DeleteMachineAsync(string appName, string machineId, string? force, [Header(LeaseNonceHeader)] string? leaseNonce, CancellationToken cancellationToken);

    [Get("/v1/apps/{appName}/machines/{machineId}/events")]
    Task<List<FlyMachineEvent>> ListMachineEventsAsync(string appName, string machineId, int? limit, CancellationToken cancellationToken);

    [Get("/v1/apps/{appName}/machines/{machineId}/metadata")]
    Task<Dictionary<string, string>> GetMachineMetadataAsync(string appName, string machineId, CancellationToken cancellationToken);

    [Post("/v1/apps/{appName}/machines/{machineId}/metadata/{key}")]
    Task SetMachineMetadataAsync(string appName, string machineId, string key, [Body] FlyMetadataValue value, CancellationToken cancellationToken);

    // Leases

    [Post("/v1/apps/{appName}/machines/{machineId}/lease")]
    Task<FlyLeaseResponse> AcquireLeaseAsync(
        string appName,
        string machineId,
        [Body] CreateLeaseRequest request,
        [Header(LeaseNonceHeader)] string? leaseNonce,
        CancellationToken cancellationToken);

    [Delete("/v1/apps/{appName}/machines/{machineId}/lease")]
    Task ReleaseLeaseAsync(string appName, string machineId, [Header(LeaseNonceHeader)] string leaseNonce, CancellationToken cancellationToken);

    // Volumes

    [Post("/v1/apps/{appName}/volumes")]
    Task<FlyVolume> CreateVolumeAsync(string appName, [Body] CreateVolumeRequest request, CancellationToken cancellationToken);

    [Get("/v1/apps/{appName}/volumes/{volumeId}")]
    Task<FlyVolume> GetVolumeAsync(string appName, string volumeId, CancellationToken cancellationToken);

    [Get("/v1/apps/{appName}/volumes")]
    Task<List<FlyVolume>> ListVolumesAsync(string appName, CancellationToken cancellationToken);

    [Put("/v1/apps/{appName}/volumes/{volumeId}")]
    Task<FlyVolume> UpdateVolumeAsync(string appName, string volumeId, [Body] UpdateVolumeRequest request, CancellationToken cancellationToken);

    [Put("/v1/apps/{appName}/volumes/{volumeId}/extend")]
    Task<FlyExtendVolumeResponse> ExtendVolumeAsync(string appName, string volumeId, [Body] ExtendVolumeRequest request, CancellationToken cancellationToken);

    [Delete("/v1/apps/{appName}/volumes/{volumeId}")]
    Task<FlyVolume> DeleteVolumeAsync(string appName, string volumeId, CancellationToken cancellationToken);

    [Get("/v1/apps/{appName}/volumes/{volumeId}/snapshots")]
    Task<List<FlyVolumeSnapshot>> ListVolumeSnapshotsAsync(string appName, string volumeId, CancellationToken cancellationToken);

    // IP assignments (REST; the GraphQL allocateIpAddress path is legacy)

    [Post("/v1/apps/{appName}/ip_assignments")]
    Task<FlyIpAssignment> CreateIpAssignmentAsync(string appName, [Body] CreateIpAssignmentRequest request, CancellationToken cancellationToken);

    [Get("/v1/apps/{appName}/ip_assignments")]
    Task<FlyIpAssignmentList> ListIpAssignmentsAsync(string appName, CancellationToken cancellationToken);

    [Delete("/v1/apps/{appName}/ip_assignments/{ip}")]
    Task DeleteIpAssignmentAsync(string appName, string ip, CancellationToken cancellationToken);
}

/// <summary>Query values in the form Fly's Go server writes them.</summary>
internal static class FlyQuery
{
    /// <summary>Booleans go out as <c>true</c>/<c>false</c>, not .NET's <c>True</c>; null leaves the parameter out.</summary>
    public static string? Flag(bool? value) => value switch
    {
        true => "true",
        false => "false",
        null => null,
    };
}
