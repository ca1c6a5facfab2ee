namespace Orchestrator.Grains.Tenants;

/// <summary>
/// Every tenant of the cluster, for the admin's list (<c>GET /api/tenants</c>). One grain (key 0): tenant grains
/// tell it when a tenant is created or renamed, and when an existing tenant's grain activates, through a
/// silo-internal interface, so no outside caller can write here and listing never fans out to every tenant.
/// </summary>
[Alias("orchestrator.ITenantDirectoryGrain")]
public interface ITenantDirectoryGrain : IGrainWithIntegerKey
{
    /// <summary>
    /// Tenants ordered by id (ordinal), at most <paramref name="limit"/> (clamped to 1..100) after
    /// <paramref name="cursor"/> (a tenant id, usually the previous page's <see cref="TenantDirectoryPage.NextCursor"/>).
    /// </summary>
    [Alias("List"), Orleans.Concurrency.ReadOnly]
    Task<TenantDirectoryPage> ListAsync(int limit, string? cursor = null, CancellationToken cancellationToken = default);
}

/// <summary>What the directory knows of one tenant.</summary>
[GenerateSerializer, Immutable, Alias("orchestrator.TenantDirectoryEntry")]
public sealed record TenantDirectoryEntry(
    [property: Id(0)] string Id,
    [property: Id(1)] string DisplayName,
    [property: Id(2)] DateTimeOffset CreatedAt);

/// <summary>One page of the directory; <see cref="NextCursor"/> is null on the last page.</summary>
[GenerateSerializer, Immutable, Alias("orchestrator.TenantDirectoryPage")]
public sealed record TenantDirectoryPage(
    [property: Id(0)] IReadOnlyList<TenantDirectoryEntry> Items,
    [property: Id(1)] string? NextCursor);
