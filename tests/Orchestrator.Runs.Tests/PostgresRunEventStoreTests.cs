using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Orchestrator.Grains.Runs;
using Orchestrator.Testing;
using Xunit.Abstractions;

namespace Orchestrator.Runs.Tests;

public sealed class PostgresRunEventStoreTests(PostgresDatabaseFixture fixture, ITestOutputHelper output)
    : RunEventStoreContract(output), IClassFixture<PostgresDatabaseFixture>, IAsyncLifetime
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
    public async Task AnEventTheDatabaseRefusesIsDroppedAloneAndTheRestOfItsBatchIsStored()
    {
        // Stand-in for data that passes the append checks but not PostgreSQL: a trigger refusing one kind
        // with a data exception (SQLSTATE class 22).
        await using (var command = DataSource.CreateCommand("""
            create or replace function refuse_poison() returns trigger language plpgsql as $f$
            begin
                if new.kind = 'test.poison' then
                    raise exception 'poison' using errcode = '22023';
                end if;
                return new;
            end
            $f$;
            create or replace trigger refuse_poison before insert on orchestrator_run_events
                for each row execute function refuse_poison();
            """))
        {
            await command.ExecuteNonQueryAsync();
        }

        try
        {
            await using var store = CreateStore(new RunEventStoreOptions { BatchSize = 10_000, FlushDelay = TimeSpan.FromHours(1) });
            var run = NewRunKey();
            await store.AppendAsync(Event(run, 1));
            await store.AppendAsync(Event(run, 2, kind: "test.poison"));
            await store.AppendAsync(Event(run, 3));
            await store.FlushAsync();

            Assert.Equal([1L, 3], (await store.ReadAsync(run, 0, 10)).Select(e => e.Sequence));
        }
        finally
        {
            await using var drop = DataSource.CreateCommand("drop trigger refuse_poison on orchestrator_run_events");
            await drop.ExecuteNonQueryAsync();
        }
    }

    [Fact]
    public async Task AFailingDatabaseIsRetriedUntilItRecovers()
    {
        await using var store = CreateStore(new RunEventStoreOptions { FlushDelay = TimeSpan.Zero, RetryDelay = TimeSpan.FromMilliseconds(10), MaxRetryDelay = TimeSpan.FromMilliseconds(50) });
        var run = NewRunKey();
        await using (var rename = DataSource.CreateCommand("alter table orchestrator_run_events rename to orchestrator_run_events_away"))
        {
            await rename.ExecuteNonQueryAsync();
        }

        try
        {
            await store.AppendAsync(Event(run, 1));
            var flush = store.FlushAsync();
            await Wait.UntilAsync(() => Task.FromResult(StatisticsOf(store).FailedWrites >= 2), "two failed batch writes while the table is missing", TimeSpan.FromSeconds(10));
            Assert.False(flush.IsCompleted);
        }
        finally
        {
            await using var back = DataSource.CreateCommand("alter table orchestrator_run_events_away rename to orchestrator_run_events");
            await back.ExecuteNonQueryAsync();
        }

        await store.FlushAsync();
        Assert.Equal(1, await store.GetLastSequenceAsync(run));
    }

    protected override IRunEventStore CreateStore(RunEventStoreOptions options) =>
        new PostgresRunEventStore(DataSource, options, TimeProvider.System, NullLogger<PostgresRunEventStore>.Instance);

    protected override async Task<IAsyncDisposable> BlockWritesAsync(IRunEventStore store)
    {
        // Exclusive mode blocks inserts, not reads; held until the transaction ends.
        var connection = await DataSource.OpenConnectionAsync();
        var transaction = await connection.BeginTransactionAsync();
        await using (var command = new NpgsqlCommand("lock table orchestrator_run_events in exclusive mode", connection, transaction))
        {
            await command.ExecuteNonQueryAsync();
        }

        return new Release(async () =>
        {
            await transaction.RollbackAsync();
            await transaction.DisposeAsync();
            await connection.DisposeAsync();
        });
    }

    protected override RunEventWriterStatistics StatisticsOf(IRunEventStore store) => ((PostgresRunEventStore)store).Statistics;

    protected override async Task<IReadOnlyList<RunEvent>> ReadAfterDisposeAsync(IRunEventStore disposed, string runKey)
    {
        await using var fresh = CreateStore(new RunEventStoreOptions());
        return await fresh.ReadAsync(runKey, 0, 1000);
    }
}

public sealed class InMemoryRunEventStoreTests(ITestOutputHelper output) : RunEventStoreContract(output)
{
    protected override IRunEventStore CreateStore(RunEventStoreOptions options) =>
        new InMemoryRunEventStore(options, TimeProvider.System, NullLogger<InMemoryRunEventStore>.Instance);

    protected override Task<IAsyncDisposable> BlockWritesAsync(IRunEventStore store)
    {
        var memory = (InMemoryRunEventStore)store;
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        memory.BeforeWrite = ct => gate.Task.WaitAsync(ct);
        return Task.FromResult<IAsyncDisposable>(new Release(() =>
        {
            memory.BeforeWrite = null;
            gate.SetResult();
            return Task.CompletedTask;
        }));
    }

    protected override RunEventWriterStatistics StatisticsOf(IRunEventStore store) => ((InMemoryRunEventStore)store).Statistics;

    // Memory is the storage: the disposed store's reads still answer from it.
    protected override Task<IReadOnlyList<RunEvent>> ReadAfterDisposeAsync(IRunEventStore disposed, string runKey) =>
        disposed.ReadAsync(runKey, 0, 1000);
}

internal sealed class Release(Func<Task> release) : IAsyncDisposable
{
    public async ValueTask DisposeAsync() => await release();
}
