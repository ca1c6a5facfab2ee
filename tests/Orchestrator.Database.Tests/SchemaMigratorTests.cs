using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Orchestrator.Testing;

namespace Orchestrator.Database.Tests;

public sealed class SchemaMigratorTests(PostgresDatabaseFixture fixture) : IClassFixture<PostgresDatabaseFixture>
{
    private static readonly string[] OrleansTables =
    [
        "orleansquery",
        "orleansmembershipversiontable",
        "orleansmembershiptable",
        "orleansstorage",
        "orleansreminderstable",
    ];

    // Every key the 10.4.2 providers look up (see shared/reference/orleans-adonet-postgres.md).
    private static readonly string[] OrleansQueryKeys =
    [
        "InsertMembershipVersionKey",
        "InsertMembershipKey",
        "UpdateMembershipKey",
        "UpdateIAmAlivetimeKey",
        "MembershipReadRowKey",
        "MembershipReadAllKey",
        "DeleteMembershipTableEntriesKey",
        "GatewaysQueryKey",
        "CleanupDefunctSiloEntriesKey",
        "CleanupDefunctSiloEntryKey",
        "WriteToStorageKey",
        "ReadFromStorageKey",
        "ClearStorageKey",
        "DeleteStorageKey",
        "UpsertReminderRowKey",
        "ReadReminderRowsKey",
        "ReadReminderRowKey",
        "ReadRangeRows1Key",
        "ReadRangeRows2Key",
        "DeleteReminderRowKey",
        "DeleteReminderRowsKey",
    ];

    [Fact]
    public async Task EmptyDatabaseGetsEveryTableAndQueryKey()
    {
        var connectionString = await fixture.CreateDatabaseAsync();
        var log = new LogCapture();
        var logger = log.CreateLogger<SchemaMigrator>();
        var catalog = MigrationCatalog.Embedded;

        var result = await new SchemaMigrator(connectionString, logger, TimeProvider.System).MigrateAsync();

        Assert.Equal(0, result.FromVersion);
        Assert.Equal(catalog.LatestVersion, result.ToVersion);
        Assert.Equal(catalog.Migrations.Select(m => m.Id), result.Applied);

        foreach (var table in OrleansTables.Append(SchemaMigrator.HistoryTable))
        {
            Assert.True(await ExistsAsync(connectionString, table), $"Table {table} is missing.");
        }

        var keys = await QueryKeysAsync(connectionString);
        Assert.Empty(OrleansQueryKeys.Except(keys));

        var history = await HistoryAsync(connectionString);
        Assert.Equal(catalog.Migrations.Select(m => (m.Version, m.Name, m.Checksum)), history);

        Assert.Equal(catalog.Migrations.Count, log.Messages.Count(m => m.StartsWith("Applied schema migration", StringComparison.Ordinal)));
        Assert.Contains(log.Messages, m => m.StartsWith("Applied schema migration 2 orleans_clustering in ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task SecondRunAppliesNothing()
    {
        var connectionString = await fixture.CreateDatabaseAsync();
        await NewMigrator(connectionString).MigrateAsync();
        var historyBefore = await HistoryAsync(connectionString);
        var log = new LogCapture();
        var logger = log.CreateLogger<SchemaMigrator>();

        var result = await new SchemaMigrator(connectionString, logger, TimeProvider.System).MigrateAsync();

        Assert.Empty(result.Applied);
        Assert.Equal(MigrationCatalog.Embedded.LatestVersion, result.FromVersion);
        Assert.Equal(result.FromVersion, result.ToVersion);
        Assert.Equal(historyBefore, await HistoryAsync(connectionString));
        Assert.Contains($"Database schema is up to date at version {result.ToVersion}", log.Messages);
    }

    [Fact]
    public async Task ConcurrentRunsOnAnEmptyDatabaseApplyEachMigrationOnce()
    {
        var connectionString = await fixture.CreateDatabaseAsync();

        var results = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() => NewMigrator(connectionString).MigrateAsync())));

        var latest = MigrationCatalog.Embedded.LatestVersion;
        Assert.All(results, r => Assert.Equal(latest, r.ToVersion));
        var winner = Assert.Single(results, r => r.Applied.Count > 0);
        Assert.Equal(latest, winner.Applied.Count);
        Assert.All(results.Where(r => r != winner), r => Assert.Equal(latest, r.FromVersion));
        Assert.Equal(Enumerable.Range(1, latest), (await HistoryAsync(connectionString)).Select(h => h.Version));
    }

    [Fact]
    public async Task DatabaseNewerThanTheBuildIsRefused()
    {
        var connectionString = await fixture.CreateDatabaseAsync();
        await NewMigrator(connectionString).MigrateAsync();
        var latest = MigrationCatalog.Embedded.LatestVersion;
        var future = latest + 3;
        await ExecuteAsync(connectionString, $"insert into {SchemaMigrator.HistoryTable} values ({future}, 'from_the_future', 'x', now())");

        var error = await Assert.ThrowsAsync<SchemaVersionException>(() => NewMigrator(connectionString).MigrateAsync());

        Assert.Contains($"at version {future}", error.Message, StringComparison.Ordinal);
        Assert.Contains($"knows versions up to {latest}", error.Message, StringComparison.Ordinal);
        Assert.Equal(latest + 1, (await HistoryAsync(connectionString)).Count);
    }

    [Fact]
    public async Task EditedMigrationIsRefused()
    {
        var connectionString = await fixture.CreateDatabaseAsync();
        await NewMigrator(connectionString).MigrateAsync();
        await ExecuteAsync(connectionString, $"update {SchemaMigrator.HistoryTable} set checksum = repeat('0', 64) where version = 2");

        var error = await Assert.ThrowsAsync<SchemaVersionException>(() => NewMigrator(connectionString).MigrateAsync());

        Assert.Contains("0002_orleans_clustering", error.Message, StringComparison.Ordinal);
        Assert.Contains(MigrationCatalog.Embedded.Migrations[1].Checksum, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NewMigrationFileIsAppliedOnTopOfAnExistingSchema()
    {
        var connectionString = await fixture.CreateDatabaseAsync();
        var embedded = MigrationCatalog.Embedded.Migrations;
        await new SchemaMigrator(connectionString, new MigrationCatalog(embedded.Take(2)), NullLogger<SchemaMigrator>.Instance, TimeProvider.System).MigrateAsync();
        var next = Migration.FromSql(embedded.Count + 1, "widgets", "create table widgets (id bigint primary key);");

        var result = await new SchemaMigrator(connectionString, new MigrationCatalog([.. embedded, next]), NullLogger<SchemaMigrator>.Instance, TimeProvider.System).MigrateAsync();

        Assert.Equal(2, result.FromVersion);
        Assert.Equal(next.Version, result.ToVersion);
        Assert.Equal(embedded.Skip(2).Select(m => m.Id).Append(next.Id), result.Applied);
        Assert.True(await ExistsAsync(connectionString, "widgets"));
    }

    [Fact]
    public async Task FailingMigrationLeavesTheDatabaseUntouched()
    {
        var connectionString = await fixture.CreateDatabaseAsync();
        var embedded = MigrationCatalog.Embedded.Migrations;
        var broken = Migration.FromSql(embedded.Count + 1, "broken", "create table half_done (id int);\nselect 1 / 0;");
        var migrator = new SchemaMigrator(connectionString, new MigrationCatalog([.. embedded, broken]), NullLogger<SchemaMigrator>.Instance, TimeProvider.System);

        await Assert.ThrowsAsync<PostgresException>(() => migrator.MigrateAsync());

        Assert.False(await ExistsAsync(connectionString, "orleansquery"));
        Assert.False(await ExistsAsync(connectionString, "half_done"));
        Assert.False(await ExistsAsync(connectionString, SchemaMigrator.HistoryTable));
    }

    [Fact]
    public async Task AppliedAtComesFromTheTimeProvider()
    {
        var connectionString = await fixture.CreateDatabaseAsync();
        var now = new DateTimeOffset(2031, 5, 6, 7, 8, 9, TimeSpan.Zero);

        await new SchemaMigrator(connectionString, NullLogger<SchemaMigrator>.Instance, new FixedTimeProvider(now)).MigrateAsync();

        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"select distinct applied_at from {SchemaMigrator.HistoryTable}", connection);
        Assert.Equal(now.UtcDateTime, (DateTime)(await command.ExecuteScalarAsync())!);
    }

    private static SchemaMigrator NewMigrator(string connectionString) =>
        new(connectionString, NullLogger<SchemaMigrator>.Instance, TimeProvider.System);

    private static async Task<bool> ExistsAsync(string connectionString, string table)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("select to_regclass(@name) is not null", connection);
        command.Parameters.AddWithValue("name", table);
        return (bool)(await command.ExecuteScalarAsync())!;
    }

    private static async Task<List<string>> QueryKeysAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("select querykey from orleansquery", connection);
        await using var reader = await command.ExecuteReaderAsync();
        var keys = new List<string>();
        while (await reader.ReadAsync())
        {
            keys.Add(reader.GetString(0));
        }

        return keys;
    }

    private static async Task<List<(int Version, string Name, string Checksum)>> HistoryAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"select version, name, checksum from {SchemaMigrator.HistoryTable} order by version", connection);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<(int, string, string)>();
        while (await reader.ReadAsync())
        {
            rows.Add((reader.GetInt32(0), reader.GetString(1), reader.GetString(2)));
        }

        return rows;
    }

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private sealed class FixedTimeProvider(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
