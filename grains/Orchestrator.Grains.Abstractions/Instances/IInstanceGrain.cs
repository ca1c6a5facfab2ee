using Orleans.Concurrency;

namespace Orchestrator.Grains.Instances;

/// <summary>
/// One Fly machine a tenant asked for, keyed <c>{tenant}/{instanceId}</c> (see <see cref="InstanceKey"/>).
/// Every transition is safe to retry and to call concurrently: calls are applied one at a time, and each
/// one first lets the previous transition settle.
/// </summary>
[Alias("orchestrator.IInstanceGrain")]
public interface IInstanceGrain : IGrainWithStringKey
{
    /// <summary>
    /// Accepts the creation of the instance's machine (and volume, IP) and returns at once, observed state
    /// <c>creating</c>: the grain makes them in the background (resumed by a reminder after a silo crash) and its
    /// events and state say how far it got; a creation Fly refuses ends <c>failed</c> with <c>Error</c> saying why.
    /// The same instance never gets a second machine; an existing instance with the same spec is returned as it is,
    /// and one whose creation failed is created again. <see cref="WaitForStateAsync"/> waits for <c>started</c>.
    /// </summary>
    /// <exception cref="InstanceValidationException">The spec is invalid; the exception names the field.</exception>
    /// <exception cref="InstanceConflictException">The instance exists with another spec.</exception>
    /// <exception cref="InstanceDestroyedException">The instance was destroyed.</exception>
    /// <exception cref="InstanceProviderException">Fly refused or failed the call that reads a kept volume.</exception>
    /// <exception cref="MachinesUnavailableException">This cluster cannot run machines now; nothing was created.</exception>
    [Alias("Create")]
    Task<InstanceSnapshot> CreateAsync(InstanceSpec spec, string requestId, CancellationToken cancellationToken = default);

    /// <summary>
    /// The instance from its cache, or <see langword="null"/> when it was never created. Never calls Fly and
    /// never waits for a transition in progress: the cache is refreshed after every transition, while one
    /// settles, and in the background when a read finds it older than a few seconds.
    /// </summary>
    [Alias("Get"), AlwaysInterleave]
    Task<InstanceSnapshot?> GetAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Waits until the instance's observed state is <paramref name="state"/>, or <c>failed</c> or <c>destroyed</c>
    /// (which no wait outlasts), or <paramref name="timeout"/> (at most 25 s, inside Orleans' response timeout)
    /// ran out, and returns the instance as it then is. Served beside every other call: it holds no turn while it
    /// waits, and wakes on the instance's own transitions, so it costs no Fly call.
    /// </summary>
    /// <exception cref="InstanceNotFoundException">The instance was never created.</exception>
    [Alias("WaitForState"), AlwaysInterleave]
    Task<InstanceSnapshot> WaitForStateAsync(string state, TimeSpan timeout, CancellationToken cancellationToken = default);

    /// <summary>Reads the machine from Fly now and returns the refreshed instance.</summary>
    /// <exception cref="InstanceNotFoundException">The instance was never created.</exception>
    [Alias("Refresh")]
    Task<InstanceSnapshot> RefreshAsync(CancellationToken cancellationToken = default);

    [Alias("Start")]
    Task<InstanceSnapshot> StartAsync(CancellationToken cancellationToken = default);

    [Alias("Stop")]
    Task<InstanceSnapshot> StopAsync(CancellationToken cancellationToken = default);

    [Alias("Restart")]
    Task<InstanceSnapshot> RestartAsync(CancellationToken cancellationToken = default);

    /// <summary>Destroys the machine, its IPs and, unless <paramref name="keepVolume"/>, its volume. Repeating it is harmless.</summary>
    [Alias("Destroy")]
    Task<InstanceSnapshot> DestroyAsync(bool keepVolume = false, CancellationToken cancellationToken = default);

    /// <summary>
    /// The instance's lifecycle events with a sequence greater than <paramref name="after"/>, oldest first, at most
    /// <paramref name="limit"/>. Served from the grain; never calls Fly.
    /// </summary>
    /// <exception cref="InstanceNotFoundException">The instance was never created.</exception>
    [Alias("GetEvents"), AlwaysInterleave]
    Task<InstanceEventPage> GetEventsAsync(long after, int limit, CancellationToken cancellationToken = default);

    /// <summary>
    /// Pins the machine's SSH host key on first use; later calls say whether <paramref name="hostKey"/> matches
    /// the pinned one. For the SSH layer.
    /// </summary>
    [Alias("PinHostKey")]
    Task<bool> PinHostKeyAsync(string hostKey, CancellationToken cancellationToken = default);

    /// <summary>
    /// Gives the machine <paramref name="size"/>: its config is updated under a machine lease, and Fly restarts it
    /// with the new CPUs and memory (a stopped machine stays stopped). The current size again does nothing.
    /// </summary>
    /// <exception cref="InstanceValidationException">The size is invalid; the exception names the field.</exception>
    /// <exception cref="InstanceNotFoundException">The instance was never created.</exception>
    /// <exception cref="InstanceDestroyedException">The instance was destroyed.</exception>
    /// <exception cref="InstanceConflictException">The instance is still being created.</exception>
    /// <exception cref="InstanceProviderException">Fly refused or failed the call (another holder of the lease: conflict).</exception>
    [Alias("Resize")]
    Task<InstanceSnapshot> ResizeAsync(InstanceSize size, CancellationToken cancellationToken = default);

    /// <summary>Grows the instance's volume to <paramref name="sizeGb"/>; volumes never shrink.</summary>
    /// <exception cref="InstanceValidationException"><c>size_gb</c> is not greater than the volume's size, or above the maximum.</exception>
    /// <exception cref="InstanceNotFoundException">The instance was never created.</exception>
    /// <exception cref="InstanceDestroyedException">The instance was destroyed.</exception>
    /// <exception cref="InstanceConflictException">The instance has no volume, or is still being created.</exception>
    /// <exception cref="InstanceProviderException">Fly refused or failed the call.</exception>
    [Alias("ExtendVolume")]
    Task<InstanceSnapshot> ExtendVolumeAsync(int sizeGb, CancellationToken cancellationToken = default);
}

/// <summary>Builds and splits instance grain keys: the tenant always comes first, so one tenant cannot name another's instance.</summary>
public static class InstanceKey
{
    public static string Format(string tenant, string instanceId) => $"{tenant}/{instanceId}";

    public static (string Tenant, string InstanceId) Parse(string key)
    {
        var slash = key.IndexOf('/', StringComparison.Ordinal);
        return slash > 0 ? (key[..slash], key[(slash + 1)..]) : throw new ArgumentException($"Instance key '{key}' is not '{{tenant}}/{{instanceId}}'.", nameof(key));
    }
}

/// <summary>Desired and observed states as the API reports them; observed states are Fly's machine states plus these.</summary>
public static class InstanceStates
{
    public const string Started = "started";
    public const string Stopped = "stopped";
    public const string Destroyed = "destroyed";

    /// <summary>Observed while the grain is still making the instance's volume, machine or IP.</summary>
    public const string Creating = "creating";

    public const string Starting = "starting";
    public const string Stopping = "stopping";
    public const string Created = "created";
    public const string Restarting = "restarting";
    public const string Destroying = "destroying";

    /// <summary>Fly gave up starting the machine (or the emulator's runtime did), or refused to create it; <c>Error</c> says why.</summary>
    public const string Failed = "failed";
}

/// <summary>What a caller asks for.</summary>
[GenerateSerializer, Immutable, Alias("orchestrator.InstanceSpec")]
public sealed record InstanceSpec(
    [property: Id(0)] string Name,
    [property: Id(1)] string Region,
    [property: Id(2)] InstanceSize Size,
    [property: Id(3)] string? Image = null,
    [property: Id(4)] IReadOnlyDictionary<string, string>? Env = null,
    [property: Id(5)] InstanceVolumeSpec? Volume = null,
    [property: Id(6)] bool PublicIp = false)
{
    /// <summary>Value equality including <see cref="Env"/>'s contents (records compare dictionaries by reference).</summary>
    public bool SameAs(InstanceSpec other) =>
        Name == other.Name && Region == other.Region && Size == other.Size && Image == other.Image && Volume == other.Volume
        && PublicIp == other.PublicIp
        && (Env ?? new Dictionary<string, string>()).OrderBy(p => p.Key, StringComparer.Ordinal)
            .SequenceEqual((other.Env ?? new Dictionary<string, string>()).OrderBy(p => p.Key, StringComparer.Ordinal));
}

/// <summary>A Fly preset (<see cref="Preset"/>, e.g. <c>shared-cpu-1x</c>) or explicit CPUs and memory.</summary>
[GenerateSerializer, Immutable, Alias("orchestrator.InstanceSize")]
public sealed record InstanceSize(
    [property: Id(0)] string? Preset,
    [property: Id(1)] int? Cpus = null,
    [property: Id(2)] int? MemoryMb = null,
    [property: Id(3)] string? CpuKind = null);

/// <summary>
/// A volume to create (<see cref="SizeGb"/>, <see cref="Id"/> null) or an existing one to mount (<see cref="Id"/>,
/// <see cref="SizeGb"/> 0): one the tenant kept when it destroyed an instance with <c>keep_volume</c>.
/// </summary>
[GenerateSerializer, Immutable, Alias("orchestrator.InstanceVolumeSpec")]
public sealed record InstanceVolumeSpec(
    [property: Id(0)] int SizeGb,
    [property: Id(1)] string Path,
    [property: Id(2)] string? Id = null)
{
    /// <summary>An existing volume, mounted at <paramref name="path"/>.</summary>
    public static InstanceVolumeSpec Existing(string id, string path) => new(0, path, id);
}

/// <summary>What the instance grain reports (<see cref="LastError"/> is <see cref="Error"/>'s message, kept for older callers): served from its cache, never a live Fly read unless asked.</summary>
[GenerateSerializer, Immutable, Alias("orchestrator.InstanceSnapshot")]
public sealed record InstanceSnapshot(
    [property: Id(0)] string Id,
    [property: Id(1)] string Name,
    [property: Id(2)] string Region,
    [property: Id(3)] InstanceSize Size,
    [property: Id(4)] string DesiredState,
    [property: Id(5)] string ObservedState,
    [property: Id(6)] string? MachineId,
    [property: Id(7)] string? PrivateIp,
    [property: Id(8)] string? VolumeId,
    [property: Id(9)] IReadOnlyList<string> Ips,
    [property: Id(10)] DateTimeOffset CreatedAt,
    [property: Id(11)] DateTimeOffset UpdatedAt,
    [property: Id(12)] string SshPublicKey,
    [property: Id(13)] string? HostKeyPinned,
    [property: Id(14)] string? Image = null,
    [property: Id(15)] string? VolumePath = null,
    [property: Id(16)] string? LastError = null,
    [property: Id(17)] long Revision = 0,
    [property: Id(18)] InstanceError? Error = null,
    [property: Id(19)] string? HostKeyFingerprint = null,
    [property: Id(20)] int? VolumeSizeGb = null);
