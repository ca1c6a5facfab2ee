namespace Orchestrator.Grains.Environments;

[GenerateSerializer, Alias("orchestrator.EnvironmentIndexState")]
public sealed class EnvironmentIndexState
{
    [Id(0)] public HashSet<string> Ids { get; set; } = [];
}

/// <summary>Silo-internal: how environment grains add and remove themselves from their tenant's list.</summary>
[Alias("orchestrator.IEnvironmentIndexWriterGrain")]
internal interface IEnvironmentIndexWriterGrain : IGrainWithStringKey
{
    [Alias("Add")]
    Task AddAsync(string environmentId, CancellationToken cancellationToken = default);

    [Alias("Remove")]
    Task RemoveAsync(string environmentId, CancellationToken cancellationToken = default);
}

internal sealed class EnvironmentIndexGrain(
    [PersistentState("environment-index", StorageNames.Orchestrator)] IPersistentState<EnvironmentIndexState> state)
    : Grain, IEnvironmentIndexGrain, IEnvironmentIndexWriterGrain
{
    public Task<IReadOnlyList<string>> ListAsync(CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<string>>([.. state.State.Ids.Order(StringComparer.Ordinal)]);

    public async Task AddAsync(string environmentId, CancellationToken cancellationToken)
    {
        if (state.State.Ids.Add(environmentId))
        {
            await state.WriteStateAsync(cancellationToken);
        }
    }

    public async Task RemoveAsync(string environmentId, CancellationToken cancellationToken)
    {
        if (state.State.Ids.Remove(environmentId))
        {
            await state.WriteStateAsync(cancellationToken);
        }
    }
}
