namespace Orchestrator.Grains.Tenants;

/// <summary>Persisted directory of every tenant. The ADO.NET provider stores it as JSON: plain settable members.</summary>
[GenerateSerializer, Alias("orchestrator.TenantDirectoryState")]
public sealed class TenantDirectoryState
{
    [Id(0)] public Dictionary<string, TenantDirectoryRecord> Tenants { get; set; } = [];
}

[GenerateSerializer, Alias("orchestrator.TenantDirectoryRecord")]
public sealed class TenantDirectoryRecord
{
    [Id(0)] public string DisplayName { get; set; } = "";
    [Id(1)] public DateTimeOffset CreatedAt { get; set; }
}

/// <remarks>
/// One record for the whole cluster: tenants are made by the admin, so there are few enough (thousands, not
/// millions) for one state to hold them, and a write happens only when a tenant appears or is renamed.
/// </remarks>
internal sealed class TenantDirectoryGrain(
    [PersistentState("tenant-directory", StorageNames.Orchestrator)] IPersistentState<TenantDirectoryState> state)
    : Grain, ITenantDirectoryGrain, ITenantDirectoryWriterGrain
{
    public const int MaxLimit = 100;

    async Task ITenantDirectoryWriterGrain.RegisterAsync(TenantDirectoryEntry entry, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var tenants = state.State.Tenants;
        if (tenants.TryGetValue(entry.Id, out var held) && held.DisplayName == entry.DisplayName && held.CreatedAt == entry.CreatedAt)
        {
            return;
        }

        tenants[entry.Id] = new TenantDirectoryRecord { DisplayName = entry.DisplayName, CreatedAt = entry.CreatedAt };
        await state.WriteStateAsync(cancellationToken);
    }

    Task<TenantDirectoryPage> ITenantDirectoryGrain.ListAsync(int limit, string? cursor, CancellationToken cancellationToken)
    {
        limit = Math.Clamp(limit, 1, MaxLimit);
        var matching = state.State.Tenants
            .Where(t => cursor is null || string.CompareOrdinal(t.Key, cursor) > 0)
            .OrderBy(t => t.Key, StringComparer.Ordinal)
            .Take(limit + 1)
            .Select(t => new TenantDirectoryEntry(t.Key, t.Value.DisplayName, t.Value.CreatedAt))
            .ToList();
        var page = matching.Take(limit).ToList();
        return Task.FromResult(new TenantDirectoryPage(page, matching.Count > limit ? page[^1].Id : null));
    }
}
