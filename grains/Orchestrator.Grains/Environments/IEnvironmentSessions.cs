namespace Orchestrator.Grains.Environments;

/// <summary>
/// The sessions of an environment's instance, as <c>GET /api/environments</c> lists them. Persistent sessions register
/// their own implementation; until then an environment lists none.
/// </summary>
public interface IEnvironmentSessions
{
    Task<IReadOnlyList<string>> ListAsync(string tenant, string instanceId, CancellationToken cancellationToken);
}

/// <summary>The default: no sessions known.</summary>
internal sealed class NoEnvironmentSessions : IEnvironmentSessions
{
    public Task<IReadOnlyList<string>> ListAsync(string tenant, string instanceId, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<string>>([]);
}
