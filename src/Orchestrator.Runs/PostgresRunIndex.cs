using System.Text;
using System.Threading.Channels;
using Npgsql;
using Orchestrator.Grains.Runs;

namespace Orchestrator.Runs;

/// <summary>
/// <see cref="IRunIndex"/> on PostgreSQL (table <c>orchestrator_runs</c>, migration 0005). It exists so that run
/// listing stays an index range scan however many runs there are: each page is one keyset query on
/// (tenant[, status | workflow], created_at desc, run_id desc), never an offset.
/// </summary>
/// <remarks>
/// Every run upserts its summary when it starts and when it ends, so upserts that arrive together are written as
/// one statement (up to <see cref="MaxBatchesInFlight"/> at once); each caller is answered when its statement has
/// committed. Does not own the data source: whoever created it disposes it, after this index.
/// </remarks>
public sealed class PostgresRunIndex : IRunIndex, IAsyncDisposable
{
    /// <summary>Most summaries one upsert statement carries.</summary>
    public const int MaxBatchSize = 500;

    /// <summary>Upsert statements in flight at once.</summary>
    public const int MaxBatchesInFlight = 2;

    private const string Columns = "tenant, run_id, workflow, version, status, created_at, updated_at";

    // A stale update (older updated_at) changes nothing; created_at is the first one stored. A batch holds one
    // summary per run (the newest), as one statement cannot update a row twice.
    private const string UpsertSql = """
        insert into orchestrator_runs as r (tenant, run_id, workflow, version, status, created_at, updated_at)
        select * from unnest($1::text[], $2::text[], $3::text[], $4::integer[], $5::text[], $6::timestamptz[], $7::timestamptz[])
        on conflict (tenant, run_id) do update
        set workflow = excluded.workflow,
            version = excluded.version,
            status = excluded.status,
            updated_at = excluded.updated_at
        where r.updated_at <= excluded.updated_at
        """;

    private const string GetSql = $"select {Columns} from orchestrator_runs where tenant = $1 and run_id = $2";

    private readonly NpgsqlDataSource _dataSource;
    private readonly Channel<PendingUpsert> _queue = Channel.CreateUnbounded<PendingUpsert>(new UnboundedChannelOptions { SingleReader = true });
    private readonly SemaphoreSlim _slots = new(MaxBatchesInFlight, MaxBatchesInFlight);
    private readonly Task _loop;
    private long _statements;

    public PostgresRunIndex(NpgsqlDataSource dataSource)
    {
        _dataSource = dataSource ?? throw new ArgumentNullException(nameof(dataSource));
        _loop = Task.Run(RunAsync);
    }

    /// <summary>Upsert statements written so far.</summary>
    public long UpsertStatements => Interlocked.Read(ref _statements);

    /// <inheritdoc />
    public async Task UpsertAsync(RunSummary summary, CancellationToken cancellationToken = default)
    {
        var upsert = new PendingUpsert(RunSummaryRules.Normalize(summary));
        ObjectDisposedException.ThrowIf(!_queue.Writer.TryWrite(upsert), this);
        await upsert.Done.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Writes what is queued, then stops.</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _loop.ConfigureAwait(false);
        for (var i = 0; i < MaxBatchesInFlight; i++)
        {
            await _slots.WaitAsync().ConfigureAwait(false);
        }

        _slots.Dispose();
    }

    private async Task RunAsync()
    {
        var reader = _queue.Reader;
        while (true)
        {
            await _slots.WaitAsync().ConfigureAwait(false);
            if (!await reader.WaitToReadAsync().ConfigureAwait(false))
            {
                _slots.Release();
                return;
            }

            var batch = new List<PendingUpsert>();
            while (batch.Count < MaxBatchSize && reader.TryRead(out var next))
            {
                batch.Add(next);
            }

            _ = UpsertBatchAsync(batch);
        }
    }

    private async Task UpsertBatchAsync(List<PendingUpsert> batch)
    {
        try
        {
            // The newest summary of each run stands for all of its batch: the older ones would change nothing.
            var rows = batch
                .GroupBy(u => (u.Summary.Tenant, u.Summary.RunId))
                .Select(g => g.Select(u => u.Summary).MaxBy(s => s.UpdatedAt)!)
                .ToList();
            var command = _dataSource.CreateCommand(UpsertSql);
            await using (command.ConfigureAwait(false))
            {
                command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. rows.Select(r => r.Tenant)] });
                command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. rows.Select(r => r.RunId)] });
                command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. rows.Select(r => r.Workflow)] });
                command.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = [.. rows.Select(r => r.Version)] });
                command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. rows.Select(r => r.Status)] });
                command.Parameters.Add(new NpgsqlParameter<DateTime[]> { TypedValue = [.. rows.Select(r => r.CreatedAt.UtcDateTime)] });
                command.Parameters.Add(new NpgsqlParameter<DateTime[]> { TypedValue = [.. rows.Select(r => r.UpdatedAt.UtcDateTime)] });
                await command.ExecuteNonQueryAsync().ConfigureAwait(false);
            }

            Interlocked.Increment(ref _statements);
            foreach (var upsert in batch)
            {
                upsert.Done.TrySetResult();
            }
        }
        catch (Exception exception)
        {
            foreach (var upsert in batch)
            {
                upsert.Done.TrySetException(exception);
            }
        }
        finally
        {
            _slots.Release();
        }
    }

    /// <inheritdoc />
    public async Task<RunPage> ListAsync(string tenant, RunListQuery query, CancellationToken cancellationToken = default)
    {
        var command = CreateListCommand(tenant, query);
        await using (command.ConfigureAwait(false))
        {
            var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using (connection.ConfigureAwait(false))
            {
                command.Connection = connection;
                var items = await ReadSummariesAsync(command, cancellationToken).ConfigureAwait(false);
                return RunSummaryRules.ToPage(items, query.Limit);
            }
        }
    }

    /// <inheritdoc />
    public async Task<RunSummary?> GetAsync(string tenant, string runId, CancellationToken cancellationToken = default)
    {
        RunEventRules.RequireText(tenant, nameof(tenant));
        RunEventRules.RequireText(runId, nameof(runId));
        var command = _dataSource.CreateCommand(GetSql);
        await using (command.ConfigureAwait(false))
        {
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = tenant });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = runId });
            var items = await ReadSummariesAsync(command, cancellationToken).ConfigureAwait(false);
            return items.Count == 0 ? null : items[0];
        }
    }

    /// <summary>
    /// The list query, not bound to a connection (tests EXPLAIN it). Only the filters asked for appear in the
    /// SQL, so every variant gets a plan for its own index even when prepared. Fetches one row more than the
    /// page to know whether there is a next page.
    /// </summary>
    internal static NpgsqlCommand CreateListCommand(string tenant, RunListQuery query)
    {
        RunEventRules.RequireText(tenant, nameof(tenant));
        ArgumentNullException.ThrowIfNull(query);
        query.Validate();
        RunCursor? cursor = query.Cursor is null ? null : RunCursor.Decode(query.Cursor);

        var command = new NpgsqlCommand();
        var sql = new StringBuilder($"select {Columns} from orchestrator_runs where tenant = $1");
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = tenant });
        if (query.Status is not null)
        {
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = query.Status });
            sql.Append(" and status = $").Append(command.Parameters.Count);
        }

        if (query.Workflow is not null)
        {
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = query.Workflow });
            sql.Append(" and workflow = $").Append(command.Parameters.Count);
        }

        if (cursor is { } after)
        {
            // A row comparison matches the index order (created_at desc, run_id desc) as one range bound.
            command.Parameters.Add(new NpgsqlParameter<DateTime> { TypedValue = after.CreatedAt.UtcDateTime });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = after.RunId });
            sql.Append(" and (created_at, run_id) < ($").Append(command.Parameters.Count - 1)
                .Append(", $").Append(command.Parameters.Count).Append(')');
        }

        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = query.Limit + 1 });
        sql.Append(" order by created_at desc, run_id desc limit $").Append(command.Parameters.Count);
        command.CommandText = sql.ToString();
        return command;
    }

    private static async Task<List<RunSummary>> ReadSummariesAsync(NpgsqlCommand command, CancellationToken cancellationToken)
    {
        var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (reader.ConfigureAwait(false))
        {
            var items = new List<RunSummary>();
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                items.Add(new RunSummary(
                    reader.GetString(0),
                    reader.GetString(1),
                    reader.GetString(2),
                    reader.GetInt32(3),
                    reader.GetString(4),
                    reader.GetFieldValue<DateTimeOffset>(5),
                    reader.GetFieldValue<DateTimeOffset>(6)));
            }

            return items;
        }
    }

    private sealed record PendingUpsert(RunSummary Summary)
    {
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
