using System.Net;
using System.Text.Json;
using Orchestrator.Gateway.Status;
using Orchestrator.Grains.Tenants;
using Orchestrator.Testing;

namespace Orchestrator.Silo.Tests;

/// <summary>The dev profile end to end: the real silo host on real Kestrel with in-memory state.</summary>
public sealed class DevProfileTests : IAsyncLifetime
{
    private readonly LogCapture _log = new();
    private DevSilo _silo = null!;
    private WebApplication _app = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _silo = await DevSilo.StartAsync(_log);
        _app = _silo.App;
        _http = _silo.Http;
    }

    public Task DisposeAsync() => _silo.DisposeAsync().AsTask();

    [Fact]
    public void TheFirstLogLineSaysStateIsNotDurable()
    {
        var first = _log.Lines[0];

        Assert.Contains("DEV PROFILE: grain state and reminders are kept IN MEMORY", first, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadyReportsTheActiveSiloAndNoDatabase()
    {
        using var response = await _http.GetAsync("/health/ready");
        var body = await response.Content.ReadFromJsonAsync<HealthResponse>(WireJson.Options);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Healthy", body!.Checks["silo"].Status);
        Assert.Equal("Healthy", body.Checks["cluster"].Status);
        Assert.False(body.Checks.ContainsKey("database"));
    }

    [Fact]
    public async Task TheDashboardIsServed()
    {
        using var response = await _http.GetAsync("/dashboard/");
        var html = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("Orleans", html, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task TheConsoleIsServedAndSignsALoopbackBrowserInAsTenantDev()
    {
        using var page = await _http.GetAsync("/ui/");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("<div id=\"root\">", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        using var anonymous = new HttpClient { BaseAddress = _http.BaseAddress };
        var signIn = await anonymous.GetFromJsonAsync<JsonElement>("/ui/dev-sign-in");
        Assert.Equal(ApiKeys.Dev, signIn.GetProperty("key").GetString());
        Assert.Equal("dev", signIn.GetProperty("tenant").GetString());
    }

    [Fact]
    public async Task VersionCountsThisOneSilo()
    {
        var version = await _http.GetFromJsonAsync<VersionResponse>("/api/version", WireJson.Options);

        Assert.Equal(1, version!.SiloCount);
        Assert.Equal("orchestrator", version.ClusterId);
    }

    [Fact]
    public async Task GrainsRunInTheCoHostedSilo()
    {
        var client = _app.Services.GetRequiredService<IClusterClient>();

        var created = await client.GetGrain<ITenantGrain>("dev-check").CreateAsync("Dev check");

        Assert.Equal("dev-check", created.Id);
        Assert.Equal(created, await client.GetGrain<ITenantGrain>("dev-check").GetAsync());
    }

    [Fact]
    public void StartUpSaysTheDevKeyWorks()
    {
        Assert.Contains(_log.Lines, l => l.Contains("'Authorization: Bearer dev-key' as tenant 'dev'", StringComparison.Ordinal));
    }

    [Fact]
    public async Task TheDevKeyActsAsTenantDevAndNoKeyIsRefused()
    {
        using var anonymous = new HttpClient { BaseAddress = _http.BaseAddress };

        using var withKey = await _http.GetAsync("/api/instances");
        using var without = await anonymous.GetAsync("/api/instances");
        using var admin = await _http.PostAsJsonAsync("/api/tenants", new { id = "someone" });

        Assert.Equal(HttpStatusCode.OK, withKey.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, without.StatusCode);
        // The dev key is a tenant's key: it cannot manage tenants.
        Assert.Equal(HttpStatusCode.Forbidden, admin.StatusCode);
    }

    [Fact]
    public async Task TheDashboardIsOpenToThisMachineInTheDevProfile()
    {
        using var anonymous = new HttpClient { BaseAddress = _http.BaseAddress };

        using var dashboard = await anonymous.GetAsync("/dashboard");

        Assert.Equal(HttpStatusCode.OK, dashboard.StatusCode);
    }
}
