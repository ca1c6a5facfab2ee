using System.Net;
using System.Text.Json;
using Orchestrator.Gateway.Status;
using Orchestrator.Grains.Tenants;

namespace Orchestrator.IntegrationTests;

/// <summary>Two silos against one database form one cluster, and either of them serves any grain.</summary>
public sealed class MultiSiloClusterTests(PostgresClusterFixture cluster) : IClassFixture<PostgresClusterFixture>
{
    [Fact]
    public async Task TheMembershipTableShowsBothSilosActive()
    {
        // Status 3 is SiloStatus.Active in Orleans' membership table.
        var active = await PostgresClusterTests.CountAsync(
            cluster.ConnectionString, $"SELECT count(*) FROM orleansmembershiptable WHERE deploymentid = '{PostgresClusterFixture.ClusterId}' AND status = 3");

        Assert.Equal(PostgresClusterFixture.SiloCount, active);
    }

    [Fact]
    public async Task EverySiloReportsTheWholeClusterOverHttp()
    {
        foreach (var silo in cluster.Silos)
        {
            var version = await PostgresClusterTests.VersionAsync(silo.Http);
            using var ready = await silo.Http.GetAsync("/health/ready");
            var body = await ready.Content.ReadFromJsonAsync<HealthResponse>(JsonSerializerOptions.Web);

            Assert.Equal(PostgresClusterFixture.SiloCount, version.SiloCount);
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
            Assert.Equal("Healthy", body!.Checks["database"].Status);
            Assert.Equal("Healthy", body.Checks["silo"].Status);
        }
    }

    [Fact]
    public async Task AGrainWrittenThroughOneSiloIsReadThroughTheOther()
    {
        var (a, b) = (cluster.Silos[0], cluster.Silos[1]);

        var created = await a.Client.GetGrain<ITenantGrain>("routed").CreateAsync("Made through A");
        var renamed = await b.Client.GetGrain<ITenantGrain>("routed").RenameAsync("Renamed through B");

        Assert.Equal(created.CreatedAt, renamed.CreatedAt);
        Assert.Equal(renamed, await a.Client.GetGrain<ITenantGrain>("routed").GetAsync());
    }
}
