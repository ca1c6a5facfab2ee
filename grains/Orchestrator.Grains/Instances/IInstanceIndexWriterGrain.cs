using Orleans.Concurrency;

namespace Orchestrator.Grains.Instances;

/// <summary>
/// Silo-internal: how instance grains keep their tenant's <see cref="IInstanceIndexGrain"/> current and reserve a
/// place under the tenant's instance quota. Not in the abstractions: an Orleans client must not write the index.
/// </summary>
[Alias("orchestrator.IInstanceIndexWriterGrain")]
internal interface IInstanceIndexWriterGrain : IGrainWithStringKey
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
}
