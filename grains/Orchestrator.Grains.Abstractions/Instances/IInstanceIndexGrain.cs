using Orleans.Concurrency;

namespace Orchestrator.Grains.Instances;

/// <summary>
/// A tenant's instances, keyed by the tenant id: the list behind <c>GET /api/instances</c>. Instance grains
/// push their snapshot after every change, so listing never fans out to every instance.
/// </summary>
[Alias("orchestrator.IInstanceIndexGrain")]
public interface IInstanceIndexGrain : IGrainWithStringKey
{
    /// <summary>Records the newest snapshot of one instance; an older revision than the one held is ignored.</summary>
    [Alias("Update"), OneWay]
    Task UpdateAsync(InstanceSnapshot snapshot);

    /// <summary>Forgets an instance whose create failed and was cleaned up.</summary>
    [Alias("Remove"), OneWay]
    Task RemoveAsync(string instanceId);

    /// <summary>
    /// Counts <paramref name="instanceId"/> among the tenant's instances before its machine is created,
    /// unless that would make more than <paramref name="maxInstances"/> that are not destroyed.
    /// </summary>
    /// <exception cref="Tenants.QuotaExceededException">The tenant already has <paramref name="maxInstances"/> instances.</exception>
    [Alias("Reserve")]
    Task ReserveAsync(string instanceId, int maxInstances);

    /// <summary>
    /// Lets <paramref name="instanceId"/> (reserved, not yet created) mount the existing volume <paramref name="volumeId"/>:
    /// one of this tenant's destroyed instances must have kept it, and no other instance of the tenant that is not
    /// destroyed may hold it. Claims are made one at a time, so two creates cannot both take the same volume.
    /// </summary>
    /// <exception cref="InstanceVolumeUnavailableException">Not the tenant's kept volume (not found), or held by a live instance (in use).</exception>
    [Alias("ClaimVolume")]
    Task ClaimVolumeAsync(string instanceId, string volumeId, CancellationToken cancellationToken = default);

    /// <summary>Instances ordered by id, after <see cref="InstanceListQuery.Cursor"/> (an id), filtered.</summary>
    [Alias("List")]
    Task<InstancePage> ListAsync(InstanceListQuery query, CancellationToken cancellationToken = default);
}

[GenerateSerializer, Immutable, Alias("orchestrator.InstanceListQuery")]
public sealed record InstanceListQuery(
    [property: Id(0)] int Limit,
    [property: Id(1)] string? Cursor = null,
    [property: Id(2)] string? State = null,
    [property: Id(3)] string? Region = null);

[GenerateSerializer, Immutable, Alias("orchestrator.InstancePage")]
public sealed record InstancePage(
    [property: Id(0)] IReadOnlyList<InstanceSnapshot> Items,
    [property: Id(1)] string? NextCursor);
