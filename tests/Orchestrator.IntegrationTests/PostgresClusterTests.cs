using System.Net;
using Npgsql;
using Orchestrator.Gateway;
using Orchestrator.Gateway.Status;
using Orchestrator.Grains.Tenants;
using Orchestrator.Testing;

namespace Orchestrator.IntegrationTests;

/// <summary>The postgres profile end to end: real silos, the real ADO.NET providers, a real PostgreSQL.</summary>
public sealed class PostgresClusterTests(PostgresDatabaseFixture database) : IClassFixture<PostgresDatabaseFixture>
{
    [Fact]
    public async Task ASiloCreatesTheSchemaOnAnEmptyDatabaseAndARestartAppliesNothing()
    {
        var connectionString = await database.CreateDatabaseAsync();

        await using (var first = await SiloNode.StartAsync(connectionString))
        {
            Assert.Contains(first.Log.Lines, l => l.Contains("Database schema at version", StringComparison.Ordinal) && !l.Contains("(0 migration(s) applied)", StringComparison.Ordinal));
        }

        await using var second = await SiloNode.StartAsync(connectionString);
        Assert.Contains(second.Log.Lines, l => l.Contains("(0 migration(s) applied)", StringComparison.Ordinal));
        Assert.True(await CountAsync(connectionString, "SELECT count(*) FROM orleansquery") >= 20);
    }

    [Fact]
    public async Task AStandaloneGatewayFindsTheSilosThroughTheMembershipTable()
    {
        var connectionString = await database.CreateDatabaseAsync();
        await using var silo = await SiloNode.StartAsync(connectionString, "standalone");
        await silo.Client.GetGrain<ITenantGrain>("via-gateway").CreateAsync("Seen by the gateway");

        await using var gateway = GatewayProgram.Build(
        [
            "--urls=http://127.0.0.1:0",
            $"--ConnectionStrings:Orchestrator={connectionString}",
            "--Orchestrator:ClusterId=standalone",
            $"--Orchestrator:Auth:AdminKey={ApiKeys.Admin}",
        ]);
        await gateway.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(gateway.Urls.First()) };
        http.DefaultRequestHeaders.Authorization = ApiKeys.Bearer(silo.TenantKey);

        var version = await VersionAsync(http);
        using var ready = await http.GetAsync("/health/ready");
        var tenant = await gateway.Services.GetRequiredService<IClusterClient>().GetGrain<ITenantGrain>("via-gateway").GetAsync();

        Assert.Equal(1, version.SiloCount);
        Assert.Equal("standalone", version.ClusterId);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal("Seen by the gateway", tenant!.DisplayName);
        await gateway.StopAsync();
    }

    [Fact]
    public async Task GrainStateSurvivesAFullStopAndRestart()
    {
        var connectionString = await database.CreateDatabaseAsync();
        TenantInfo created;
        await using (var before = await SiloNode.StartAsync(connectionString))
        {
            created = await before.Client.GetGrain<ITenantGrain>("durable").CreateAsync("Durable Inc");
            await before.Client.GetGrain<ITenantGrain>("durable").RenameAsync("Durable Incorporated");
        }

        await using var after = await SiloNode.StartAsync(connectionString);
        var restored = await after.Client.GetGrain<ITenantGrain>("durable").GetAsync();

        Assert.NotNull(restored);
        Assert.Equal("Durable Incorporated", restored.DisplayName);
        Assert.Equal(2, restored.Revision);
        Assert.Equal(created.CreatedAt, restored.CreatedAt);
        // One row per tenant however often it was written: "durable", and "dev", whose key the node made to call the API;
        // and one for the directory that lists them both.
        Assert.Equal(2, await CountAsync(connectionString, "SELECT count(*) FROM orleansstorage WHERE graintypestring ILIKE '%tenant%' AND graintypestring NOT ILIKE '%directory%'"));
        Assert.Equal(1, await CountAsync(connectionString, "SELECT count(*) FROM orleansstorage WHERE graintypestring ILIKE '%tenant%directory%'"));
    }

    [Fact]
    public async Task RemindersFireFromPostgresAndOutliveTheSilo()
    {
        var connectionString = await database.CreateDatabaseAsync();
        await using (var first = await SiloNode.StartAsync(connectionString))
        {
            var probe = first.Client.GetGrain<IReminderProbeGrain>("probe");
            await probe.StartAsync(TimeSpan.FromSeconds(1));
            Assert.Equal(1, await CountAsync(connectionString, "SELECT count(*) FROM orleansremindersTable WHERE remindername = 'probe'"));
            await Wait.UntilAsync(async () => await probe.GetTicksAsync() >= 2, "the reminder to fire twice");
        }

        // A new silo reads the reminder from the table and keeps it firing: no one calls the grain first.
        // The storage row's version counts the probe's writes, one per tick (its state name is "probe").
        await using var second = await SiloNode.StartAsync(connectionString);
        var ticksAtRestart = await CountTicksInStorageAsync(connectionString);
        await Wait.UntilAsync(async () => await CountTicksInStorageAsync(connectionString) > ticksAtRestart, "the reminder to fire on the restarted silo");
        await second.Client.GetGrain<IReminderProbeGrain>("probe").StopAsync();
        Assert.Equal(0, await CountAsync(connectionString, "SELECT count(*) FROM orleansremindersTable WHERE remindername = 'probe'"));
    }

    private static Task<long> CountTicksInStorageAsync(string connectionString) =>
        CountAsync(connectionString, "SELECT coalesce(max(version), 0) FROM orleansstorage WHERE graintypestring = 'probe'");

    internal static async Task<VersionResponse> VersionAsync(HttpClient http) =>
        (await http.GetFromJsonAsync<VersionResponse>("/api/version", WireJson.Options))!;

    internal static async Task<long> CountAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
