using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;

namespace Orchestrator.Grains.Tenants;

/// <summary>Persisted tenant record. The ADO.NET provider stores it as JSON: plain settable members.</summary>
[GenerateSerializer, Alias("orchestrator.TenantState")]
public sealed class TenantState
{
    [Id(0)] public string? DisplayName { get; set; }
    [Id(1)] public DateTimeOffset CreatedAt { get; set; }
    [Id(2)] public DateTimeOffset UpdatedAt { get; set; }
    [Id(3)] public int Revision { get; set; }
    [Id(4)] public int? MaxInstances { get; set; }
    [Id(5)] public int? MaxConcurrentRuns { get; set; }
    [Id(6)] public List<ApiKeyRecord> Keys { get; set; } = [];
    [Id(7)] public int? MaxRunDepth { get; set; }
    [Id(8)] public TimeSpan? SessionIdleTimeout { get; set; }
}

/// <summary>A stored key: the salted SHA-256 of its secret, never the secret.</summary>
[GenerateSerializer, Alias("orchestrator.ApiKeyRecord")]
public sealed class ApiKeyRecord
{
    [Id(0)] public string Id { get; set; } = "";
    [Id(1)] public string Name { get; set; } = "";
    [Id(2)] public byte[] Salt { get; set; } = [];
    [Id(3)] public byte[] Hash { get; set; } = [];
    [Id(4)] public DateTimeOffset CreatedAt { get; set; }
    [Id(5)] public DateTimeOffset? ExpiresAt { get; set; }
    [Id(6)] public DateTimeOffset? RevokedAt { get; set; }
}

internal sealed partial class TenantGrain(
    [PersistentState("tenant", StorageNames.Orchestrator)] IPersistentState<TenantState> state,
    Microsoft.Extensions.Options.IOptions<TenantQuotaOptions> defaults,
    TimeProvider time,
    ILogger<TenantGrain> logger) : Grain, ITenantGrain
{
    private string Id => this.GetPrimaryKeyString();

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        // The key is chosen by the caller: refuse to activate under a name that cannot be a tenant.
        if (TenantId.Validate(Id) is { } problem)
        {
            throw new ArgumentException($"Tenant id '{Id}' {problem}.");
        }

        if (!state.RecordExists)
        {
            return;
        }

        // A tenant created before the directory existed joins it the next time it is used. The directory is only
        // the admin's list: a failure here must not stop the tenant's keys from authenticating.
        try
        {
            await RegisterAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogDirectoryUnavailable(ex, Id);
        }
    }

    async Task<TenantInfo> ITenantGrain.CreateAsync(string displayName, TenantQuotas? quotas, CancellationToken cancellationToken) =>
        (await CreateOrGetAsync(displayName, quotas, cancellationToken)).Tenant;

    Task<TenantCreation> ITenantGrain.CreateOrGetAsync(string displayName, TenantQuotas? quotas, CancellationToken cancellationToken) =>
        CreateOrGetAsync(displayName, quotas, cancellationToken);

    private async Task<TenantCreation> CreateOrGetAsync(string displayName, TenantQuotas? quotas, CancellationToken cancellationToken)
    {
        ThrowIfInvalidDisplayName(displayName);
        ThrowIfInvalidQuotas(quotas);
        if (state.RecordExists)
        {
            if (state.State.DisplayName != displayName)
            {
                throw new TenantConflictException($"Tenant '{Id}' already exists with another display name.");
            }

            if (quotas is not null && quotas != Quotas)
            {
                throw new TenantConflictException($"Tenant '{Id}' already exists with other quotas; set them with PUT /api/tenants/{Id}/quotas.");
            }

            // A retried create also completes a registration that failed the first time (it writes nothing otherwise).
            await RegisterAsync(cancellationToken);
            return new TenantCreation(ToInfo(), Created: false);
        }

        var now = time.GetUtcNow();
        state.State.DisplayName = displayName;
        state.State.MaxInstances = quotas?.MaxInstances;
        state.State.MaxConcurrentRuns = quotas?.MaxConcurrentRuns;
        state.State.MaxRunDepth = quotas?.MaxRunDepth;
        state.State.SessionIdleTimeout = quotas?.SessionIdleTimeout;
        state.State.CreatedAt = now;
        state.State.UpdatedAt = now;
        state.State.Revision = 1;
        await state.WriteStateAsync(cancellationToken);
        LogTenantCreated(Id);
        await RegisterAsync(cancellationToken);
        return new TenantCreation(ToInfo(), Created: true);
    }

    ValueTask<TenantInfo?> ITenantGrain.GetAsync() => ValueTask.FromResult(state.RecordExists ? ToInfo() : null);

    async Task<TenantInfo> ITenantGrain.RenameAsync(string displayName, CancellationToken cancellationToken)
    {
        ThrowIfInvalidDisplayName(displayName);
        ThrowIfMissing();
        if (state.State.DisplayName != displayName)
        {
            state.State.DisplayName = displayName;
            state.State.UpdatedAt = time.GetUtcNow();
            state.State.Revision++;
            await state.WriteStateAsync(cancellationToken);
            await RegisterAsync(cancellationToken);
        }

        return ToInfo();
    }

    Task<TenantQuotas> ITenantGrain.GetQuotasAsync() =>
        Task.FromResult(new TenantQuotas(
            state.State.MaxInstances ?? defaults.Value.DefaultMaxInstances,
            state.State.MaxConcurrentRuns ?? defaults.Value.DefaultMaxConcurrentRuns,
            state.State.MaxRunDepth ?? defaults.Value.DefaultMaxRunDepth,
            // No cluster default: sessions stay until deleted unless the tenant says otherwise.
            state.State.SessionIdleTimeout));

    async Task<TenantInfo> ITenantGrain.SetQuotasAsync(TenantQuotas quotas, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(quotas);
        ThrowIfInvalidQuotas(quotas);
        ThrowIfMissing();
        if (quotas != Quotas)
        {
            state.State.MaxInstances = quotas.MaxInstances;
            state.State.MaxConcurrentRuns = quotas.MaxConcurrentRuns;
            state.State.MaxRunDepth = quotas.MaxRunDepth;
            state.State.SessionIdleTimeout = quotas.SessionIdleTimeout;
            state.State.UpdatedAt = time.GetUtcNow();
            state.State.Revision++;
            await state.WriteStateAsync(cancellationToken);
        }

        return ToInfo();
    }

    async Task<CreatedApiKey> ITenantGrain.CreateKeyAsync(string name, DateTimeOffset? expiresAt, CancellationToken cancellationToken)
    {
        if (ApiKeyToken.ValidateName(name) is { } problem)
        {
            throw new ArgumentException($"name {problem}.", nameof(name));
        }

        var now = time.GetUtcNow();
        if (expiresAt is { } expiry && expiry <= now)
        {
            throw new ArgumentException("expires_at must be in the future.", nameof(expiresAt));
        }

        if (expiresAt is { } far && far - now > ApiKeyToken.MaxLifetime)
        {
            throw new ArgumentException($"expires_at must be at most {ApiKeyToken.MaxLifetime.TotalDays:0} days away.", nameof(expiresAt));
        }

        ThrowIfMissing();
        if (state.State.Keys.Count(k => ToInfo(k).StatusAt(now) == ApiKeyInfo.Active) >= ApiKeyToken.MaxActiveKeys)
        {
            throw new TenantConflictException($"Tenant '{Id}' already holds {ApiKeyToken.MaxActiveKeys} active keys; revoke one first.");
        }

        var token = ApiKeyToken.New(Id);
        var salt = RandomNumberGenerator.GetBytes(16);
        var record = new ApiKeyRecord
        {
            Id = token.KeyId,
            Name = name,
            Salt = salt,
            Hash = HashSecret(salt, token.Secret),
            CreatedAt = now,
            ExpiresAt = expiresAt,
        };
        state.State.Keys.Add(record);
        await state.WriteStateAsync(cancellationToken);
        LogKeyCreated(Id, token.KeyId);
        return new CreatedApiKey(ToInfo(record), token.ToString());
    }

    Task<IReadOnlyList<ApiKeyInfo>> ITenantGrain.ListKeysAsync()
    {
        ThrowIfMissing();
        return Task.FromResult<IReadOnlyList<ApiKeyInfo>>([.. state.State.Keys.Select(ToInfo)]);
    }

    async Task<ApiKeyInfo> ITenantGrain.RevokeKeyAsync(string keyId, CancellationToken cancellationToken)
    {
        var record = state.State.Keys.Find(k => k.Id == keyId)
            ?? throw new ApiKeyNotFoundException($"Tenant '{Id}' has no key '{keyId}'.");
        if (record.RevokedAt is null)
        {
            record.RevokedAt = time.GetUtcNow();
            await state.WriteStateAsync(cancellationToken);
            LogKeyRevoked(Id, keyId);
        }

        return ToInfo(record);
    }

    Task<ApiKeyCheck> ITenantGrain.AuthenticateAsync(string keyId, string secret)
    {
        var record = state.State.Keys.Find(k => k.Id == keyId);
        if (record is null || secret is null)
        {
            return Task.FromResult(ApiKeyCheck.Unknown);
        }

        // The hash is compared before anything else is said about the key: no answer tells a
        // guesser that a key id exists but its secret is wrong.
        if (!CryptographicOperations.FixedTimeEquals(HashSecret(record.Salt, secret), record.Hash))
        {
            return Task.FromResult(ApiKeyCheck.Unknown);
        }

        return Task.FromResult(
            record.RevokedAt is not null ? ApiKeyCheck.Revoked
            : record.ExpiresAt is { } expiry && expiry <= time.GetUtcNow() ? ApiKeyCheck.Expired
            : ApiKeyCheck.Valid);
    }

    private static byte[] HashSecret(byte[] salt, string secret)
    {
        var secretBytes = Encoding.UTF8.GetBytes(secret);
        var input = new byte[salt.Length + secretBytes.Length];
        salt.CopyTo(input, 0);
        secretBytes.CopyTo(input, salt.Length);
        return SHA256.HashData(input);
    }

    private Task RegisterAsync(CancellationToken cancellationToken) =>
        GrainFactory.GetGrain<ITenantDirectoryWriterGrain>(0).RegisterAsync(new TenantDirectoryEntry(Id, state.State.DisplayName!, state.State.CreatedAt), cancellationToken);

    private TenantQuotas Quotas => new(state.State.MaxInstances, state.State.MaxConcurrentRuns, state.State.MaxRunDepth, state.State.SessionIdleTimeout);

    private void ThrowIfMissing()
    {
        if (!state.RecordExists)
        {
            throw new TenantNotFoundException($"Tenant '{Id}' does not exist.");
        }
    }

    private static void ThrowIfInvalidQuotas(TenantQuotas? quotas)
    {
        if (quotas?.MaxInstances is < 0 or > TenantQuotas.MaxCountLimit)
        {
            throw new ArgumentException($"quotas.max_instances must be from 0 to {TenantQuotas.MaxCountLimit}.", nameof(quotas));
        }

        if (quotas?.MaxConcurrentRuns is < 0 or > TenantQuotas.MaxCountLimit)
        {
            throw new ArgumentException($"quotas.max_concurrent_runs must be from 0 to {TenantQuotas.MaxCountLimit}.", nameof(quotas));
        }

        if (quotas?.MaxRunDepth is < 0 or > TenantQuotas.MaxRunDepthLimit)
        {
            throw new ArgumentException($"quotas.max_run_depth must be from 0 to {TenantQuotas.MaxRunDepthLimit}.", nameof(quotas));
        }

        if (quotas?.SessionIdleTimeout is { } idle && (idle < TenantQuotas.MinSessionIdleTimeout || idle > TenantQuotas.MaxSessionIdleTimeout))
        {
            throw new ArgumentException(
                $"quotas.session_idle_timeout must be from {TenantQuotas.MinSessionIdleTimeout.TotalSeconds:0} to {TenantQuotas.MaxSessionIdleTimeout.TotalSeconds:0} seconds, or null for none.",
                nameof(quotas));
        }
    }

    private ApiKeyInfo ToInfo(ApiKeyRecord record) =>
        new(record.Id, record.Name, ApiKeyToken.PrefixOf(Id, record.Id), record.CreatedAt, record.ExpiresAt, record.RevokedAt);

    private static void ThrowIfInvalidDisplayName(string displayName)
    {
        if (TenantId.ValidateDisplayName(displayName) is { } problem)
        {
            throw new ArgumentException($"displayName {problem}.", nameof(displayName));
        }
    }

    private TenantInfo ToInfo() =>
        new(Id, state.State.DisplayName!, state.State.CreatedAt, state.State.UpdatedAt, state.State.Revision, Quotas);

    [LoggerMessage(Level = LogLevel.Information, Message = "Tenant {TenantId} created")]
    private partial void LogTenantCreated(string tenantId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Tenant {TenantId} could not be recorded in the tenant directory; it is tried again on its next activation")]
    private partial void LogDirectoryUnavailable(Exception exception, string tenantId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Tenant {TenantId}: API key {KeyId} created")]
    private partial void LogKeyCreated(string tenantId, string keyId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Tenant {TenantId}: API key {KeyId} revoked")]
    private partial void LogKeyRevoked(string tenantId, string keyId);
}
