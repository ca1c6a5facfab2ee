using System.Net;
using Orchestrator.Gateway.Auth;
using Orchestrator.Hosting;
using Orchestrator.Silo.Hosting;
using Orchestrator.Testing;

namespace Orchestrator.Silo.Tests;

public sealed class SiloSettingsTests
{
    /// <summary>Reads <paramref name="values"/> with the test admin key added (unless they set one), as every durable profile needs one.</summary>
    private static SiloSettings Read(params (string Key, string Value)[] values) =>
        SiloSettings.Read(new ConfigurationBuilder()
            .AddInMemoryCollection([KeyValuePair.Create(AuthSettings.AdminKeyKey, (string?)ApiKeys.Admin)])
            .AddInMemoryCollection(values.Select(v => KeyValuePair.Create(v.Key, (string?)v.Value)))
            .Build());

    [Fact]
    public void NothingConfiguredIsTheDevProfileWithDefaults()
    {
        var settings = Read();

        Assert.Equal(SiloProfile.Dev, settings.Profile);
        Assert.Null(settings.Cluster.ConnectionString);
        Assert.Equal("orchestrator", settings.Cluster.ClusterId);
        Assert.Equal(11111, settings.SiloPort);
        Assert.Equal(30000, settings.GatewayPort);
        Assert.Equal(TimeSpan.FromSeconds(30), settings.DatabaseStartupTimeout);
    }

    [Fact]
    public void AConnectionStringSelectsThePostgresProfile()
    {
        var settings = Read(("ConnectionStrings:Orchestrator", "Host=db;Database=o"), ("Orchestrator:ClusterId", "blue"));

        Assert.Equal(SiloProfile.Postgres, settings.Profile);
        Assert.Equal("Host=db;Database=o", settings.Cluster.ConnectionString);
        Assert.Equal("blue", settings.Cluster.ClusterId);
    }

    [Fact]
    public void OnAFlyMachineTheFlyProfileAdvertisesThePrivateIpAndTagsTheRegion()
    {
        var settings = Read(
            ("ConnectionStrings:Orchestrator", "Host=db.internal"),
            ("FLY_APP_NAME", "orchestrator"),
            ("FLY_PRIVATE_IP", "fdaa:0:1:a7b:145:1234:5678:2"),
            ("FLY_REGION", "ams"),
            ("FLY_MACHINE_ID", "148ed193b95089"));

        Assert.Equal(SiloProfile.Fly, settings.Profile);
        Assert.Equal(IPAddress.Parse("fdaa:0:1:a7b:145:1234:5678:2"), settings.AdvertisedAddress);
        Assert.Equal("ams", settings.Region);
        Assert.Equal("148ed193b95089", settings.SiloName);
    }

    [Fact]
    public void TheFlyProfileNamesEveryMissingFlySetting()
    {
        var error = Assert.Throws<StartupFailureException>(() => Read(("Orchestrator:Profile", "fly"), ("ConnectionStrings:Orchestrator", "Host=db")));

        Assert.Contains("FLY_PRIVATE_IP is required for the fly profile", error.Message, StringComparison.Ordinal);
        Assert.Contains("FLY_REGION is required for the fly profile", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DevWithAConnectionStringIsAmbiguous()
    {
        var error = Assert.Throws<StartupFailureException>(() => Read(("Orchestrator:Profile", "dev"), ("ConnectionStrings:Orchestrator", "Host=db")));

        Assert.Contains("Orchestrator:Profile is 'dev'", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Orchestrator:SiloPort", "0", "Orchestrator:SiloPort must be a TCP port from 1 to 65535 (got '0')")]
    [InlineData("Orchestrator:GatewayPort", "11111", "Orchestrator:GatewayPort must differ from Orchestrator:SiloPort (both are 11111)")]
    [InlineData("Orchestrator:AdvertisedIPAddress", "not-an-ip", "Orchestrator:AdvertisedIPAddress must be an IP address (got 'not-an-ip')")]
    [InlineData("Orchestrator:Region", "Amsterdam!", "Orchestrator:Region must be 2 to 16 lowercase letters or digits (got 'Amsterdam!')")]
    [InlineData("Orchestrator:DatabaseStartupTimeout", "forever", "Orchestrator:DatabaseStartupTimeout must be a duration from 00:00:00 to 00:10:00 (got 'forever')")]
    [InlineData("Orchestrator:Profile", "1", "Orchestrator:Profile must be one of dev, postgres, fly (got '1')")]
    public void EachBadSettingIsNamedWithItsProblem(string key, string value, string expected)
    {
        var error = Assert.Throws<StartupFailureException>(() => Read((key, value)));

        Assert.Equal("configuration error: " + expected, error.Message);
    }
}
