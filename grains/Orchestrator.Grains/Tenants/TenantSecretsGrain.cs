using System.Text;
using Microsoft.Extensions.Logging;
using Orchestrator.Grains.Instances;

namespace Orchestrator.Grains.Tenants;

/// <summary>A tenant's secrets as stored: each value encrypted (AES-256-GCM) under a context naming tenant and secret.</summary>
[GenerateSerializer, Alias("orchestrator.TenantSecretsState")]
public sealed class TenantSecretsState
{
    [Id(0)] public Dictionary<string, TenantSecretRecord> Secrets { get; set; } = [];
}

[GenerateSerializer, Alias("orchestrator.TenantSecretRecord")]
public sealed class TenantSecretRecord
{
    [Id(0)] public byte[] Value { get; set; } = [];
    [Id(1)] public DateTimeOffset CreatedAt { get; set; }
    [Id(2)] public DateTimeOffset UpdatedAt { get; set; }
}

/// <summary>
/// Silo-internal: how a run reads the values of the tenant secrets its workflow references. Not in the
/// abstractions, so no Orleans client can read a value back.
/// </summary>
[Alias("orchestrator.ITenantSecretValuesGrain")]
internal interface ITenantSecretValuesGrain : IGrainWithStringKey
{
    /// <summary>The values of those of <paramref name="names"/> the tenant holds.</summary>
    [Alias("GetValues"), Orleans.Concurrency.ReadOnly]
    Task<Dictionary<string, string>> GetValuesAsync(IReadOnlyCollection<string> names);
}

internal sealed partial class TenantSecretsGrain(
    [PersistentState("tenant-secrets", StorageNames.Orchestrator)] IPersistentState<TenantSecretsState> state,
    InstanceSecretProtector protector,
    TimeProvider time,
    ILogger<TenantSecretsGrain> logger) : Grain, ITenantSecretsGrain, ITenantSecretValuesGrain
{
    private string Tenant => this.GetPrimaryKeyString();

    async Task<TenantSecretWrite> ITenantSecretsGrain.PutAsync(string name, string value, CancellationToken cancellationToken)
    {
        if (TenantSecretRules.ValidateName(name) is { } nameProblem)
        {
            throw new ArgumentException($"name {nameProblem}.", nameof(name));
        }

        if (TenantSecretRules.ValidateValue(value) is { } valueProblem)
        {
            throw new ArgumentException($"value {valueProblem}.", nameof(value));
        }

        var secrets = state.State.Secrets;
        var created = !secrets.TryGetValue(name, out var record);
        if (created && secrets.Count >= TenantSecretRules.MaxSecrets)
        {
            throw new TenantConflictException($"Tenant '{Tenant}' already holds {TenantSecretRules.MaxSecrets} secrets; delete one first.");
        }

        var now = time.GetUtcNow();
        record ??= new TenantSecretRecord { CreatedAt = now };
        record.Value = protector.Protect(Encoding.UTF8.GetBytes(value), Context(name));
        record.UpdatedAt = now;
        secrets[name] = record;
        await state.WriteStateAsync(cancellationToken);
        LogSecretWritten(Tenant, name, created);
        return new TenantSecretWrite(Info(name, record), created);
    }

    Task<IReadOnlyList<TenantSecretInfo>> ITenantSecretsGrain.ListAsync() =>
        Task.FromResult<IReadOnlyList<TenantSecretInfo>>(
            [.. state.State.Secrets.OrderBy(s => s.Key, StringComparer.Ordinal).Select(s => Info(s.Key, s.Value))]);

    async Task<bool> ITenantSecretsGrain.DeleteAsync(string name, CancellationToken cancellationToken)
    {
        if (!state.State.Secrets.Remove(name))
        {
            return false;
        }

        await state.WriteStateAsync(cancellationToken);
        LogSecretDeleted(Tenant, name);
        return true;
    }

    Task<Dictionary<string, string>> ITenantSecretValuesGrain.GetValuesAsync(IReadOnlyCollection<string> names) =>
        Task.FromResult(names
            .Distinct(StringComparer.Ordinal)
            .Where(state.State.Secrets.ContainsKey)
            .ToDictionary(n => n, n => Encoding.UTF8.GetString(protector.Unprotect(state.State.Secrets[n].Value, Context(n))), StringComparer.Ordinal));

    private static TenantSecretInfo Info(string name, TenantSecretRecord record) => new(name, record.CreatedAt, record.UpdatedAt);

    // Binds each ciphertext to its tenant and name: a value copied into another row does not decrypt.
    private string Context(string name) => $"Secret#{Tenant}/{name}";

    [LoggerMessage(Level = LogLevel.Information, Message = "Tenant {Tenant}: secret {Name} written (new: {Created})")]
    private partial void LogSecretWritten(string tenant, string name, bool created);

    [LoggerMessage(Level = LogLevel.Information, Message = "Tenant {Tenant}: secret {Name} deleted")]
    private partial void LogSecretDeleted(string tenant, string name);
}
