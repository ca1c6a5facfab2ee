using Microsoft.Extensions.Logging.Abstractions;
using Orchestrator.Testing;

namespace Orchestrator.Database.Tests;

/// <summary>Base for tests that run the stored queries: migrates the class's database once (later runs are no-ops).</summary>
public abstract class MigratedDatabase(PostgresDatabaseFixture fixture) : IAsyncLifetime
{
    protected ProviderCommands Commands { get; } = new(fixture.ConnectionString);

    public async Task InitializeAsync() =>
        await new SchemaMigrator(fixture.ConnectionString, NullLogger<SchemaMigrator>.Instance, TimeProvider.System).MigrateAsync();

    public Task DisposeAsync() => Task.CompletedTask;

    /// <summary>A key unique to the calling test, so tests sharing the class database never meet.</summary>
    protected static string UniqueId(string prefix) => $"{prefix}-{Guid.NewGuid():N}";
}
