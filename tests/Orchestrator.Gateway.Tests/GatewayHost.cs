using Microsoft.Extensions.Options;
using Orchestrator.Gateway.Limits;
using Orchestrator.Testing;
using Orleans.Configuration;

namespace Orchestrator.Gateway.Tests;

/// <summary>The gateway's endpoints on real Kestrel (loopback, free port) over the in-memory cluster's client.</summary>
internal sealed class GatewayHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private GatewayHost(WebApplication app, HttpClient http)
    {
        _app = app;
        Http = http;
    }

    public HttpClient Http { get; }

    /// <summary>The gateway's own services (its endpoints, for instance).</summary>
    public IServiceProvider Services => _app.Services;

    public Uri BaseAddress => Http.BaseAddress!;

    public static async Task<GatewayHost> StartAsync(InMemoryClusterFixture cluster, HttpLimitSettings? limits = null, Action<WebApplication>? map = null, IReadOnlyDictionary<string, string?>? settings = null)
    {
        var builder = WebApplication.CreateBuilder();
        builder.Configuration.AddInMemoryCollection(settings ?? new Dictionary<string, string?>());
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(cluster.Client);
        builder.Services.AddSingleton(cluster.Client.ServiceProvider.GetRequiredService<IOptions<ClusterOptions>>());
        builder.Services.AddOrchestratorGateway(Auth.AuthSettings.Create(ApiKeys.Admin, devProfile: true), limits);
        var app = builder.Build();
        app.UseOrchestratorGateway();
        app.MapOrchestratorGateway();
        map?.Invoke(app);
        await app.StartAsync();
        var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
        http.DefaultRequestHeaders.Authorization = ApiKeys.Bearer(ApiKeys.Dev);
        return new GatewayHost(app, http);
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await _app.DisposeAsync();
    }
}
