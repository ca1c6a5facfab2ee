using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Orchestrator.Fly.Emulator;
using Orchestrator.Grains.Instances;
using Orchestrator.Grains.Runs;
using Orchestrator.Grains.Workflows;
using Orchestrator.Testing;

namespace Orchestrator.IntegrationTests;

/// <summary>
/// What <c>http.check</c> may reach with the default settings (nothing widened, unlike the other workflow fixtures):
/// a real silo on PostgreSQL, emulator machines of two tenants, and real HTTP servers listening on those machines'
/// private addresses (loopback addresses of this host, as the emulator's machines are loopback sandboxes).
/// </summary>
public sealed class HttpCheckNetworkTests(HttpCheckNetworkTests.Cluster cluster) : IClassFixture<HttpCheckNetworkTests.Cluster>
{
    private const string Rule = "a check may reach public addresses and the private addresses of the tenant's own instances (Orchestrator:Workflows:HttpCheck:AllowedNetworks allows more)";

    [Fact]
    public async Task ByDefaultACheckReachesTheTenantsOwnInstanceButNotLoopbackPrivateLinkLocalOrAnotherTenantsInstance()
    {
        var silo = cluster.Silo.BaseAddress;
        var health = new Uri(silo, "health/live");
        await using var own = await InstanceWebServer.StartAsync(cluster.OwnPrivateIp, health);
        await using var theirs = await InstanceWebServer.StartAsync(cluster.OtherPrivateIp, health);
        var urls = new Dictionary<string, string>
        {
            ["own"] = $"{own.BaseAddress}",
            ["own_redirect"] = $"{own.BaseAddress}to-silo",
            ["silo"] = $"{health}",
            ["by_name"] = $"http://localhost:{silo.Port}/health/live",
            ["private"] = "http://10.255.255.1/",
            ["six_pn"] = "http://[fdaa:0:1::2]:8080/",
            ["metadata"] = "http://169.254.169.254/latest/meta-data/",
            ["other_tenant"] = $"{theirs.BaseAddress}",
        };
        var yaml = "name: reach\nsteps:\n" + string.Concat(urls.Select(u => $$"""
              - id: {{u.Key}}
                uses: http.check
                with: { url: "{{u.Value}}", expect_status: 200, interval: 50ms, timeout: 5s }
                continue_on_error: true

            """));
        await Client.GetGrain<IWorkflowDefinitionGrain>(InstanceKey.Format(SiloNode.Tenant, "reach")).RegisterAsync(yaml);

        var run = await RunAsync("reach");
        var steps = run.Steps.ToDictionary(s => s.Id);

        Assert.True(steps["own"].Status == StepStatuses.Succeeded, steps["own"].Error);
        Assert.Equal("served by the instance", JsonNode.Parse(steps["own"].OutputsJson)!["body"]!.GetValue<string>());
        Assert.Equal(1, own.Served);
        Assert.Equal($"http.check refused {urls["own_redirect"]}: it redirected to {health}, and 127.0.0.1 is a loopback address; {Rule}", steps["own_redirect"].Error);
        Assert.Equal($"http.check refused {urls["silo"]}: 127.0.0.1 is a loopback address; {Rule}", steps["silo"].Error);
        Assert.Matches($"^http\\.check refused {urls["by_name"].Replace(".", "\\.", StringComparison.Ordinal)}: localhost resolves to (127\\.0\\.0\\.1|::1), a loopback address; ", steps["by_name"].Error);
        Assert.Equal($"http.check refused {urls["private"]}: 10.255.255.1 is a private address (RFC 1918); {Rule}", steps["private"].Error);
        Assert.Equal($"http.check refused {urls["six_pn"]}: fdaa:0:1::2 is a private address (unique local fc00::/7, Fly's 6PN private network fdaa::/16 included); {Rule}", steps["six_pn"].Error);
        Assert.Equal($"http.check refused {urls["metadata"]}: 169.254.169.254 is a link-local address (169.254.0.0/16, where cloud metadata services answer); {Rule}", steps["metadata"].Error);
        Assert.Equal($"http.check refused {urls["other_tenant"]}: {cluster.OtherPrivateIp} is a loopback address; {Rule}", steps["other_tenant"].Error);
        Assert.Equal(0, theirs.Served);
    }

    private IClusterClient Client => cluster.Silo.Client;

    private async Task<RunView> RunAsync(string workflow)
    {
        var grain = Client.GetGrain<IWorkflowRunGrain>(InstanceKey.Format(SiloNode.Tenant, "run-" + Guid.NewGuid().ToString("N")[..20]));
        await grain.StartAsync(new RunStartRequest(workflow, null, "{}"));
        RunView? view = null;
        await Wait.UntilAsync(async () => (view = await grain.GetAsync()) is { } v && RunStatuses.IsTerminal(v.Status), "the run to end");
        return view!;
    }

    /// <summary>A real HTTP server on an instance's private address: <c>/</c> answers, <c>/to-silo</c> redirects.</summary>
    private sealed class InstanceWebServer : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private int _served;

        private InstanceWebServer(WebApplication app) => _app = app;

        public Uri BaseAddress => new(_app.Urls.First() + "/");

        public int Served => Volatile.Read(ref _served);

        public static async Task<InstanceWebServer> StartAsync(string address, Uri redirectTo)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.UseUrls($"http://{address}:0");
            var app = builder.Build();
            var server = new InstanceWebServer(app);
            app.MapGet("/", () =>
            {
                Interlocked.Increment(ref server._served);
                return "served by the instance";
            });
            app.MapGet("/to-silo", () => Results.Redirect(redirectTo.ToString()));
            await app.StartAsync();
            return server;
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }

    /// <summary>One emulator and one silo with the default http.check settings; tenant dev and tenant other have an instance each.</summary>
    public sealed class Cluster : IAsyncLifetime
    {
        private readonly PostgresDatabaseFixture _database = new();

        public FlyEmulator Emulator { get; private set; } = null!;

        internal SiloNode Silo { get; private set; } = null!;

        public string OwnPrivateIp { get; private set; } = "";

        public string OtherPrivateIp { get; private set; } = "";

        public async Task InitializeAsync()
        {
            await _database.InitializeAsync();
            Emulator = await FlyEmulator.StartAsync(new FlyEmulatorOptions { TransitionDelay = TimeSpan.FromMilliseconds(50), RateLimitScale = 20, DestroyedRetention = TimeSpan.FromMilliseconds(300) });
            Silo = await SiloNode.StartAsync(
                _database.ConnectionString,
                "http-check",
                $"--FLY_API_TOKEN={Emulator.ApiToken}",
                $"--Fly:BaseAddress={Emulator.BaseAddress}",
                "--Fly:AppName=http-check",
                "--Orchestrator:Instances:SettlePollInterval=00:00:00.100");
            OwnPrivateIp = (await ExecFixture.CreateStartedAsync(Silo, "mine")).GetProperty("private_ip").GetString()!;
            using var other = Silo.NewClient(await ApiKeys.CreateTenantKeyAsync(Silo.BaseAddress, "other"));
            using var created = await other.PostAsJsonAsync("/api/instances?wait=started", new { name = "theirs", region = "ams", size = "shared-cpu-1x" });
            var body = JsonSerializer.Deserialize<JsonElement>(await created.Content.ReadAsStringAsync());
            Assert.True(created.StatusCode == HttpStatusCode.Created, $"create theirs: {(int)created.StatusCode} {body}");
            OtherPrivateIp = body.GetProperty("private_ip").GetString()!;
        }

        public async Task DisposeAsync()
        {
            if (Silo is not null)
            {
                await Silo.DisposeAsync();
            }

            if (Emulator is not null)
            {
                await Emulator.DisposeAsync();
            }

            await _database.DisposeAsync();
        }
    }
}
