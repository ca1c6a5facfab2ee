using Microsoft.Extensions.Logging;
using Npgsql;
using Orchestrator.Grains.Runs;

namespace Orchestrator.Runs;

/// <summary>
/// <see cref="IRunEventStore"/> on PostgreSQL (table <c>orchestrator_run_events</c>, migration 0005). It exists
/// so that run histories are durable across silos and crashes: every batch, across all runs, is one
/// <c>insert ... select from unnest(arrays) on conflict do nothing</c> statement, so one round trip stores up
/// to <see cref="RunEventStoreOptions.BatchSize"/> events and a re-append is a no-op.
/// </summary>
public sealed partial class PostgresRunEventStore : IRunEventStore
{
    private const string InsertSql = """
        insert into orchestrator_run_events (run_key, sequence, at, kind, step_id, attempt, data)
        select e.run_key, e.sequence, e.at, e.kind, e.step_id, e.attempt, e.data::json
        from unnest($1::text[], $2::bigint[], $3::timestamptz[], $4::text[], $5::text[], $6::integer[], $7::text[])
            as e (run_key, sequence, at, kind, step_id, attempt, data)
        on conflict (run_key, sequence) do nothing
        """;

    private const string ReadSql = """
        select run_key, sequence, at, kind, step_id, attempt, data::text
        from orchestrator_run_events
        where run_key = $1 and sequence > $2
        order by sequence
        limit $3
        """;

    private const string LastSequenceSql = "select coalesce(max(sequence), 0) from orchestrator_run_events where run_key = $1";

    private readonly NpgsqlDataSource _dataSource;
    private readonly ILogger<PostgresRunEventStore> _logger;
    private readonly RunEventBatcher _batcher;

    /// <summary>Creates the store and starts its batch writer.</summary>
    /// <remarks>Does not own <paramref name="dataSource"/>: whoever created it disposes it, after this store.</remarks>
    public PostgresRunEventStore(
        NpgsqlDataSource dataSource,
        RunEventStoreOptions options,
        TimeProvider timeProvider,
        ILogger<PostgresRunEventStore> logger)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        ArgumentNullException.ThrowIfNull(logger);
        _dataSource = dataSource;
        _logger = logger;
        _batcher = new RunEventBatcher(WriteBatchAsync, options, timeProvider, logger);
    }

    /// <summary>What the batch writer has done so far.</summary>
    public RunEventWriterStatistics Statistics => _batcher.Statistics;

    /// <inheritdoc />
    public ValueTask AppendAsync(RunEvent runEvent, CancellationToken cancellationToken = default) =>
        _batcher.AppendAsync(RunEventRules.Normalize(runEvent), cancellationToken);

    /// <inheritdoc />
    public Task FlushAsync(CancellationToken cancellationToken = default) => _batcher.FlushAsync(cancellationToken);

    /// <inheritdoc />
    public async Task<IReadOnlyList<RunEvent>> ReadAsync(string runKey, long afterSequence, int limit, CancellationToken cancellationToken = default)
    {
        RunEventRules.RequireText(runKey, nameof(runKey));
        ArgumentOutOfRangeException.ThrowIfNegative(afterSequence);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);

        var command = _dataSource.CreateCommand(ReadSql);
        await using (command.ConfigureAwait(false))
        {
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = runKey });
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = afterSequence });
            command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = limit });
            var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using (reader.ConfigureAwait(false))
            {
                var events = new List<RunEvent>();
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    events.Add(new RunEvent(
                        reader.GetString(0),
                        reader.GetInt64(1),
                        reader.GetFieldValue<DateTimeOffset>(2),
                        reader.GetString(3),
                        reader.IsDBNull(4) ? null : reader.GetString(4),
                        reader.GetInt32(5),
                        reader.GetString(6)));
                }

                return events;
            }
        }
    }

    /// <inheritdoc />
    public async Task<long> GetLastSequenceAsync(string runKey, CancellationToken cancellationToken = default)
    {
        RunEventRules.RequireText(runKey, nameof(runKey));
        var command = _dataSource.CreateCommand(LastSequenceSql);
        await using (command.ConfigureAwait(false))
        {
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = runKey });
            var result = await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
            return (long)result!;
        }
    }

    /// <summary>Writes what is queued (see <see cref="RunEventStoreOptions.DisposeTimeout"/>), then stops the writer.</summary>
    public ValueTask DisposeAsync() => _batcher.DisposeAsync();

    private async Task WriteBatchAsync(IReadOnlyList<RunEvent> batch, CancellationToken cancellationToken)
    {
        try
        {
            await InsertAsync(batch, cancellationToken).ConfigureAwait(false);
        }
        catch (PostgresException ex) when (IsDataError(ex))
        {
            // One event the database refuses (class 22: data exception) must not block every run's events
            // behind it forever: write the batch one event at a time and drop only the refused ones.
            if (batch.Count == 1)
            {
                LogEventRefused(ex, batch[0].RunKey, batch[0].Sequence, ex.SqlState);
                return;
            }

            LogIsolating(batch.Count, ex.SqlState);
            foreach (var runEvent in batch)
            {
                await WriteBatchAsync([runEvent], cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async Task InsertAsync(IReadOnlyList<RunEvent> batch, CancellationToken cancellationToken)
    {
        var count = batch.Count;
        var runKeys = new string[count];
        var sequences = new long[count];
        var ats = new DateTime[count];
        var kinds = new string[count];
        var stepIds = new string?[count];
        var attempts = new int[count];
        var data = new string[count];
        for (var i = 0; i < count; i++)
        {
            var e = batch[i];
            runKeys[i] = e.RunKey;
            sequences[i] = e.Sequence;
            ats[i] = e.At.UtcDateTime;
            kinds[i] = e.Kind;
            stepIds[i] = e.StepId;
            attempts[i] = e.Attempt;
            data[i] = e.Data;
        }

        var command = _dataSource.CreateCommand(InsertSql);
        await using (command.ConfigureAwait(false))
        {
            command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = runKeys });
            command.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = sequences });
            command.Parameters.Add(new NpgsqlParameter<DateTime[]> { TypedValue = ats });
            command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = kinds });
            command.Parameters.Add(new NpgsqlParameter<string?[]> { TypedValue = stepIds });
            command.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = attempts });
            command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = data });
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private static bool IsDataError(PostgresException ex) => ex.SqlState.StartsWith("22", StringComparison.Ordinal);

    [LoggerMessage(Level = LogLevel.Warning, Message = "PostgreSQL refused a batch of {Count} run events ({SqlState}); writing them one by one to isolate the bad one")]
    private partial void LogIsolating(int count, string sqlState);

    [LoggerMessage(Level = LogLevel.Error, Message = "PostgreSQL refused run event {RunKey}#{Sequence} ({SqlState}); it is dropped")]
    private partial void LogEventRefused(Exception exception, string runKey, long sequence, string sqlState);
}
