using System.Data;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Orchestrator.Database;

/// <summary>
/// Brings a PostgreSQL database to the schema this build expects, applying pending embedded migrations
/// in order, all in one transaction. Safe to run from every silo at start: runs serialize on an advisory
/// lock, and a run that finds nothing to do changes nothing.
/// </summary>
public sealed partial class SchemaMigrator
{
    /// <summary>Bookkeeping table: one row per applied migration.</summary>
    public const string HistoryTable = "orchestrator_schema_migrations";

    // Any fixed number works as long as nothing else in the database uses it for pg_advisory locks;
    // these are the ASCII bytes of "ORCHSCMA", unlikely to clash by accident.
    private const long AdvisoryLockKey = 0x4F52434853434D41;

    private readonly string _connectionString;
    private readonly MigrationCatalog _catalog;
    private readonly ILogger<SchemaMigrator> _logger;
    private readonly TimeProvider _timeProvider;

    /// <summary>Creates a migrator for the migrations embedded in this assembly.</summary>
    public SchemaMigrator(string connectionString, ILogger<SchemaMigrator> logger, TimeProvider timeProvider)
        : this(connectionString, MigrationCatalog.Embedded, logger, timeProvider)
    {
    }

    /// <summary>Creates a migrator for an explicit catalog (tests, tools).</summary>
    public SchemaMigrator(string connectionString, MigrationCatalog catalog, ILogger<SchemaMigrator> logger, TimeProvider timeProvider)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(logger);
        ArgumentNullException.ThrowIfNull(timeProvider);

        _connectionString = connectionString;
        _catalog = catalog;
        _logger = logger;
        _timeProvider = timeProvider;
    }

    /// <summary>
    /// Applies every pending migration and records it. Throws <see cref="SchemaVersionException"/> without
    /// changing anything when the database is newer than this build or an applied migration was edited.
    /// </summary>
    public async Task<MigrationResult> MigrateAsync(CancellationToken cancellationToken = default)
    {
        var connection = new NpgsqlConnection(_connectionString);
        await using (connection.ConfigureAwait(false))
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);

            // Read committed takes a fresh snapshot per statement, so a run that waited on the lock sees
            // what the run before it committed. Stated explicitly in case the server's default differs.
            var transaction = await connection.BeginTransactionAsync(IsolationLevel.ReadCommitted, cancellationToken).ConfigureAwait(false);
            await using (transaction.ConfigureAwait(false))
            {
                // Released by commit or rollback, including when the process dies mid-migration.
                await ExecuteAsync(connection, transaction, $"select pg_advisory_xact_lock({AdvisoryLockKey})", cancellationToken).ConfigureAwait(false);
                await ExecuteAsync(connection, transaction, $"""
                    create table if not exists {HistoryTable}
                    (
                        version    integer     not null primary key,
                        name       text        not null,
                        checksum   text        not null,
                        applied_at timestamptz not null
                    )
                    """, cancellationToken).ConfigureAwait(false);

                var applied = await ReadAppliedAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
                var fromVersion = applied.Count == 0 ? 0 : applied.Keys.Max();
                var pending = SelectPending(applied, fromVersion);

                var appliedIds = new List<string>(pending.Count);
                foreach (var migration in pending)
                {
                    var started = _timeProvider.GetTimestamp();
                    await ExecuteAsync(connection, transaction, migration.Sql, cancellationToken).ConfigureAwait(false);
                    await RecordAsync(connection, transaction, migration, cancellationToken).ConfigureAwait(false);
                    var durationMs = _timeProvider.GetElapsedTime(started).TotalMilliseconds;
                    LogMigrationApplied(migration.Version, migration.Name, durationMs);
                    appliedIds.Add(migration.Id);
                }

                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);

                var toVersion = pending.Count == 0 ? fromVersion : pending[^1].Version;
                if (pending.Count == 0)
                {
                    LogUpToDate(toVersion);
                }

                return new MigrationResult(fromVersion, toVersion, appliedIds);
            }
        }
    }

    private List<Migration> SelectPending(Dictionary<int, AppliedMigration> applied, int fromVersion)
    {
        if (fromVersion > _catalog.LatestVersion)
        {
            throw new SchemaVersionException(
                $"The database schema is at version {fromVersion} but this build of Orchestrator knows versions up to {_catalog.LatestVersion}; upgrade Orchestrator or use another database.");
        }

        var pending = new List<Migration>();
        foreach (var migration in _catalog.Migrations)
        {
            if (applied.TryGetValue(migration.Version, out var record))
            {
                if (!string.Equals(record.Checksum, migration.Checksum, StringComparison.OrdinalIgnoreCase))
                {
                    throw new SchemaVersionException(
                        $"Schema migration {migration.Version} ('{record.Name}') was applied to this database with checksum {record.Checksum}, but this build embeds {migration.Id} with checksum {migration.Checksum}. An applied migration must never be edited; restore the original file and add a new migration instead.");
                }
            }
            else if (migration.Version < fromVersion)
            {
                // Applying it now would run it after migrations written to follow it.
                throw new SchemaVersionException(
                    $"Schema migration {migration.Id} is missing from the database although version {fromVersion} is applied; the schema history was altered by hand.");
            }
            else
            {
                pending.Add(migration);
            }
        }

        return pending;
    }

    private static async Task<Dictionary<int, AppliedMigration>> ReadAppliedAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        var command = new NpgsqlCommand($"select version, name, checksum from {HistoryTable}", connection, transaction);
        await using (command.ConfigureAwait(false))
        {
            var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using (reader.ConfigureAwait(false))
            {
                var applied = new Dictionary<int, AppliedMigration>();
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    var version = reader.GetInt32(0);
                    applied[version] = new AppliedMigration(reader.GetString(1), reader.GetString(2));
                }

                return applied;
            }
        }
    }

    private async Task RecordAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, Migration migration, CancellationToken cancellationToken)
    {
        var command = new NpgsqlCommand(
            $"insert into {HistoryTable} (version, name, checksum, applied_at) values (@version, @name, @checksum, @appliedAt)",
            connection,
            transaction);
        await using (command.ConfigureAwait(false))
        {
            command.Parameters.AddWithValue("version", migration.Version);
            command.Parameters.AddWithValue("name", migration.Name);
            command.Parameters.AddWithValue("checksum", migration.Checksum);
            command.Parameters.AddWithValue("appliedAt", _timeProvider.GetUtcNow());
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private static async Task ExecuteAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, string sql, CancellationToken cancellationToken)
    {
        var command = new NpgsqlCommand(sql, connection, transaction)
        {
            // Waiting for another silo's run, or a slow migration on a big table, may take longer than
            // the default 30 s; the caller's token bounds the wait instead.
            CommandTimeout = 0,
        };
        await using (command.ConfigureAwait(false))
        {
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Applied schema migration {Version} {Name} in {DurationMs} ms")]
    private partial void LogMigrationApplied(int version, string name, double durationMs);

    [LoggerMessage(Level = LogLevel.Information, Message = "Database schema is up to date at version {Version}")]
    private partial void LogUpToDate(int version);

    private sealed record AppliedMigration(string Name, string Checksum);
}
