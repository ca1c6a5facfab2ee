using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Orchestrator.Database;
using Orchestrator.Testing;

namespace Orchestrator.Runs.Tests;

/// <summary>A migrated database (all embedded migrations, as the silo applies them) and a data source on it.</summary>
public static class RunDatabase
{
    public static async Task<NpgsqlDataSource> MigrateAsync(string connectionString)
    {
        await new SchemaMigrator(connectionString, NullLogger<SchemaMigrator>.Instance, TimeProvider.System).MigrateAsync();
        return NpgsqlDataSource.Create(connectionString);
    }

    public static async Task<NpgsqlDataSource> CreateAsync(PostgresDatabaseFixture fixture) =>
        await MigrateAsync(await fixture.CreateDatabaseAsync());
}
