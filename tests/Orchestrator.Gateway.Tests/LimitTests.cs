using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Orchestrator.Gateway.Limits;
using Orchestrator.Testing;

namespace Orchestrator.Gateway.Tests;

/// <summary>Rate limits per key, body size limits per endpoint group and request timeouts, on real Kestrel.</summary>
[Collection(InMemoryCluster.Name)]
public sealed class LimitTests(InMemoryClusterFixture cluster)
{
    private const string Problems = "https://orchestrator.dev/problems/";

    [Fact]
    public async Task AKeyOverItsBurstGets429WithRetryAfterWhileOtherKeysAndHealthGoOn()
    {
        await using var host = await GatewayHost.StartAsync(cluster, new HttpLimitSettings(PermitsPerSecond: 1, Burst: 3, TimeSpan.FromSeconds(30)));
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 4; i++)
        {
            using var response = await host.Http.GetAsync("/api/workflows/schema");
            statuses.Add(response.StatusCode);
        }

        using var limited = await host.Http.GetAsync("/api/workflows/schema");
        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK], statuses.Take(3));
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        Assert.True(limited.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1), $"Retry-After: {limited.Headers.RetryAfter}");
        var problem = await ProblemAsync(limited);
        Assert.Equal(Problems + "rate-limited", problem.GetProperty("type").GetString());
        Assert.True(problem.GetProperty("retry_after_seconds").GetInt32() >= 1);

        using var admin = new HttpClient { BaseAddress = host.Http.BaseAddress };
        admin.DefaultRequestHeaders.Authorization = ApiKeys.Bearer(ApiKeys.Admin);
        using var otherKey = await admin.GetAsync("/api/tenants/dev");
        Assert.NotEqual(HttpStatusCode.TooManyRequests, otherKey.StatusCode);
        using var health = await host.Http.GetAsync("/health/live");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);

        // The bucket refills: a second later the key may call again.
        await Task.Delay(TimeSpan.FromSeconds(1.2));
        using var refilled = await host.Http.GetAsync("/api/workflows/schema");
        Assert.Equal(HttpStatusCode.OK, refilled.StatusCode);
    }

    [Theory]
    [InlineData("/api/instances", BodyLimits.Instances, true)]
    [InlineData("/api/instances", BodyLimits.Instances, false)]
    [InlineData("/api/runs", BodyLimits.Runs, true)]
    [InlineData("/api/workflows", BodyLimits.Workflows, false)]
    [InlineData("/api/instances/box/exec", BodyLimits.Exec, true)]
    public async Task ABodyOverTheEndpointsLimitIs413WhetherItsLengthIsDeclaredOrNot(string path, long limit, bool declareLength)
    {
        await using var host = await GatewayHost.StartAsync(cluster);
        var body = new byte[limit + 1024];
        Array.Fill(body, (byte)' ');
        body[0] = (byte)'{';
        HttpContent content = declareLength ? new ByteArrayContent(body) : new StreamContent(new MemoryStream(body));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        if (!declareLength)
        {
            content.Headers.ContentLength = null;
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = content };
        if (!declareLength)
        {
            request.Headers.TransferEncodingChunked = true;
        }
        else
        {
            // As curl does for large bodies: the refusal arrives before the body is sent.
            request.Headers.ExpectContinue = true;
        }

        using var response = await host.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        var problem = await ProblemAsync(response);
        Assert.Equal(Problems + "payload-too-large", problem.GetProperty("type").GetString());
        Assert.Equal(limit, problem.GetProperty("limit_bytes").GetInt64());
    }

    [Fact]
    public async Task ARequestThatOutlivesTheTimeoutIs504WithAProblem()
    {
        await using var host = await GatewayHost.StartAsync(
            cluster,
            new HttpLimitSettings(100, 500, TimeSpan.FromMilliseconds(300)),
            app => app.MapGet("/api/slow", async (CancellationToken ct) =>
            {
                await Task.Delay(TimeSpan.FromSeconds(30), ct);
                return Results.Ok();
            }));

        using var response = await host.Http.GetAsync("/api/slow");

        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        var problem = await ProblemAsync(response);
        Assert.Equal(Problems + "request-timeout", problem.GetProperty("type").GetString());
        Assert.Contains("0.3 s", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Orchestrator:Http:RateLimit:PermitsPerSecond", "0")]
    [InlineData("Orchestrator:Http:RateLimit:PermitsPerSecond", "lots")]
    [InlineData("Orchestrator:Http:RateLimit:Burst", "-5")]
    [InlineData("Orchestrator:Http:RequestTimeout", "forever")]
    [InlineData("Orchestrator:Http:RequestTimeout", "00:00:00.001")]
    public void BadLimitSettingsAreNamedAtStartUp(string key, string value)
    {
        var error = Assert.Throws<Hosting.StartupFailureException>(() => GatewayProgram.Build([$"--{key}={value}"]));

        Assert.StartsWith($"configuration error: {key} must be", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ABurstBelowTheRateIsRefused()
    {
        var error = Assert.Throws<Hosting.StartupFailureException>(() => GatewayProgram.Build(["--Orchestrator:Http:RateLimit:PermitsPerSecond=50", "--Orchestrator:Http:RateLimit:Burst=10"]));

        Assert.StartsWith("configuration error: Orchestrator:Http:RateLimit:Burst must be at least", error.Message, StringComparison.Ordinal);
    }

    private static async Task<JsonElement> ProblemAsync(HttpResponseMessage response)
    {
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }
}
