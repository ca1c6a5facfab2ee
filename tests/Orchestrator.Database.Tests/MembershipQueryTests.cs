using System.Data.Common;
using System.Globalization;
using Orchestrator.Testing;
using static Orchestrator.Database.Tests.ProviderParameter;

namespace Orchestrator.Database.Tests;

public sealed class MembershipQueryTests(PostgresDatabaseFixture fixture) : MigratedDatabase(fixture), IClassFixture<PostgresDatabaseFixture>
{
    private const int Joining = 1;
    private const int Active = 3;
    private const int Dead = 6;

    private static readonly DateTime Started = new(2030, 1, 2, 3, 4, 5, 678, DateTimeKind.Utc);

    [Fact]
    public async Task VersionRowIsInsertedOnce()
    {
        var deployment = UniqueId("cluster");

        Assert.True(await InsertVersionAsync(deployment));
        Assert.False(await InsertVersionAsync(deployment));

        var table = await ReadAllAsync(deployment);
        var row = Assert.Single(table);
        Assert.Null(row.Entry);
        Assert.Equal(0, row.Version);
    }

    [Fact]
    public async Task InsertWithCurrentVersionSucceedsAndBumpsTheVersion()
    {
        var deployment = UniqueId("cluster");
        await InsertVersionAsync(deployment);
        var silo = new Silo("10.1.2.3", 11111, 7, "silo-a", "host-a", Joining, 30000, null, Started, Started.AddSeconds(1));

        Assert.True(await InsertAsync(deployment, silo, version: 0));

        var row = Assert.Single(await ReadAllAsync(deployment));
        Assert.Equal(1, row.Version);
        Assert.Equal(silo, row.Entry);
    }

    [Fact]
    public async Task InsertWithStaleVersionFailsAndChangesNothing()
    {
        var deployment = UniqueId("cluster");
        await InsertVersionAsync(deployment);
        Assert.True(await InsertAsync(deployment, NewSilo(1), version: 0));

        Assert.False(await InsertAsync(deployment, NewSilo(2), version: 0));

        var rows = await ReadAllAsync(deployment);
        Assert.Equal(1, Assert.Single(rows).Entry!.Generation);
        Assert.Equal(1, rows[0].Version);
    }

    [Fact]
    public async Task DuplicateInsertFailsWithoutBumpingTheVersion()
    {
        var deployment = UniqueId("cluster");
        await InsertVersionAsync(deployment);
        Assert.True(await InsertAsync(deployment, NewSilo(1), version: 0));

        Assert.False(await InsertAsync(deployment, NewSilo(1), version: 1));

        Assert.Equal(1, Assert.Single(await ReadAllAsync(deployment)).Version);
    }

    [Fact]
    public async Task InsertForUnknownDeploymentFails()
    {
        Assert.False(await InsertAsync(UniqueId("cluster"), NewSilo(1), version: 0));
    }

    [Fact]
    public async Task ConcurrentInsertsWithTheSameVersionHaveOneWinner()
    {
        for (var round = 0; round < 5; round++)
        {
            var deployment = UniqueId("cluster");
            await InsertVersionAsync(deployment);

            var outcomes = await Task.WhenAll(Enumerable.Range(1, 4).Select(generation =>
                Task.Run(() => InsertAsync(deployment, NewSilo(generation), version: 0))));

            Assert.Single(outcomes, succeeded => succeeded);
            var rows = await ReadAllAsync(deployment);
            Assert.Single(rows);
            Assert.Equal(1, rows[0].Version);
        }
    }

    [Fact]
    public async Task UpdateWithCurrentVersionSucceedsAndStaleVersionFails()
    {
        var deployment = UniqueId("cluster");
        await InsertVersionAsync(deployment);
        var silo = NewSilo(1);
        Assert.True(await InsertAsync(deployment, silo, version: 0));
        var suspicion = "S10.9.9.9:11111:5," + Started.ToString("yyyy-MM-dd HH:mm:ss.fff 'GMT'", CultureInfo.InvariantCulture);
        var active = silo with { Status = Active, SuspectTimes = suspicion, IAmAliveTime = Started.AddMinutes(1) };

        Assert.True(await UpdateAsync(deployment, active, version: 1));
        Assert.False(await UpdateAsync(deployment, active with { Status = Dead }, version: 1));

        var row = Assert.Single(await ReadAllAsync(deployment));
        Assert.Equal(2, row.Version);
        Assert.Equal(active, row.Entry);
    }

    [Fact]
    public async Task UpdateOfMissingSiloFailsWithoutBumpingTheVersion()
    {
        var deployment = UniqueId("cluster");
        await InsertVersionAsync(deployment);

        Assert.False(await UpdateAsync(deployment, NewSilo(1), version: 0));

        Assert.Equal(0, Assert.Single(await ReadAllAsync(deployment)).Version);
    }

    [Fact]
    public async Task ReadRowReturnsTheVersionEvenWithoutAMatchingSilo()
    {
        var deployment = UniqueId("cluster");
        await InsertVersionAsync(deployment);
        var silo = NewSilo(1);
        Assert.True(await InsertAsync(deployment, silo, version: 0));
        Assert.True(await InsertAsync(deployment, NewSilo(2), version: 1));

        var found = Assert.Single(await ReadRowAsync(deployment, silo));
        var missing = Assert.Single(await ReadRowAsync(deployment, NewSilo(3)));

        Assert.Equal(silo, found.Entry);
        Assert.Equal(2, found.Version);
        Assert.Null(missing.Entry);
        Assert.Equal(2, missing.Version);
    }

    [Fact]
    public async Task HeartbeatMovesIAmAliveTimeForwardOnly()
    {
        var deployment = UniqueId("cluster");
        await InsertVersionAsync(deployment);
        var silo = NewSilo(1);
        Assert.True(await InsertAsync(deployment, silo, version: 0));

        await HeartbeatAsync(deployment, silo, Started.AddMinutes(5));
        await HeartbeatAsync(deployment, silo, Started.AddMinutes(2));

        var row = Assert.Single(await ReadAllAsync(deployment));
        Assert.Equal(Started.AddMinutes(5), row.Entry!.IAmAliveTime);
        Assert.Equal(1, row.Version);
    }

    [Fact]
    public async Task GatewaysAreActiveSilosWithAProxyPort()
    {
        var deployment = UniqueId("cluster");
        await InsertVersionAsync(deployment);
        Assert.True(await InsertAsync(deployment, NewSilo(1) with { Address = "10.0.0.1", Status = Active }, version: 0));
        Assert.True(await InsertAsync(deployment, NewSilo(2) with { Address = "10.0.0.2", Status = Joining }, version: 1));
        Assert.True(await InsertAsync(deployment, NewSilo(3) with { Address = "10.0.0.3", Status = Active, ProxyPort = 0 }, version: 2));
        Assert.True(await InsertAsync(deployment, NewSilo(4) with { Address = "10.0.0.4", Status = Dead }, version: 3));

        var gateways = await Commands.ReadAsync(
            "GatewaysQueryKey",
            r => (Address: (string)r.GetValue(r.GetOrdinal("Address")), ProxyPort: Int(r, "ProxyPort"), Generation: Int(r, "Generation")),
            For("DeploymentId", deployment),
            For("Status", Active));

        Assert.Equal(("10.0.0.1", 30000, 1), Assert.Single(gateways));
    }

    [Fact]
    public async Task CleanupOfOneDefunctSiloDeletesOnlyAnUnchangedDeadRow()
    {
        var deployment = UniqueId("cluster");
        await InsertVersionAsync(deployment);
        var dead = NewSilo(1) with { Status = Dead };
        var alive = NewSilo(2) with { Status = Active };
        Assert.True(await InsertAsync(deployment, dead, version: 0));
        Assert.True(await InsertAsync(deployment, alive, version: 1));

        // Values that no longer match what is stored: nothing is deleted.
        await CleanupEntryAsync(deployment, dead with { IAmAliveTime = dead.IAmAliveTime.AddSeconds(1) });
        await CleanupEntryAsync(deployment, alive);
        Assert.Equal(2, (await ReadAllAsync(deployment)).Count);

        await CleanupEntryAsync(deployment, dead);

        Assert.Equal(alive, Assert.Single(await ReadAllAsync(deployment)).Entry);
    }

    [Fact]
    public async Task CleanupOfDefunctSilosDeletesOnlyOldDeadRows()
    {
        var deployment = UniqueId("cluster");
        await InsertVersionAsync(deployment);
        var oldDead = NewSilo(1) with { Status = Dead };
        var oldActive = NewSilo(2) with { Status = Active };
        var recentDead = NewSilo(3) with { Status = Dead, StartTime = Started.AddHours(2), IAmAliveTime = Started.AddHours(2) };
        Assert.True(await InsertAsync(deployment, oldDead, version: 0));
        Assert.True(await InsertAsync(deployment, oldActive, version: 1));
        Assert.True(await InsertAsync(deployment, recentDead, version: 2));

        await Commands.ExecuteAsync("CleanupDefunctSiloEntriesKey", For("DeploymentId", deployment), For("IAmAliveTime", Started.AddHours(1)));

        var remaining = (await ReadAllAsync(deployment)).Select(r => r.Entry!.Generation).Order();
        Assert.Equal([2, 3], remaining);
    }

    [Fact]
    public async Task DeleteEntriesRemovesTheDeploymentOnly()
    {
        var deployment = UniqueId("cluster");
        var other = UniqueId("cluster");
        foreach (var id in new[] { deployment, other })
        {
            await InsertVersionAsync(id);
            Assert.True(await InsertAsync(id, NewSilo(1), version: 0));
        }

        await Commands.ExecuteAsync("DeleteMembershipTableEntriesKey", For("DeploymentId", deployment));

        Assert.Empty(await ReadAllAsync(deployment));
        Assert.Single(await ReadAllAsync(other));
        Assert.True(await InsertVersionAsync(deployment));
    }

    private static Silo NewSilo(int generation) =>
        new("10.1.2.3", 11111, generation, $"silo-{generation}", "host", Joining, 30000, null, Started, Started);

    private Task<bool> InsertVersionAsync(string deployment) =>
        Commands.ReadSingleBooleanAsync("InsertMembershipVersionKey", For("DeploymentId", deployment));

    // Parameters exactly as RelationalOrleansQueries.InsertMembershipRowAsync binds them.
    private Task<bool> InsertAsync(string deployment, Silo silo, int version) =>
        Commands.ReadSingleBooleanAsync(
            "InsertMembershipKey",
            For("DeploymentId", deployment),
            For("IAmAliveTime", silo.IAmAliveTime),
            For("SiloName", silo.SiloName),
            For("HostName", silo.HostName),
            Ansi("Address", silo.Address),
            For("Port", silo.Port),
            For("Generation", silo.Generation),
            For("StartTime", silo.StartTime),
            For("Status", silo.Status),
            For("ProxyPort", silo.ProxyPort),
            For("Version", version));

    private Task<bool> UpdateAsync(string deployment, Silo silo, int version) =>
        Commands.ReadSingleBooleanAsync(
            "UpdateMembershipKey",
            For("DeploymentId", deployment),
            Ansi("Address", silo.Address),
            For("Port", silo.Port),
            For("Generation", silo.Generation),
            For("IAmAliveTime", silo.IAmAliveTime),
            For("Status", silo.Status),
            For("SuspectTimes", silo.SuspectTimes),
            For("Version", version));

    private Task HeartbeatAsync(string deployment, Silo silo, DateTime iAmAliveTime) =>
        Commands.ExecuteAsync(
            "UpdateIAmAlivetimeKey",
            For("DeploymentId", deployment),
            Ansi("Address", silo.Address),
            For("Port", silo.Port),
            For("Generation", silo.Generation),
            For("IAmAliveTime", iAmAliveTime));

    private Task CleanupEntryAsync(string deployment, Silo silo) =>
        Commands.ExecuteAsync(
            "CleanupDefunctSiloEntryKey",
            For("DeploymentId", deployment),
            Ansi("Address", silo.Address),
            For("Port", silo.Port),
            For("Generation", silo.Generation),
            For("SuspectTimes", silo.SuspectTimes),
            For("StartTime", silo.StartTime),
            For("IAmAliveTime", silo.IAmAliveTime));

    private Task<List<MembershipRow>> ReadAllAsync(string deployment) =>
        Commands.ReadAsync("MembershipReadAllKey", ReadMembershipRow, For("DeploymentId", deployment));

    private Task<List<MembershipRow>> ReadRowAsync(string deployment, Silo silo) =>
        Commands.ReadAsync(
            "MembershipReadRowKey",
            ReadMembershipRow,
            For("DeploymentId", deployment),
            Ansi("Address", silo.Address),
            For("Port", silo.Port),
            For("Generation", silo.Generation));

    // Mirrors DbStoredQueries.Converters.GetMembershipEntry: a NULL StartTime means "version row only".
    private static MembershipRow ReadMembershipRow(DbDataReader record)
    {
        var version = Int(record, "Version");
        var startOrdinal = record.GetOrdinal("StartTime");
        if (record.IsDBNull(startOrdinal))
        {
            return new MembershipRow(null, version);
        }

        var suspectOrdinal = record.GetOrdinal("SuspectTimes");
        var silo = new Silo(
            (string)record.GetValue(record.GetOrdinal("Address")),
            Int(record, "Port"),
            Int(record, "Generation"),
            (string)record.GetValue(record.GetOrdinal("SiloName")),
            (string)record.GetValue(record.GetOrdinal("HostName")),
            Int(record, "Status"),
            Int(record, "ProxyPort"),
            record.IsDBNull(suspectOrdinal) ? null : (string)record.GetValue(suspectOrdinal),
            DateTime.SpecifyKind(record.GetDateTime(startOrdinal), DateTimeKind.Utc),
            DateTime.SpecifyKind(record.GetDateTime(record.GetOrdinal("IAmAliveTime")), DateTimeKind.Utc));
        return new MembershipRow(silo, version);
    }

    private static int Int(DbDataReader record, string column) =>
        Convert.ToInt32(record.GetValue(record.GetOrdinal(column)), CultureInfo.InvariantCulture);

    private sealed record Silo(
        string Address,
        int Port,
        int Generation,
        string SiloName,
        string HostName,
        int Status,
        int ProxyPort,
        string? SuspectTimes,
        DateTime StartTime,
        DateTime IAmAliveTime);

    private sealed record MembershipRow(Silo? Entry, int Version);
}
