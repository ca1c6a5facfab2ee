using Npgsql;
using Orchestrator.Testing;

namespace Orchestrator.Runs.Tests;

public sealed class PostgresRunIndexTests(PostgresDatabaseFixture fixture) : RunIndexContract, IClassFixture<PostgresDatabaseFixture>, IAsyncLifetime
{
    private NpgsqlDataSource? _dataSource;
    private PostgresRunIndex? _index;

    protected override IRunIndex Index => _index ?? throw new InvalidOperationException("Not initialized.");

    public async Task InitializeAsync()
    {
        _dataSource = await RunDatabase.MigrateAsync(fixture.ConnectionString);
        _index = new PostgresRunIndex(_dataSource);
    }

    public async Task DisposeAsync()
    {
        if (_dataSource is not null)
        {
            await _dataSource.DisposeAsync();
        }
    }
}

public sealed class InMemoryRunIndexTests : RunIndexContract
{
    protected override IRunIndex Index { get; } = new InMemoryRunIndex();
}
