using Orchestrator.Hosting;
using Orchestrator.Testing;

namespace Orchestrator.Gateway.Tests;

public sealed class GatewayConfigurationTests
{
    [Fact]
    public void AMalformedConnectionStringNamesTheSettingAndTheBadKeyword()
    {
        var error = Assert.Throws<StartupFailureException>(() => GatewayProgram.Build(["--ConnectionStrings:Orchestrator=Hots=db;Password=secret"]));

        Assert.Equal(StartupFailure.ConfigurationExitCode, error.ExitCode);
        Assert.StartsWith("configuration error: ConnectionStrings:Orchestrator is not a valid PostgreSQL connection string", error.Message, StringComparison.Ordinal);
        Assert.Contains("hots", error.Message, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("secret", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void AConnectionStringWithoutAHostIsRefused()
    {
        var error = Assert.Throws<StartupFailureException>(() => GatewayProgram.Build(["--ConnectionStrings:Orchestrator=Database=x", $"--Orchestrator:Auth:AdminKey={ApiKeys.Admin}"]));

        Assert.Equal("configuration error: ConnectionStrings:Orchestrator names no Host", error.Message);
    }

    [Fact]
    public void OutsideTheDevProfileAnAdminKeyIsRequired()
    {
        var error = Assert.Throws<StartupFailureException>(() => GatewayProgram.Build(["--ConnectionStrings:Orchestrator=Host=db"]));

        Assert.Equal(StartupFailure.ConfigurationExitCode, error.ExitCode);
        Assert.StartsWith("configuration error: Orchestrator:Auth:AdminKey is required outside the dev profile", error.Message, StringComparison.Ordinal);
        Assert.Contains("Orchestrator__Auth__AdminKey", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("short-admin-key")]
    [InlineData("an admin key with spaces in it that is long enough")]
    public void AWeakAdminKeyIsRefusedWithoutBeingEchoed(string adminKey)
    {
        var error = Assert.Throws<StartupFailureException>(() => GatewayProgram.Build(["--ConnectionStrings:Orchestrator=Host=db", $"--Orchestrator:Auth:AdminKey={adminKey}"]));

        Assert.Equal("configuration error: Orchestrator:Auth:AdminKey must be at least 32 characters without spaces or control characters", error.Message);
        Assert.DoesNotContain(adminKey, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("70000")]
    [InlineData("abc")]
    public void ABadGatewayPortIsNamed(string port)
    {
        var error = Assert.Throws<StartupFailureException>(() => GatewayProgram.Build([$"--Orchestrator:GatewayPort={port}"]));

        Assert.Equal($"configuration error: Orchestrator:GatewayPort must be a TCP port from 1 to 65535 (got '{port}')", error.Message);
    }

    [Fact]
    public void ABadClusterIdIsNamed()
    {
        var error = Assert.Throws<StartupFailureException>(() => GatewayProgram.Build(["--Orchestrator:ClusterId=has space"]));

        Assert.Contains("Orchestrator:ClusterId must be 1 to 64 characters", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EveryProblemIsReportedOnOneLine()
    {
        var error = Assert.Throws<StartupFailureException>(() => GatewayProgram.Build(["--Orchestrator:ClusterId=", "--Orchestrator:GatewayPort=-1"]));

        Assert.Contains("Orchestrator:ClusterId", error.Message, StringComparison.Ordinal);
        Assert.Contains("Orchestrator:GatewayPort", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
    }
}
