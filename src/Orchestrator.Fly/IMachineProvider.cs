namespace Orchestrator.Fly;

/// <summary>
/// Creates and manages Fly apps, machines, volumes and IP addresses: the seam the grains use. Every failure
/// is a <see cref="FlyApiException"/>; calls are throttled under Fly's rate limits and safe calls are retried.
/// </summary>
public interface IMachineProvider
{
    // Apps

    /// <summary>
    /// Creates an app in <paramref name="orgSlug"/> (default <see cref="FlyOptions.OrgSlug"/>). When an attempt fails
    /// without a definite answer and a later attempt hears "name taken", the app is ours: it is read and returned.
    /// </summary>
    Task<FlyApp> CreateAppAsync(string appName, string? orgSlug = null, string? network = null, CancellationToken cancellationToken = default);

    Task<FlyApp> GetAppAsync(string appName, CancellationToken cancellationToken = default);

    Task<IReadOnlyList<FlyApp>> ListAppsAsync(string? orgSlug = null, CancellationToken cancellationToken = default);

    /// <summary>Deletes the app; <paramref name="force"/> stops its machines first.</summary>
    Task DeleteAppAsync(string appName, bool force = false, CancellationToken cancellationToken = default);

    // Machines

    /// <summary>
    /// Creates a machine, at most once per <paramref name="idempotencyKey"/>. The key is stored in the machine's
    /// metadata under <see cref="FlyMetadataKeys.ClientToken"/>; when a create fails without a definite
    /// answer (timeout, 408, 5xx, transport error), the machine carrying the key is adopted if Fly has it, and the
    /// create is repeated if not. Pass a key the caller has persisted to make retries across calls safe too;
    /// without one, a fresh key protects this call only. If the lookup itself fails, its exception surfaces:
    /// call again with the same key. An adopted machine carries no lease <c>nonce</c>, even if
    /// <see cref="CreateMachineRequest.LeaseTtl"/> was set.
    /// </summary>
    Task<FlyMachine> CreateMachineAsync(string appName, CreateMachineRequest request, string? idempotencyKey = null, CancellationToken cancellationToken = default);

    Task<FlyMachine> GetMachineAsync(string appName, string machineId, CancellationToken cancellationToken = default);

    Task<IReadOnlyList<FlyMachine>> ListMachinesAsync(string appName, MachineListFilter? filter = null, CancellationToken cancellationToken = default);

    /// <summary>Replaces the machine's config. A leased machine must be updated through its <see cref="IMachineLease"/>.</summary>
    Task<FlyMachine> UpdateMachineAsync(string appName, string machineId, UpdateMachineRequest request, CancellationToken cancellationToken = default);

    Task<FlyStartMachineResponse> StartMachineAsync(string appName, string machineId, CancellationToken cancellationToken = default);

    Task StopMachineAsync(string appName, string machineId, StopMachineRequest? request = null, CancellationToken cancellationToken = default);

    /// <summary>Restarts; <paramref name="timeout"/> is how long the old process may take to stop.</summary>
    Task RestartMachineAsync(string appName, string machineId, TimeSpan? timeout = null, string? signal = null, CancellationToken cancellationToken = default);

    Task SignalMachineAsync(string appName, string machineId, string signal, CancellationToken cancellationToken = default);

    /// <summary>
    /// Waits until the machine reaches <paramref name="state"/>, for up to <paramref name="timeout"/>: a loop of
    /// server-side waits of at most <see cref="FlyOptions.MaxWaitPerRequest"/> (Fly's cap is 60 s), repeated on
    /// 408. Fly requires <paramref name="instanceId"/> (the machine's current <c>instance_id</c>) to wait for
    /// <c>stopped</c>, so that case is refused up front without it.
    /// </summary>
    /// <exception cref="FlyApiException">Category <see cref="FlyErrorCategory.Timeout"/> when the state was not reached in time.</exception>
    Task<FlyWaitResponse> WaitForStateAsync(string appName, string machineId, string state, TimeSpan timeout, string? instanceId = null, CancellationToken cancellationToken = default);

    /// <summary>Destroys the machine; without <paramref name="force"/> it must be stopped or suspended first.</summary>
    Task DeleteMachineAsync(string appName, string machineId, bool force = false, CancellationToken cancellationToken = default);

    /// <summary>Newest first; Fly returns 20 by default and at most 50.</summary>
    Task<IReadOnlyList<FlyMachineEvent>> ListMachineEventsAsync(string appName, string machineId, int? limit = null, CancellationToken cancellationToken = default);

    Task<IReadOnlyDictionary<string, string>> GetMachineMetadataAsync(string appName, string machineId, CancellationToken cancellationToken = default);

    Task SetMachineMetadataAsync(string appName, string machineId, string key, string value, CancellationToken cancellationToken = default);

    // Leases

    /// <summary>
    /// Takes the machine's lease for <paramref name="ttl"/> (whole seconds). Use it with <c>await using</c>: disposing
    /// releases it, whatever happened in between. Fails with <see cref="FlyErrorCategory.Conflict"/> while someone
    /// else holds it.
    /// </summary>
    Task<IMachineLease> AcquireLeaseAsync(string appName, string machineId, TimeSpan ttl, string? description = null, CancellationToken cancellationToken = default);

    // Volumes

    /// <summary>Creates a volume; set <see cref="CreateVolumeRequest.Compute"/> and <see cref="CreateVolumeRequest.ComputeImage"/> so it lands on a host with room for its machine.</summary>
    Task<FlyVolume> CreateVolumeAsync(string appName, CreateVolumeRequest request, CancellationToken cancellationToken = default);

    Task<FlyVolume> GetVolumeAsync(string appName, string volumeId, CancellationToken cancellationToken = default);

    Task<IReadOnlyList<FlyVolume>> ListVolumesAsync(string appName, CancellationToken cancellationToken = default);

    /// <summary>Grows the volume to <paramref name="sizeGb"/>; the answer says whether its machine must restart.</summary>
    Task<FlyExtendVolumeResponse> ExtendVolumeAsync(string appName, string volumeId, int sizeGb, CancellationToken cancellationToken = default);

    /// <summary>Deletes the volume (refused while a machine mounts it); returns it with state <c>destroyed</c>.</summary>
    Task<FlyVolume> DeleteVolumeAsync(string appName, string volumeId, CancellationToken cancellationToken = default);

    Task<IReadOnlyList<FlyVolumeSnapshot>> ListVolumeSnapshotsAsync(string appName, string volumeId, CancellationToken cancellationToken = default);

    // IP addresses

    /// <summary>
    /// Allocates a public address: <see cref="FlyIpAddressTypes.V6"/> (free) or <see cref="FlyIpAddressTypes.DedicatedV4"/>
    /// (billed; needed for SSH over IPv4). The allocation is not idempotent: pass a <paramref name="serviceName"/> that
    /// names its owner, so that after a failure without a definite answer <see cref="ListIpAddressesAsync"/> finds it.
    /// </summary>
    Task<FlyIpAssignment> AllocateIpAddressAsync(string appName, string type, string? region = null, string? serviceName = null, CancellationToken cancellationToken = default);

    Task<IReadOnlyList<FlyIpAssignment>> ListIpAddressesAsync(string appName, CancellationToken cancellationToken = default);

    Task ReleaseIpAddressAsync(string appName, string ip, CancellationToken cancellationToken = default);
}

/// <summary>
/// A held machine lease. Every state-changing call made through it carries the lease nonce
/// (<c>fly-machine-lease-nonce</c>); disposing it releases the lease, also when the work in between threw.
/// </summary>
public interface IMachineLease : IAsyncDisposable
{
    string AppName { get; }

    string MachineId { get; }

    string Nonce { get; }

    DateTimeOffset? ExpiresAt { get; }

    string? Owner { get; }

    /// <summary>Extends the lease to <paramref name="ttl"/> from now.</summary>
    Task RefreshAsync(TimeSpan ttl, CancellationToken cancellationToken = default);

    Task<FlyMachine> UpdateAsync(UpdateMachineRequest request, CancellationToken cancellationToken = default);

    Task<FlyStartMachineResponse> StartAsync(CancellationToken cancellationToken = default);

    Task StopAsync(StopMachineRequest? request = null, CancellationToken cancellationToken = default);

    Task RestartAsync(TimeSpan? timeout = null, string? signal = null, CancellationToken cancellationToken = default);

    Task SignalAsync(string signal, CancellationToken cancellationToken = default);

    Task DeleteMachineAsync(bool force = false, CancellationToken cancellationToken = default);

    /// <summary>Releases now; later calls through the lease fail, and disposing does nothing more.</summary>
    Task ReleaseAsync(CancellationToken cancellationToken = default);
}
