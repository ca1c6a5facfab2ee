namespace Orchestrator.Grains.Tenants;

/// <summary>
/// One tenant: the owner of instances, sessions and workflow runs. Keyed by the tenant id
/// (lowercase letters, digits and dashes, see <see cref="TenantId"/>).
/// </summary>
[Alias("orchestrator.ITenantGrain")]
public interface ITenantGrain : IGrainWithStringKey
{
    /// <summary>Creates the tenant, or returns it unchanged when it already exists with the same display name.</summary>
    /// <exception cref="TenantConflictException">The tenant exists with another display name.</exception>
    [Alias("Create")]
    Task<TenantInfo> CreateAsync(string displayName, CancellationToken cancellationToken = default);

    /// <summary>The tenant, or <see langword="null"/> when it was never created.</summary>
    [Alias("Get")]
    ValueTask<TenantInfo?> GetAsync();

    /// <summary>Renames an existing tenant.</summary>
    /// <exception cref="TenantNotFoundException">The tenant was never created.</exception>
    [Alias("Rename")]
    Task<TenantInfo> RenameAsync(string displayName, CancellationToken cancellationToken = default);
}

/// <summary>What a tenant grain reports about itself.</summary>
[GenerateSerializer, Immutable, Alias("orchestrator.TenantInfo")]
public sealed record TenantInfo(
    [property: Id(0)] string Id,
    [property: Id(1)] string DisplayName,
    [property: Id(2)] DateTimeOffset CreatedAt,
    [property: Id(3)] DateTimeOffset UpdatedAt,
    [property: Id(4)] int Revision);

[GenerateSerializer, Alias("orchestrator.TenantConflictException")]
public sealed class TenantConflictException : Exception
{
    public TenantConflictException()
    {
    }

    public TenantConflictException(string message)
        : base(message)
    {
    }

    public TenantConflictException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

[GenerateSerializer, Alias("orchestrator.TenantNotFoundException")]
public sealed class TenantNotFoundException : Exception
{
    public TenantNotFoundException()
    {
    }

    public TenantNotFoundException(string message)
        : base(message)
    {
    }

    public TenantNotFoundException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
