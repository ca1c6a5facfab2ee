namespace Orchestrator.Grains.Tenants;

/// <summary>
/// One tenant: the owner of instances, sessions and workflow runs. Keyed by the tenant id
/// (lowercase letters, digits and dashes, see <see cref="TenantId"/>).
/// </summary>
[Alias("orchestrator.ITenantGrain")]
public interface ITenantGrain : IGrainWithStringKey
{
    /// <summary>
    /// Creates the tenant, or returns it unchanged when it already exists with the same display name
    /// (and, when <paramref name="quotas"/> is given, the same quotas).
    /// </summary>
    /// <exception cref="TenantConflictException">The tenant exists with another display name or other quotas.</exception>
    [Alias("Create")]
    Task<TenantInfo> CreateAsync(string displayName, TenantQuotas? quotas = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// As <see cref="CreateAsync"/>, and says whether this call created the tenant: of two creates racing for one
    /// id, exactly one is told it created it (the API answers it 201, the other 200).
    /// </summary>
    /// <exception cref="TenantConflictException">The tenant exists with another display name or other quotas.</exception>
    [Alias("CreateOrGet")]
    Task<TenantCreation> CreateOrGetAsync(string displayName, TenantQuotas? quotas = null, CancellationToken cancellationToken = default);

    /// <summary>The tenant, or <see langword="null"/> when it was never created.</summary>
    [Alias("Get")]
    ValueTask<TenantInfo?> GetAsync();

    /// <summary>Renames an existing tenant.</summary>
    /// <exception cref="TenantNotFoundException">The tenant was never created.</exception>
    [Alias("Rename")]
    Task<TenantInfo> RenameAsync(string displayName, CancellationToken cancellationToken = default);

    /// <summary>
    /// The quotas in force: the tenant's own, with the cluster's defaults for what it leaves unset (all
    /// defaults for a tenant never created, such as the dev profile's built-in one).
    /// </summary>
    [Alias("GetQuotas"), Orleans.Concurrency.ReadOnly]
    Task<TenantQuotas> GetQuotasAsync();

    /// <summary>Replaces the tenant's quotas (<see langword="null"/> members take the cluster's defaults).</summary>
    /// <exception cref="TenantNotFoundException">The tenant was never created.</exception>
    [Alias("SetQuotas")]
    Task<TenantInfo> SetQuotasAsync(TenantQuotas quotas, CancellationToken cancellationToken = default);

    /// <summary>
    /// Issues a key. Its secret is in the answer and nowhere else: the tenant keeps only a salted hash.
    /// </summary>
    /// <exception cref="TenantNotFoundException">The tenant was never created.</exception>
    /// <exception cref="TenantConflictException">The tenant already holds <see cref="ApiKeyToken.MaxActiveKeys"/> unrevoked keys.</exception>
    /// <exception cref="ArgumentException">The name is unusable or the expiry is not in the future.</exception>
    [Alias("CreateKey")]
    Task<CreatedApiKey> CreateKeyAsync(string name, DateTimeOffset? expiresAt, CancellationToken cancellationToken = default);

    /// <summary>Every key the tenant issued, revoked ones included, oldest first; never a secret.</summary>
    /// <exception cref="TenantNotFoundException">The tenant was never created.</exception>
    [Alias("ListKeys")]
    Task<IReadOnlyList<ApiKeyInfo>> ListKeysAsync();

    /// <summary>Revokes a key; revoking a revoked key changes nothing.</summary>
    /// <exception cref="ApiKeyNotFoundException">The tenant has no key with this id (or does not exist).</exception>
    [Alias("RevokeKey")]
    Task<ApiKeyInfo> RevokeKeyAsync(string keyId, CancellationToken cancellationToken = default);

    /// <summary>Checks a presented key's secret against the stored hash, in constant time.</summary>
    [Alias("Authenticate"), Orleans.Concurrency.ReadOnly]
    Task<ApiKeyCheck> AuthenticateAsync(string keyId, string secret);
}

/// <summary>Per-tenant limits; a <see langword="null"/> member means the cluster's default applies.</summary>
[GenerateSerializer, Immutable, Alias("orchestrator.TenantQuotas")]
public sealed record TenantQuotas(
    [property: Id(0)] int? MaxInstances = null,
    [property: Id(1)] int? MaxConcurrentRuns = null,
    [property: Id(2)] int? MaxRunDepth = null,
    [property: Id(3)] TimeSpan? SessionIdleTimeout = null)
{
    /// <summary>The shortest <see cref="SessionIdleTimeout"/>: idle sessions are looked at once a minute at most.</summary>
    public static readonly TimeSpan MinSessionIdleTimeout = TimeSpan.FromMinutes(1);

    /// <summary>The longest <see cref="SessionIdleTimeout"/>.</summary>
    public static readonly TimeSpan MaxSessionIdleTimeout = TimeSpan.FromDays(30);

    /// <summary>The deepest a run may nest its child runs (<c>workflow</c> steps) at most.</summary>
    public const int MaxRunDepthLimit = 100;

    /// <summary>The largest <see cref="MaxInstances"/> or <see cref="MaxConcurrentRuns"/> a tenant may be given.</summary>
    public const int MaxCountLimit = 1_000_000;
}

/// <summary>What <see cref="ITenantGrain.CreateOrGetAsync"/> found or made.</summary>
[GenerateSerializer, Immutable, Alias("orchestrator.TenantCreation")]
public sealed record TenantCreation(
    [property: Id(0)] TenantInfo Tenant,
    [property: Id(1)] bool Created);

/// <summary>One issued key as listings show it: the prefix identifies it, the secret is never kept.</summary>
[GenerateSerializer, Immutable, Alias("orchestrator.ApiKeyInfo")]
public sealed record ApiKeyInfo(
    [property: Id(0)] string Id,
    [property: Id(1)] string Name,
    [property: Id(2)] string Prefix,
    [property: Id(3)] DateTimeOffset CreatedAt,
    [property: Id(4)] DateTimeOffset? ExpiresAt,
    [property: Id(5)] DateTimeOffset? RevokedAt)
{
    public const string Active = "active";
    public const string Expired = "expired";
    public const string Revoked = "revoked";

    /// <summary><see cref="Active"/>, <see cref="Expired"/> or <see cref="Revoked"/> at <paramref name="now"/>.</summary>
    public string StatusAt(DateTimeOffset now) =>
        RevokedAt is not null ? Revoked : ExpiresAt is { } expiry && expiry <= now ? Expired : Active;
}

/// <summary>A key just issued: the only time <see cref="Key"/> (the full secret) exists outside its holder.</summary>
[GenerateSerializer, Immutable, Alias("orchestrator.CreatedApiKey")]
public sealed record CreatedApiKey(
    [property: Id(0)] ApiKeyInfo Info,
    [property: Id(1)] string Key);

/// <summary>The outcome of checking a presented key.</summary>
[GenerateSerializer, Alias("orchestrator.ApiKeyCheck")]
public enum ApiKeyCheck
{
    Valid,
    Unknown,
    Expired,
    Revoked,
}

/// <summary>What a tenant grain reports about itself.</summary>
[GenerateSerializer, Immutable, Alias("orchestrator.TenantInfo")]
public sealed record TenantInfo(
    [property: Id(0)] string Id,
    [property: Id(1)] string DisplayName,
    [property: Id(2)] DateTimeOffset CreatedAt,
    [property: Id(3)] DateTimeOffset UpdatedAt,
    [property: Id(4)] int Revision,
    [property: Id(5)] TenantQuotas Quotas);

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

[GenerateSerializer, Alias("orchestrator.ApiKeyNotFoundException")]
public sealed class ApiKeyNotFoundException : Exception
{
    public ApiKeyNotFoundException()
    {
    }

    public ApiKeyNotFoundException(string message)
        : base(message)
    {
    }

    public ApiKeyNotFoundException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
