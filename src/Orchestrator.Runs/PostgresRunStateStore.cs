using System.Threading.Channels;
using Npgsql;

namespace Orchestrator.Runs;

/// <summary>
/// Run checkpoints on PostgreSQL (table <c>orchestrator_run_states</c>, migration 0006), each a versioned payload
/// under its run key. It exists because a run writes its checkpoint once per step transition: here the writes
/// of all runs that arrive together go to the database as one statement in one transaction, and each writer is
/// answered when that transaction has committed. A write still only lands on the version its writer read.
/// </summary>
/// <remarks>
/// Up to <see cref="MaxBatchesInFlight"/> batches are written at once; what arrives meanwhile waits for the next
/// one, so the batch grows with the load and no write waits for a timer. A failed statement fails every write
/// in it (the callers retry, as they would a failed write of their own).
/// </remarks>
public sealed class PostgresRunStateStore : IAsyncDisposable
{
    /// <summary>Most writes one statement carries.</summary>
    public const int MaxBatchSize = 500;

    /// <summary>Statements in flight at once: enough to overlap one batch's commit with the next one's sending.</summary>
    public const int MaxBatchesInFlight = 2;

    private const string WriteSql = """
        with input as
        (
            select * from unnest($1::text[], $2::integer[], $3::boolean[], $4::bytea[]) as i (run_key, version, stored, payload)
        ),
        updated as
        (
            update orchestrator_run_states s
            set payload = i.payload, version = s.version + 1, updated_at = now()
            from input i
            where i.stored and s.run_key = i.run_key and s.version = i.version
            returning s.run_key
        ),
        inserted as
        (
            insert into orchestrator_run_states (run_key, version, payload)
            select i.run_key, i.version + 1, i.payload from input i where not i.stored
            on conflict (run_key) do nothing
            returning run_key
        )
        select run_key from updated
        union all
        select run_key from inserted
        """;

    private const string ReadSql = "select version, payload from orchestrator_run_states where run_key = $1";

    private const string DeleteSql = "delete from orchestrator_run_states where run_key = $1 and version = $2";

    private readonly NpgsqlDataSource _dataSource;
    private readonly Channel<PendingWrite> _queue = Channel.CreateUnbounded<PendingWrite>(new UnboundedChannelOptions { SingleReader = true });
    private readonly SemaphoreSlim _slots = new(MaxBatchesInFlight, MaxBatchesInFlight);
    private readonly Task _loop;
    private long _batchesWritten;
    private long _writes;

    /// <remarks>Does not own <paramref name="dataSource"/>: whoever created it disposes it, after this store.</remarks>
    public PostgresRunStateStore(NpgsqlDataSource dataSource)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        _dataSource = dataSource;
        _loop = Task.Run(RunAsync);
    }

    /// <summary>Statements written and the writes they carried, so far.</summary>
    public (long Batches, long Writes) Statistics => (Interlocked.Read(ref _batchesWritten), Interlocked.Read(ref _writes));

    /// <summary>The stored checkpoint of a run, or null when there is none.</summary>
    public async Task<StoredRunState?> ReadAsync(string runKey, CancellationToken cancellationToken = default)
    {
        RunEventRules.RequireText(runKey, nameof(runKey));
        var command = _dataSource.CreateCommand(ReadSql);
        await using (command.ConfigureAwait(false))
        {
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = runKey });
            var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using (reader.ConfigureAwait(false))
            {
                return await reader.ReadAsync(cancellationToken).ConfigureAwait(false)
                    ? new StoredRunState(reader.GetInt32(0), reader.GetFieldValue<byte[]>(1))
                    : null;
            }
        }
    }

    /// <summary>
    /// Writes a checkpoint over <paramref name="version"/> and returns the new version (<paramref name="version"/> + 1).
    /// <paramref name="stored"/> says whether this table holds that version; when it does not (a new run at 0, or a
    /// run carried over from elsewhere at its version there), the row is inserted.
    /// </summary>
    /// <exception cref="RunStateConflictException">The row is not at <paramref name="version"/> (or already exists): someone else wrote it.</exception>
    public Task<int> WriteAsync(string runKey, int version, bool stored, byte[] payload)
    {
        RunEventRules.RequireText(runKey, nameof(runKey));
        ArgumentNullException.ThrowIfNull(payload);
        ArgumentOutOfRangeException.ThrowIfNegative(version);
        var write = new PendingWrite(runKey, version, stored, payload);
        ObjectDisposedException.ThrowIf(!_queue.Writer.TryWrite(write), this);
        return write.Done.Task;
    }

    /// <summary>Deletes the row if it is at <paramref name="version"/>; false when it is not (or is gone).</summary>
    public async Task<bool> DeleteAsync(string runKey, int version, CancellationToken cancellationToken = default)
    {
        RunEventRules.RequireText(runKey, nameof(runKey));
        var command = _dataSource.CreateCommand(DeleteSql);
        await using (command.ConfigureAwait(false))
        {
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = runKey });
            command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = version });
            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
        }
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
        var deferred = new List<PendingWrite>();
        while (true)
        {
            await _slots.WaitAsync().ConfigureAwait(false);
            if (deferred.Count == 0 && !await reader.WaitToReadAsync().ConfigureAwait(false))
            {
                _slots.Release();
                return;
            }

            // One statement cannot write a row twice: a second write of the same run waits for the next batch.
            var batch = new List<PendingWrite>();
            var keys = new HashSet<string>(StringComparer.Ordinal);
            var carried = deferred;
            deferred = [];
            foreach (var write in carried)
            {
                (batch.Count < MaxBatchSize && keys.Add(write.RunKey) ? batch : deferred).Add(write);
            }

            while (batch.Count < MaxBatchSize && reader.TryRead(out var next))
            {
                (keys.Add(next.RunKey) ? batch : deferred).Add(next);
            }

            _ = WriteBatchAsync(batch);
        }
    }

    private async Task WriteBatchAsync(List<PendingWrite> batch)
    {
        try
        {
            var written = await ExecuteAsync(batch).ConfigureAwait(false);
            Interlocked.Increment(ref _batchesWritten);
            Interlocked.Add(ref _writes, batch.Count);
            foreach (var write in batch)
            {
                if (written.Contains(write.RunKey))
                {
                    write.Done.TrySetResult(write.Version + 1);
                }
                else
                {
                    write.Done.TrySetException(new RunStateConflictException(write.RunKey, write.Version, write.Stored));
                }
            }
        }
        catch (Exception exception)
        {
            foreach (var write in batch)
            {
                write.Done.TrySetException(exception);
            }
        }
        finally
        {
            _slots.Release();
        }
    }

    private async Task<HashSet<string>> ExecuteAsync(List<PendingWrite> batch)
    {
        var command = _dataSource.CreateCommand(WriteSql);
        await using (command.ConfigureAwait(false))
        {
            command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. batch.Select(w => w.RunKey)] });
            command.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = [.. batch.Select(w => w.Version)] });
            command.Parameters.Add(new NpgsqlParameter<bool[]> { TypedValue = [.. batch.Select(w => w.Stored)] });
            command.Parameters.Add(new NpgsqlParameter<byte[][]> { TypedValue = [.. batch.Select(w => w.Payload)] });
            var written = new HashSet<string>(StringComparer.Ordinal);
            var reader = await command.ExecuteReaderAsync().ConfigureAwait(false);
            await using (reader.ConfigureAwait(false))
            {
                while (await reader.ReadAsync().ConfigureAwait(false))
                {
                    written.Add(reader.GetString(0));
                }
            }

            return written;
        }
    }

    private sealed record PendingWrite(string RunKey, int Version, bool Stored, byte[] Payload)
    {
        public TaskCompletionSource<int> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}

/// <summary>A run's stored checkpoint: its version (writes so far) and its payload.</summary>
public sealed record StoredRunState(int Version, byte[] Payload);

/// <summary>A checkpoint write found its row at another version than its writer read: someone else wrote it.</summary>
public sealed class RunStateConflictException(string runKey, int version, bool stored)
    : Exception(stored
        ? $"The checkpoint of run '{runKey}' is no longer at version {version}."
        : $"The checkpoint of run '{runKey}' was already written (expected none past version {version}).")
{
    public string RunKey { get; } = runKey;
}
