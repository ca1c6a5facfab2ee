using Npgsql;
using Orchestrator.Grains.Runs;
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
        if (_index is not null)
        {
            await _index.DisposeAsync();
        }

        if (_dataSource is not null)
        {
            await _dataSource.DisposeAsync();
        }
    }

    [Fact]
    public async Task UpsertsArrivingTogetherShareStatementsAndTheNewestSummaryOfARunWins()
    {
        var tenant = $"t{Guid.NewGuid():N}";
        var created = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var runs = Enumerable.Range(0, 200).Select(i => $"run-{i:D3}").ToList();

        // Each run's summaries in shuffled order, all in flight at once: the newest (succeeded) must stand.
        await Task.WhenAll(runs.SelectMany(run => new[] { ("running", 1), ("succeeded", 2), ("running", 0) }
            .Select(s => Index.UpsertAsync(new RunSummary(tenant, run, "wf", 1, s.Item1, created, created.AddSeconds(s.Item2))))));

        foreach (var run in runs)
        {
            var stored = await Index.GetAsync(tenant, run);
            Assert.Equal(("succeeded", created.AddSeconds(2)), (stored!.Status, stored.UpdatedAt));
        }

        Assert.True(_index!.UpsertStatements < 600 / 5, $"600 upserts took {_index.UpsertStatements} statements");
    }
}

public sealed class InMemoryRunIndexTests : RunIndexContract
{
    protected override IRunIndex Index { get; } = new InMemoryRunIndex();
}
