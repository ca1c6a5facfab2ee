using Orchestrator.Silo.Hosting;
using Orchestrator.Testing;

namespace Orchestrator.IntegrationTests;

/// <summary>
/// One real silo process-in-a-host on the postgres profile: the production <see cref="SiloApplication"/>
/// with its HTTP server on a free loopback port and free silo/gateway ports, advertising 127.0.0.1.
/// </summary>
internal sealed class SiloNode : IAsyncDisposable
{
    private SiloNode(WebApplication app, LogCapture log, int gatewayPort, string tenantKey)
    {
        App = app;
        Log = log;
        GatewayPort = gatewayPort;
        TenantKey = tenantKey;
        Http = NewClient(tenantKey);
    }

    public WebApplication App { get; }

    public LogCapture Log { get; }

    /// <summary>A client authenticated as tenant <see cref="Tenant"/>, as every API user is.</summary>
    public HttpClient Http { get; }

    /// <summary>The tenant <see cref="Http"/> acts as; tests that reach grains directly use the same one.</summary>
    public const string Tenant = "dev";

    /// <summary>A key of <see cref="Tenant"/>, made through the admin API when the node started.</summary>
    public string TenantKey { get; }

    public Uri BaseAddress => new(App.Urls.First());

    /// <summary>A new client sending <paramref name="key"/> (none when null).</summary>
    public HttpClient NewClient(string? key)
    {
        var http = new HttpClient { BaseAddress = BaseAddress };
        if (key is not null)
        {
            http.DefaultRequestHeaders.Authorization = ApiKeys.Bearer(key);
        }

        return http;
    }

    public int GatewayPort { get; }

    public IClusterClient Client => App.Services.GetRequiredService<IClusterClient>();

    /// <summary>Fixed for tests: the instance private keys of test databases are encrypted with it.</summary>
    public const string EncryptionKey = TestSiloArguments.EncryptionKey;

    public static Task<SiloNode> StartAsync(string connectionString, string clusterId = "test", params string[] extraArgs) =>
        StartAsync(connectionString, clusterId, configureServices: null, extraArgs);

    public static async Task<SiloNode> StartAsync(string connectionString, string clusterId, Action<IServiceCollection>? configureServices, params string[] extraArgs)
    {
        var log = new LogCapture();
        var gatewayPort = LoopbackPort.Free();
        var app = SiloApplication.Build(
            [
                "--urls=http://127.0.0.1:0",
                $"--ConnectionStrings:Orchestrator={connectionString}",
                $"--Orchestrator:ClusterId={clusterId}",
                $"--Orchestrator:SiloPort={LoopbackPort.Free()}",
                $"--Orchestrator:GatewayPort={gatewayPort}",
                "--Orchestrator:AdvertisedIPAddress=127.0.0.1",
                $"--Orchestrator:Secrets:EncryptionKey={EncryptionKey}",
                $"--Orchestrator:Auth:AdminKey={ApiKeys.Admin}",
                // Tests poll many runs at once; the rate limiter's own tests start nodes with low limits.
                "--Orchestrator:Http:RateLimit:PermitsPerSecond=5000",
                // The embedded emulator (when no Fly token is given) runs Fly's limits and transitions faster.
                "--FlyEmulator:RateLimitScale=20",
                "--FlyEmulator:TransitionDelay=00:00:00.050",
                "--Fly:RateLimitScale=20",
                .. extraArgs,
            ],
            builder =>
            {
                builder.Logging.ClearProviders();
                builder.Logging.AddProvider(log);
                configureServices?.Invoke(builder.Services);
            },
            silo =>
            {
                // Tests only: production keeps Orleans' one-minute floor on reminder periods.
                silo.Configure<ReminderOptions>(o => o.MinimumReminderPeriod = TimeSpan.FromSeconds(1));
            });
        await SiloApplication.StartAsync(app);
        var key = await ApiKeys.CreateTenantKeyAsync(new Uri(app.Urls.First()), Tenant);
        return new SiloNode(app, log, gatewayPort, key);
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
    }
}
