namespace Orchestrator.Testing;

/// <summary>
/// The command line of a test silo on PostgreSQL with the embedded Fly emulator: loopback ports, the admin key of
/// <see cref="ApiKeys"/>, a fixed encryption key, and the emulator's limits and transitions run fast.
/// </summary>
public static class TestSiloArguments
{
    /// <summary>Fixed for tests: the instance private keys of test databases are encrypted with it.</summary>
    public const string EncryptionKey = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

    public static string[] Postgres(string connectionString, string clusterId) =>
    [
        "--urls=http://127.0.0.1:0",
        $"--ConnectionStrings:Orchestrator={connectionString}",
        $"--Orchestrator:ClusterId={clusterId}",
        $"--Orchestrator:SiloPort={LoopbackPort.Free()}",
        $"--Orchestrator:GatewayPort={LoopbackPort.Free()}",
        "--Orchestrator:AdvertisedIPAddress=127.0.0.1",
        $"--Orchestrator:Secrets:EncryptionKey={EncryptionKey}",
        $"--Orchestrator:Auth:AdminKey={ApiKeys.Admin}",
        "--Orchestrator:Http:RateLimit:PermitsPerSecond=5000",
        "--Orchestrator:Instances:SettlePollInterval=00:00:00.100",
        "--FlyEmulator:RateLimitScale=20",
        "--FlyEmulator:TransitionDelay=00:00:00.050",
        "--Fly:RateLimitScale=20",
    ];
}
