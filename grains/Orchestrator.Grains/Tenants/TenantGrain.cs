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
}

internal sealed partial class TenantGrain(
    [PersistentState("tenant", StorageNames.Orchestrator)] IPersistentState<TenantState> state,
    TimeProvider time,
    ILogger<TenantGrain> logger) : Grain, ITenantGrain
{
    private string Id => this.GetPrimaryKeyString();

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        // The key is chosen by the caller: refuse to activate under a name that cannot be a tenant.
        if (TenantId.Validate(Id) is { } problem)
        {
            throw new ArgumentException($"Tenant id '{Id}' {problem}.");
        }

        return Task.CompletedTask;
    }

    async Task<TenantInfo> ITenantGrain.CreateAsync(string displayName, CancellationToken cancellationToken)
    {
        ThrowIfInvalidDisplayName(displayName);
        if (state.RecordExists)
        {
            return state.State.DisplayName == displayName
                ? ToInfo()
                : throw new TenantConflictException($"Tenant '{Id}' already exists with another display name.");
        }

        var now = time.GetUtcNow();
        state.State.DisplayName = displayName;
        state.State.CreatedAt = now;
        state.State.UpdatedAt = now;
        state.State.Revision = 1;
        await state.WriteStateAsync(cancellationToken);
        LogTenantCreated(Id);
        return ToInfo();
    }

    ValueTask<TenantInfo?> ITenantGrain.GetAsync() => ValueTask.FromResult(state.RecordExists ? ToInfo() : null);

    async Task<TenantInfo> ITenantGrain.RenameAsync(string displayName, CancellationToken cancellationToken)
    {
        ThrowIfInvalidDisplayName(displayName);
        if (!state.RecordExists)
        {
            throw new TenantNotFoundException($"Tenant '{Id}' does not exist.");
        }

        if (state.State.DisplayName != displayName)
        {
            state.State.DisplayName = displayName;
            state.State.UpdatedAt = time.GetUtcNow();
            state.State.Revision++;
            await state.WriteStateAsync(cancellationToken);
        }

        return ToInfo();
    }

    private static void ThrowIfInvalidDisplayName(string displayName)
    {
        if (TenantId.ValidateDisplayName(displayName) is { } problem)
        {
            throw new ArgumentException($"displayName {problem}.", nameof(displayName));
        }
    }

    private TenantInfo ToInfo() =>
        new(Id, state.State.DisplayName!, state.State.CreatedAt, state.State.UpdatedAt, state.State.Revision);

    [LoggerMessage(Level = LogLevel.Information, Message = "Tenant {TenantId} created")]
    private partial void LogTenantCreated(string tenantId);
}
