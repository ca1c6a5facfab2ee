using System.Net;
using System.Text.Json;
using Orchestrator.Gateway.Status;
using Orchestrator.Testing;

namespace Orchestrator.Gateway.Tests;

[Collection(InMemoryCluster.Name)]
public sealed class StatusEndpointTests(InMemoryClusterFixture cluster)
{
    [Fact]
    public async Task VersionReportsTheBuildTheClusterAndItsActiveSilos()
    {
        await using var gateway = await GatewayHost.StartAsync(cluster);

        var raw = await gateway.Http.GetFromJsonAsync<JsonElement>("/api/version");
        var version = raw.Deserialize<VersionResponse>(WireJson.Options);

        // snake_case, as every other answer.
        Assert.Equal(["version", "cluster_id", "service_id", "silo_count"], raw.EnumerateObject().Select(static p => p.Name));
        Assert.NotNull(version);
        Assert.Equal(VersionEndpoints.ProductVersion, version.Version);
        Assert.Matches(@"^\d+\.\d+\.\d+", version.Version);
        Assert.Equal(cluster.Cluster.Options.ClusterId, version.ClusterId);
        Assert.Equal(cluster.Cluster.GetActiveSilos().Count(), version.SiloCount);
        Assert.Equal(2, version.SiloCount);
    }

    [Fact]
    public async Task LiveAnswersWithoutRunningChecks()
    {
        await using var gateway = await GatewayHost.StartAsync(cluster);

        using var response = await gateway.Http.GetAsync("/health/live");
        var body = await response.Content.ReadFromJsonAsync<HealthResponse>(WireJson.Options);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Healthy", body!.Status);
        Assert.Empty(body.Checks);
    }

    [Fact]
    public async Task ReadyReportsTheClusterCheck()
    {
        await using var gateway = await GatewayHost.StartAsync(cluster);

        using var response = await gateway.Http.GetAsync("/health/ready");
        var raw = await response.Content.ReadFromJsonAsync<JsonElement>();
        var body = raw.Deserialize<HealthResponse>(WireJson.Options);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(["status", "description", "duration_ms"], raw.GetProperty("checks").GetProperty("cluster").EnumerateObject().Select(static p => p.Name));
        Assert.Equal("Healthy", body!.Checks["cluster"].Status);
        Assert.Equal("2 active silo(s)", body.Checks["cluster"].Description);
    }

    [Fact]
    public async Task UnknownRoutesAreProblemDetails()
    {
        await using var gateway = await GatewayHost.StartAsync(cluster);

        using var response = await gateway.Http.GetAsync("/api/nothing-here");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }
}
