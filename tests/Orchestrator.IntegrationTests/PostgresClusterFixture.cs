using Orchestrator.Testing;

namespace Orchestrator.IntegrationTests;

/// <summary>
/// xUnit class fixture: a cluster of two real silos on the postgres profile, sharing a fresh database
/// of the process's PostgreSQL server. Both silos are active before the first test runs.
/// </summary>
public sealed class PostgresClusterFixture : IAsyncLifetime
{
    public const int SiloCount = 2;
    public const string ClusterId = "pair";

    private readonly PostgresDatabaseFixture _database = new();
    private readonly List<SiloNode> _silos = [];

    public string ConnectionString => _database.ConnectionString;

    internal IReadOnlyList<SiloNode> Silos => _silos;

    public async Task InitializeAsync()
    {
        await _database.InitializeAsync();
        for (var i = 0; i < SiloCount; i++)
        {
            _silos.Add(await SiloNode.StartAsync(_database.ConnectionString, ClusterId));
        }

        await Wait.UntilAsync(
            async () =>
            {
                foreach (var silo in _silos)
                {
                    if ((await silo.Client.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true)).Count != SiloCount)
                    {
                        return false;
                    }
                }

                return true;
            },
            $"{SiloCount} silos to see each other as active");
    }

    public async Task DisposeAsync()
    {
        foreach (var silo in _silos)
        {
            await silo.DisposeAsync();
        }

        await _database.DisposeAsync();
    }
}
