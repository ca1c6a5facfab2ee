using Npgsql;
using Orchestrator.Fly.Emulator;
using Orchestrator.Testing;
using Orleans.Runtime.MembershipService.SiloMetadata;

namespace Orchestrator.IntegrationTests;

/// <summary>
/// The fly profile as a Fly machine runs it, with the variables Fly sets: the silo advertises the
/// private IPv6 address (here the IPv6 loopback stands in for the 6PN address), takes the machine id
/// as its name and carries its region in its metadata. Machines go through the Fly Machines API named by
/// Fly:BaseAddress, which here is an emulator standing in for api.machines.dev.
/// </summary>
public sealed class FlyProfileTests(PostgresDatabaseFixture database) : IClassFixture<PostgresDatabaseFixture>
{
    [Fact]
    public async Task AFlySiloAdvertisesItsPrivateIpv6AndTagsItsRegion()
    {
        await using var flyApi = await FlyEmulator.StartAsync(new FlyEmulatorOptions());
        await using var silo = await SiloNode.StartAsync(
            database.ConnectionString,
            "fly",
            $"--FLY_API_TOKEN={flyApi.ApiToken}",
            $"--Fly:BaseAddress={flyApi.BaseAddress}",
            "--Fly:AppName=orchestrator-machines",
            "--FLY_APP_NAME=orchestrator",
            "--FLY_PRIVATE_IP=::1",
            "--FLY_REGION=ams",
            "--FLY_MACHINE_ID=148ed193b95089");

        await using var connection = new NpgsqlConnection(database.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT address, siloname, status FROM orleansmembershiptable WHERE deploymentid = 'fly'", connection);
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        Assert.Equal("::1", reader.GetString(0));
        Assert.Equal("148ed193b95089", reader.GetString(1));
        Assert.Equal(3, reader.GetInt32(2)); // SiloStatus.Active
        Assert.False(await reader.ReadAsync());

        var localSilo = silo.App.Services.GetRequiredService<ILocalSiloDetails>().SiloAddress;
        var metadata = silo.App.Services.GetRequiredService<ISiloMetadataCache>().GetSiloMetadata(localSilo);
        Assert.Equal("ams", metadata.Metadata["region"]);
        Assert.Equal("fly", metadata.Metadata["profile"]);
        Assert.Contains(silo.Log.Lines, l => l.Contains("Profile Fly: cluster fly, region ams", StringComparison.Ordinal));
        Assert.DoesNotContain(silo.Log.Lines, l => l.Contains("embedded Fly emulator", StringComparison.Ordinal));
    }
}
