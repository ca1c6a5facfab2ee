using Orchestrator.Hosting;
using Orchestrator.Silo.Hosting;

namespace Orchestrator.Silo.Tests;

public sealed class MachineSettingsTests
{
    private const string Key = "c2FtcGxlLWtleS1mb3ItbG9jYWwtY29tcG9zZS0xMjM=";

    private static MachineSettings Read(SiloProfile profile, params (string Key, string Value)[] values) =>
        MachineSettings.Read(new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => KeyValuePair.Create(v.Key, (string?)v.Value))).Build(), profile);

    [Fact]
    public void TheFlyProfileRefusesToRunWithoutTheFlyApi()
    {
        var error = Assert.Throws<StartupFailureException>(() => Read(SiloProfile.Fly, (MachineSettings.EncryptionKeyKey, Key)));

        Assert.Equal(
            "configuration error: FLY_API_TOKEN is required for the fly profile: silos on Fly create machines through the Fly Machines API (e.g. `fly tokens create org`)",
            error.Message);
    }

    [Fact]
    public void ThePostgresProfileWithoutATokenUsesTheEmbeddedEmulator()
    {
        var settings = Read(SiloProfile.Postgres, (MachineSettings.EncryptionKeyKey, Key));

        Assert.Equal(MachineBackend.EmbeddedEmulator, settings.Backend);
        Assert.NotNull(settings.EmulatorUrl);
    }

    [Fact]
    public void ATokenSelectsFlyAndNeedsTheAppName()
    {
        var error = Assert.Throws<StartupFailureException>(() => Read(SiloProfile.Postgres, (MachineSettings.EncryptionKeyKey, Key), ("FLY_API_TOKEN", "fo1_x")));
        var settings = Read(SiloProfile.Fly, (MachineSettings.EncryptionKeyKey, Key), ("FLY_API_TOKEN", "fo1_x"), ("Fly:AppName", "machines"));

        Assert.Contains("Fly:AppName is required when FLY_API_TOKEN is set", error.Message, StringComparison.Ordinal);
        Assert.Equal(MachineBackend.Fly, settings.Backend);
        Assert.Equal("machines", settings.AppName);
        Assert.Null(settings.EmulatorUrl);
    }

    [Fact]
    public void AnEncryptionKeyOfTheWrongLengthIsNamed()
    {
        var error = Assert.Throws<StartupFailureException>(() => Read(SiloProfile.Postgres, (MachineSettings.EncryptionKeyKey, "c2hvcnQ=")));

        Assert.Contains("Orchestrator:Secrets:EncryptionKey must be exactly 32 bytes in base64", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Orchestrator:Ssh:Port", "70000", "Orchestrator:Ssh:Port must be from 1 to 65535")]
    [InlineData("Orchestrator:Ssh:MaxChannelsPerConnection", "0", "Orchestrator:Ssh:MaxChannelsPerConnection must be at least 1")]
    [InlineData("Orchestrator:Ssh:ConnectTimeout", "00:00:00", "Orchestrator:Ssh:ConnectTimeout must be a positive duration")]
    [InlineData("Orchestrator:Ssh:UserName", " ", "Orchestrator:Ssh:UserName must not be empty")]
    [InlineData("Orchestrator:Ssh:Port", "ssh", "Orchestrator:Ssh has a value of the wrong type")]
    public void BadSshSettingsAreNamed(string key, string value, string expected)
    {
        var error = Assert.Throws<StartupFailureException>(() => Read(SiloProfile.Postgres, (MachineSettings.EncryptionKeyKey, Key), (key, value)));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }
}
