using Npgsql;
using Orchestrator.Testing;

namespace Orchestrator.Runs.Tests;

public sealed class PostgresRunStateStoreTests(PostgresDatabaseFixture fixture) : IClassFixture<PostgresDatabaseFixture>, IAsyncLifetime
{
    private NpgsqlDataSource? _dataSource;

    private NpgsqlDataSource DataSource => _dataSource ?? throw new InvalidOperationException("Not initialized.");

    public async Task InitializeAsync() => _dataSource = await RunDatabase.MigrateAsync(fixture.ConnectionString);

    public async Task DisposeAsync()
    {
        if (_dataSource is not null)
        {
            await _dataSource.DisposeAsync();
        }
    }

    [Fact]
    public async Task ANewRunIsInsertedAtVersionOneAndEachWriteOnTheVersionItReadAddsOne()
    {
        await using var store = new PostgresRunStateStore(DataSource);
        var run = NewRunKey();
        Assert.Null(await store.ReadAsync(run));

        Assert.Equal(1, await store.WriteAsync(run, 0, stored: false, [1]));
        Assert.Equal(2, await store.WriteAsync(run, 1, stored: true, [2, 2]));

        var read = await store.ReadAsync(run);
        Assert.Equal(2, read!.Version);
        Assert.Equal([2, 2], read.Payload);
    }

    [Fact]
    public async Task AWriteOnAVersionThatIsNoLongerStoredIsAConflictAndChangesNothing()
    {
        await using var store = new PostgresRunStateStore(DataSource);
        var run = NewRunKey();
        await store.WriteAsync(run, 0, stored: false, [1]);
        await store.WriteAsync(run, 1, stored: true, [2]);

        await Assert.ThrowsAsync<RunStateConflictException>(() => store.WriteAsync(run, 1, stored: true, [3]));
        await Assert.ThrowsAsync<RunStateConflictException>(() => store.WriteAsync(run, 0, stored: false, [4]));

        var read = await store.ReadAsync(run);
        Assert.Equal(2, read!.Version);
        Assert.Equal([2], read.Payload);
    }

    [Fact]
    public async Task ARunCarriedOverFromElsewhereIsInsertedAtItsVersionThereAndOnlyOnce()
    {
        await using var store = new PostgresRunStateStore(DataSource);
        var run = NewRunKey();

        Assert.Equal(8, await store.WriteAsync(run, 7, stored: false, [7]));
        await Assert.ThrowsAsync<RunStateConflictException>(() => store.WriteAsync(run, 7, stored: false, [7]));
        Assert.Equal(8, (await store.ReadAsync(run))!.Version);
    }

    [Fact]
    public async Task ConcurrentWritesOfManyRunsShareStatementsAndEachLandsOnce()
    {
        await using var store = new PostgresRunStateStore(DataSource);
        var runs = Enumerable.Range(0, 300).Select(_ => NewRunKey()).ToList();

        await Task.WhenAll(runs.Select(async run =>
        {
            var version = 0;
            for (var write = 0; write < 5; write++)
            {
                version = await store.WriteAsync(run, version, stored: write > 0, [(byte)write]);
            }
        }));

        foreach (var run in runs)
        {
            var read = await store.ReadAsync(run);
            Assert.Equal(5, read!.Version);
            Assert.Equal([4], read.Payload);
        }

        var (batches, writes) = store.Statistics;
        Assert.Equal(1500, writes);
        // How many writes share a statement depends on how many queue while one runs (fewer on a loaded machine); that they
        // share at all is the property: one statement per write would be 1500.
        Assert.True(batches < writes / 2, $"{writes} writes took {batches} statements");
    }

    [Fact]
    public async Task TwoWritesOfOneRunQueuedTogetherGoToSeparateStatementsAndTheStaleOneConflicts()
    {
        await using var store = new PostgresRunStateStore(DataSource);
        var run = NewRunKey();
        await store.WriteAsync(run, 0, stored: false, [0]);

        var first = store.WriteAsync(run, 1, stored: true, [1]);
        var second = store.WriteAsync(run, 1, stored: true, [2]);

        Assert.Equal(2, await first);
        await Assert.ThrowsAsync<RunStateConflictException>(() => second);
        Assert.Equal([1], (await store.ReadAsync(run))!.Payload);
    }

    [Fact]
    public async Task ADeleteTakesTheRowOnlyAtTheVersionItNames()
    {
        await using var store = new PostgresRunStateStore(DataSource);
        var run = NewRunKey();
        await store.WriteAsync(run, 0, stored: false, [0]);

        Assert.False(await store.DeleteAsync(run, 2));
        Assert.True(await store.DeleteAsync(run, 1));
        Assert.Null(await store.ReadAsync(run));
    }

    [Fact]
    public async Task WritesQueuedBeforeDisposalAreWritten()
    {
        var run = NewRunKey();
        Task<int> write;
        await using (var store = new PostgresRunStateStore(DataSource))
        {
            write = store.WriteAsync(run, 0, stored: false, [9]);
        }

        Assert.Equal(1, await write);
        await using var again = new PostgresRunStateStore(DataSource);
        Assert.Equal([9], (await again.ReadAsync(run))!.Payload);
    }

    private static string NewRunKey() => $"t/run-{Guid.NewGuid():N}";
}
