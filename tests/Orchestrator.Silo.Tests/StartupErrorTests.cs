using Orchestrator.Hosting;
using Orchestrator.Testing;

namespace Orchestrator.Silo.Tests;

/// <summary>A bad setting stops the real process with one line on stderr, a distinct exit code and no stack trace.</summary>
public sealed class StartupErrorTests
{
    private static readonly TimeSpan ExitTimeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task ThePostgresProfileWithoutAConnectionStringNamesTheSetting()
    {
        var (exitCode, _, stderr) = await SiloProcess.RunToExitAsync(new Dictionary<string, string> { ["Orchestrator__Profile"] = "postgres", ["Orchestrator__Auth__AdminKey"] = ApiKeys.Admin }, ExitTimeout);

        Assert.Equal(StartupFailure.ConfigurationExitCode, exitCode);
        Assert.Equal(
            "orchestrator-silo: configuration error: ConnectionStrings:Orchestrator is required for the postgres profile (set ConnectionStrings__Orchestrator)",
            SingleLine(stderr));
    }

    [Fact]
    public async Task AMalformedConnectionStringNamesTheSettingWithoutEchoingIt()
    {
        var (exitCode, _, stderr) = await SiloProcess.RunToExitAsync(
            new Dictionary<string, string> { ["ConnectionStrings__Orchestrator"] = "Hots=db;Password=hunter2" }, ExitTimeout);

        Assert.Equal(StartupFailure.ConfigurationExitCode, exitCode);
        var line = SingleLine(stderr);
        Assert.StartsWith("orchestrator-silo: configuration error: ConnectionStrings:Orchestrator is not a valid PostgreSQL connection string", line, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnUnknownProfileListsTheChoices()
    {
        var (exitCode, _, stderr) = await SiloProcess.RunToExitAsync(new Dictionary<string, string> { ["Orchestrator__Profile"] = "prod" }, ExitTimeout);

        Assert.Equal(StartupFailure.ConfigurationExitCode, exitCode);
        Assert.Equal("orchestrator-silo: configuration error: Orchestrator:Profile must be one of dev, postgres, fly (got 'prod')", SingleLine(stderr));
    }

    [Fact]
    public async Task TheFlyProfileNeedsAnIpv6PrivateAddress()
    {
        var (exitCode, _, stderr) = await SiloProcess.RunToExitAsync(
            new Dictionary<string, string>
            {
                ["Orchestrator__Profile"] = "fly",
                ["ConnectionStrings__Orchestrator"] = "Host=db.internal;Database=orchestrator",
                ["FLY_PRIVATE_IP"] = "10.0.0.7",
                ["FLY_REGION"] = "ams",
                ["Orchestrator__Auth__AdminKey"] = ApiKeys.Admin,
            },
            ExitTimeout);

        Assert.Equal(StartupFailure.ConfigurationExitCode, exitCode);
        Assert.Equal("orchestrator-silo: configuration error: FLY_PRIVATE_IP must be an IPv6 address (got '10.0.0.7')", SingleLine(stderr));
    }

    [Fact]
    public async Task AnUnreachableDatabaseIsOneLineAfterTheStartupWait()
    {
        var port = LoopbackPort.Free();
        var (exitCode, stdout, stderr) = await SiloProcess.RunToExitAsync(
            new Dictionary<string, string>
            {
                ["ConnectionStrings__Orchestrator"] = $"Host=127.0.0.1;Port={port};Database=orchestrator;Username=orchestrator;Timeout=2",
                ["Orchestrator__DatabaseStartupTimeout"] = "00:00:02",
                ["Orchestrator__Secrets__EncryptionKey"] = Convert.ToBase64String(new byte[32]),
                ["Orchestrator__Auth__AdminKey"] = ApiKeys.Admin,
            },
            ExitTimeout);

        Assert.Equal(StartupFailure.DatabaseExitCode, exitCode);
        var line = SingleLine(stderr);
        Assert.StartsWith($"orchestrator-silo: database error: cannot reach PostgreSQL at 127.0.0.1:{port}/orchestrator (ConnectionStrings:Orchestrator) after ", line, StringComparison.Ordinal);
        Assert.Contains("Waiting for PostgreSQL", stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stdout + stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ThePostgresProfileWithoutAnEncryptionKeyNamesTheSetting()
    {
        var (exitCode, _, stderr) = await SiloProcess.RunToExitAsync(
            new Dictionary<string, string> { ["ConnectionStrings__Orchestrator"] = "Host=127.0.0.1;Database=orchestrator", ["Orchestrator__Auth__AdminKey"] = ApiKeys.Admin }, ExitTimeout);

        Assert.Equal(StartupFailure.ConfigurationExitCode, exitCode);
        Assert.StartsWith("orchestrator-silo: configuration error: Orchestrator:Secrets:EncryptionKey is required for the postgres profile", SingleLine(stderr), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ThePostgresProfileWithoutAnAdminKeyRefusesToStart()
    {
        var (exitCode, _, stderr) = await SiloProcess.RunToExitAsync(
            new Dictionary<string, string> { ["ConnectionStrings__Orchestrator"] = "Host=127.0.0.1;Database=orchestrator" }, ExitTimeout);

        Assert.Equal(StartupFailure.ConfigurationExitCode, exitCode);
        Assert.StartsWith("orchestrator-silo: configuration error: Orchestrator:Auth:AdminKey is required outside the dev profile", SingleLine(stderr), StringComparison.Ordinal);
    }

    private static string SingleLine(string stderr)
    {
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.True(lines.Length == 1, $"Expected exactly one line on stderr, got {lines.Length}:\n{stderr}");
        return lines[0];
    }
}
