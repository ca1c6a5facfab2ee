using Orchestrator.Grains.Instances;

namespace Orchestrator.Runs.Instances;

/// <summary>
/// The queryable list of a tenant's instances on durable profiles: one row per instance holding its newest
/// snapshot. It exists so that listing is one range query returning full pages, and an instance's change writes
/// its own row instead of the tenant's whole index. Only the tenant's instance index grain writes it.
/// </summary>
public interface IInstanceList
{
    /// <summary>Stores <paramref name="snapshot"/> unless a snapshot of the same instance with a revision at least as new is held.</summary>
    Task UpsertAsync(string tenant, InstanceSnapshot snapshot, CancellationToken cancellationToken = default);

    /// <summary>Forgets one instance (a create that failed and was cleaned up).</summary>
    Task RemoveAsync(string tenant, string instanceId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Up to <see cref="InstanceListQuery.Limit"/> instances ordered by id after <see cref="InstanceListQuery.Cursor"/>,
    /// filtered by region and by state (an observed state; <c>destroyed</c> also matches instances being destroyed).
    /// A page is full whenever more instances match; <see cref="InstancePage.NextCursor"/> is set only then.
    /// </summary>
    Task<InstancePage> ListAsync(string tenant, InstanceListQuery query, CancellationToken cancellationToken = default);

    /// <summary>Deletes the tenant's destroyed instances last changed before <paramref name="changedBefore"/>; returns how many.</summary>
    Task<int> PruneDestroyedAsync(string tenant, DateTimeOffset changedBefore, CancellationToken cancellationToken = default);
}

/// <summary>The list's rules, shared by the grain's in-memory list and <see cref="IInstanceList"/> implementations.</summary>
public static class InstanceListRules
{
    /// <summary>Largest page a list returns.</summary>
    public const int MaxLimit = 100;

    /// <summary>True when <paramref name="snapshot"/> passes the query's region and state filters.</summary>
    public static bool Matches(InstanceSnapshot snapshot, InstanceListQuery query)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentNullException.ThrowIfNull(query);
        return (query.Region is null || snapshot.Region == query.Region)
            && (query.State is null || snapshot.ObservedState == query.State || (query.State == InstanceStates.Destroyed && snapshot.DesiredState == InstanceStates.Destroyed));
    }

    /// <summary>True for an instance that is gone or going: it no longer counts against the tenant's quota.</summary>
    public static bool IsDestroyed(string desiredState, string observedState) =>
        desiredState == InstanceStates.Destroyed || observedState == InstanceStates.Destroyed;
}
