using System.Net;
using System.Text.Json;
using Orchestrator.Testing;

namespace Orchestrator.Gateway.Tests;

/// <summary><c>GET /api/tenants</c> on real Kestrel: the admin's paged list of tenants, refused to tenant keys.</summary>
[Collection(InMemoryCluster.Name)]
public sealed class TenantListTests(InMemoryClusterFixture cluster)
{
    private const string Problems = "https://orchestrator.dev/problems/";

    [Fact]
    public async Task TheAdminListsTenantsByIdAPageAtATime()
    {
        await using var host = await GatewayHost.StartAsync(cluster);
        using var admin = Admin(host);
        // The cluster is shared: pages start at this test's own prefix, which sorts just before its tenants.
        var prefix = $"l{Guid.NewGuid():N}"[..13];
        foreach (var (id, name) in new[] { ("b", "Beta"), ("a", "Alpha"), ("c", "Gamma") })
        {
            using var created = await admin.PostAsJsonAsync("/api/tenants", new { id = $"{prefix}-{id}", display_name = name });
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }

        using var first = await admin.GetAsync($"/api/tenants?limit=2&cursor={prefix}");
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        var page = await JsonAsync(first);
        var items = page.GetProperty("items").EnumerateArray().ToList();
        Assert.Equal([$"{prefix}-a", $"{prefix}-b"], items.Select(i => i.GetProperty("id").GetString()));
        Assert.Equal("Alpha", items[0].GetProperty("display_name").GetString());
        Assert.True(items[0].GetProperty("created_at").TryGetDateTimeOffset(out _));
        Assert.Equal($"{prefix}-b", page.GetProperty("next_cursor").GetString());

        using var second = await admin.GetAsync($"/api/tenants?limit=2&cursor={page.GetProperty("next_cursor").GetString()}");
        var next = (await JsonAsync(second)).GetProperty("items")[0];
        Assert.Equal($"{prefix}-c", next.GetProperty("id").GetString());
        Assert.Equal("Gamma", next.GetProperty("display_name").GetString());

        // Without parameters: the first page of the default size, with the envelope of every list.
        using var all = await admin.GetAsync("/api/tenants");
        var body = await JsonAsync(all);
        Assert.InRange(body.GetProperty("items").GetArrayLength(), 3, 50);
        Assert.True(body.TryGetProperty("next_cursor", out _));
    }

    [Fact]
    public async Task ATenantKeyIsRefused()
    {
        await using var host = await GatewayHost.StartAsync(cluster);

        using var response = await host.Http.GetAsync("/api/tenants");

        await ProblemAssert.IsAsync(response, HttpStatusCode.Forbidden, Problems + "forbidden", field: null);
    }

    [Theory]
    [InlineData("limit=0", "limit")]
    [InlineData("limit=101", "limit")]
    [InlineData("limit=ten", "limit")]
    [InlineData("cursor=Not_A_Tenant", "cursor")]
    [InlineData("cursor=", "cursor")]
    public async Task ABadLimitOrCursorIs400NamingIt(string query, string field)
    {
        await using var host = await GatewayHost.StartAsync(cluster);
        using var admin = Admin(host);

        using var response = await admin.GetAsync($"/api/tenants?{query}");

        await ProblemAssert.IsAsync(response, HttpStatusCode.BadRequest, Problems + "validation", field);
    }

    private static HttpClient Admin(GatewayHost host)
    {
        var admin = new HttpClient { BaseAddress = host.BaseAddress };
        admin.DefaultRequestHeaders.Authorization = ApiKeys.Bearer(ApiKeys.Admin);
        return admin;
    }

    private static async Task<JsonElement> JsonAsync(HttpResponseMessage response) =>
        JsonSerializer.Deserialize<JsonElement>(await response.Content.ReadAsStringAsync());
}
