using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Orchestrator.Hosting;
using Orchestrator.Testing;
using Orleans.Configuration;

namespace Orchestrator.Gateway.Tests;

/// <summary>
/// The request id rules, the id on every response and problem, the log scope and the generic 500, through the
/// real <see cref="GatewayExtensions.UseOrchestratorGateway"/> pipeline on Kestrel.
/// </summary>
[Collection(InMemoryCluster.Name)]
public sealed class RequestIdTests(InMemoryClusterFixture cluster)
{
    private const string Secret = "connection string Host=db-internal;Password=hunter2";

    [Theory]
    [InlineData("abc")]
    [InlineData("0f8fad5b-d9cb-469f-a165-70867728950e")]
    [InlineData("Root=1-67891233-abcdef012345678912345678")]
    [InlineData("a.b_c:d+e/f=")]
    public async Task AValidIdIsTakenAndEchoed(string id)
    {
        await using var gateway = await TelemetryGateway.StartAsync(cluster);

        using var response = await gateway.SendAsync(HttpMethod.Get, "/api/version", id);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(id, Assert.Single(response.Headers.GetValues(RequestIds.HeaderName)));
    }

    [Fact]
    public async Task AnIdOfExactly128CharactersIsTaken()
    {
        await using var gateway = await TelemetryGateway.StartAsync(cluster);
        var id = new string('a', RequestIds.MaxLength);

        using var response = await gateway.SendAsync(HttpMethod.Get, "/api/version", id);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(id, Assert.Single(response.Headers.GetValues(RequestIds.HeaderName)));
    }

    [Fact]
    public async Task WithoutAnIdOneIsGeneratedAndEachRequestGetsItsOwn()
    {
        await using var gateway = await TelemetryGateway.StartAsync(cluster);

        using var first = await gateway.SendAsync(HttpMethod.Get, "/api/version", id: null);
        using var second = await gateway.SendAsync(HttpMethod.Get, "/api/version", id: null);

        var ids = new[] { first, second }.Select(r => Assert.Single(r.Headers.GetValues(RequestIds.HeaderName))).ToList();
        Assert.All(ids, id => Assert.Matches("^[0-9a-f]{32}$", id));
        Assert.NotEqual(ids[0], ids[1]);
    }

    [Theory]
    [InlineData("")]
    [InlineData("has space")]
    [InlineData("quote\"d")]
    [InlineData("semi;colon")]
    [InlineData("<script>")]
    [InlineData("abc%0D%0ASet-Cookie:%20evil=1")]
    [InlineData("tab\there")]
    public async Task AnIdBreakingTheRulesIsRefusedWithAProblemAndANewId(string id)
    {
        await using var gateway = await TelemetryGateway.StartAsync(cluster);

        using var response = await gateway.SendAsync(HttpMethod.Get, "/api/version", id);

        await AssertRefusedAsync(response, id);
    }

    [Fact]
    public async Task AnIdLongerThan128CharactersIsRefused()
    {
        await using var gateway = await TelemetryGateway.StartAsync(cluster);
        var id = new string('a', RequestIds.MaxLength + 1);

        using var response = await gateway.SendAsync(HttpMethod.Get, "/api/version", id);

        await AssertRefusedAsync(response, id);
    }

    [Fact]
    public async Task TwoIdsAreRefused()
    {
        await using var gateway = await TelemetryGateway.StartAsync(cluster);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/version");
        request.Headers.TryAddWithoutValidation(RequestIds.HeaderName, ["one", "two"]);

        using var response = await gateway.Http.SendAsync(request);

        await AssertRefusedAsync(response, "one");
    }

    [Fact]
    public async Task AHeaderFoldedOntoTheIdNeverReachesTheResponse()
    {
        await using var gateway = await TelemetryGateway.StartAsync(cluster);
        var uri = gateway.Http.BaseAddress!;
        using var client = new TcpClient();
        await client.ConnectAsync(uri.Host, uri.Port);
        await using var stream = client.GetStream();

        // Obsolete line folding: a lenient server would read "abc Set-Cookie: evil=1" as the id and echo it.
        var raw = $"GET /api/version HTTP/1.1\r\nHost: {uri.Authority}\r\n{RequestIds.HeaderName}: abc\r\n Set-Cookie: evil=1\r\nConnection: close\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(raw));
        using var reader = new StreamReader(stream, Encoding.ASCII);
        var answer = await reader.ReadToEndAsync();

        Assert.StartsWith("HTTP/1.1 400", answer, StringComparison.Ordinal);
        Assert.DoesNotContain("evil", answer, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EveryProblemCarriesTheRequestId()
    {
        await using var gateway = await TelemetryGateway.StartAsync(cluster);

        // TypedResults.Problem from an endpoint, status code pages for an unknown route, the exception handler.
        using var invalid = await gateway.SendAsync(HttpMethod.Post, "/api/instances", "from-endpoint", """{"name":"NOT A NAME","region":"ams","size":"shared-cpu-1x"}""");
        using var unknown = await gateway.SendAsync(HttpMethod.Get, "/api/no-such-route", "from-status-pages");
        using var failed = await gateway.SendAsync(HttpMethod.Get, TelemetryGateway.ThrowPath, "from-exception-handler");

        foreach (var (response, id, status) in new[] { (invalid, "from-endpoint", 400), (unknown, "from-status-pages", 404), (failed, "from-exception-handler", 500) })
        {
            Assert.Equal(status, (int)response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            var problem = JsonSerializer.Deserialize<JsonElement>(await response.Content.ReadAsStringAsync());
            Assert.Equal(id, problem.GetProperty(RequestIds.Key).GetString());
            Assert.Equal(id, Assert.Single(response.Headers.GetValues(RequestIds.HeaderName)));
        }
    }

    [Fact]
    public async Task AnUnexpectedExceptionIsAGeneric500WithNothingInternalInIt()
    {
        await using var gateway = await TelemetryGateway.StartAsync(cluster);

        using var response = await gateway.SendAsync(HttpMethod.Get, TelemetryGateway.ThrowPath, "boom-1");
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        var problem = JsonSerializer.Deserialize<JsonElement>(body);
        Assert.Equal(500, problem.GetProperty("status").GetInt32());
        Assert.Equal("boom-1", problem.GetProperty(RequestIds.Key).GetString());
        // Only the generic members: no detail, no exception, no stack trace, no message text.
        var members = problem.EnumerateObject().Select(p => p.Name).Order().ToList();
        Assert.Equal(["request_id", "status", "title", "trace_id", "type"], members);
        Assert.DoesNotContain("hunter2", body, StringComparison.Ordinal);
        Assert.DoesNotContain(nameof(InvalidOperationException), body, StringComparison.Ordinal);
        Assert.DoesNotContain(nameof(TelemetryGateway), body, StringComparison.Ordinal);
        Assert.DoesNotContain(" at ", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LinesWrittenWhileHandlingARequestCarryItsId()
    {
        await using var gateway = await TelemetryGateway.StartAsync(cluster);

        using (await gateway.SendAsync(HttpMethod.Get, TelemetryGateway.LogPath, "logged-1"))
        using (await gateway.SendAsync(HttpMethod.Get, TelemetryGateway.ThrowPath, "logged-2"))
        {
        }

        var endpointLine = Assert.Single(gateway.Log.Entries, e => e.Message == TelemetryGateway.LogLine);
        Assert.Equal("logged-1", endpointLine.Scope(RequestIds.Key));
        // The exception handler's own line about the failure (with the exception, for operators only).
        var failureLine = Assert.Single(gateway.Log.Entries, e => e.Level == LogLevel.Error && e.Category.Contains("ExceptionHandler", StringComparison.Ordinal));
        Assert.Equal("logged-2", failureLine.Scope(RequestIds.Key));
    }

    [Fact]
    public async Task AWebSocketUpgradeEchoesTheId()
    {
        await using var gateway = await TelemetryGateway.StartAsync(cluster);
        using var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader("Authorization", "Bearer " + ApiKeys.Dev);
        socket.Options.CollectHttpResponseDetails = true;
        socket.Options.SetRequestHeader(RequestIds.HeaderName, "ws-1");
        var uri = new UriBuilder(gateway.Http.BaseAddress!) { Scheme = "ws", Path = TelemetryGateway.WebSocketPath }.Uri;

        await socket.ConnectAsync(uri, CancellationToken.None);

        Assert.Equal(HttpStatusCode.SwitchingProtocols, socket.HttpStatusCode);
        Assert.Equal("ws-1", Assert.Single(socket.HttpResponseHeaders![RequestIds.HeaderName]));
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
    }

    private static async Task AssertRefusedAsync(HttpResponseMessage response, string refused)
    {
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = JsonSerializer.Deserialize<JsonElement>(await response.Content.ReadAsStringAsync());
        Assert.Equal(Status.MiddlewareProblems.InvalidRequestId, problem.GetProperty("type").GetString());
        var echoed = Assert.Single(response.Headers.GetValues(RequestIds.HeaderName));
        Assert.Matches("^[0-9a-f]{32}$", echoed);
        Assert.NotEqual(refused, echoed);
        Assert.Equal(echoed, problem.GetProperty(RequestIds.Key).GetString());
    }

    /// <summary>The gateway's pipeline as the hosts compose it, plus three test endpoints, logging into a capture.</summary>
    private sealed class TelemetryGateway : IAsyncDisposable
    {
        public const string ThrowPath = "/test/throw";
        public const string LogPath = "/test/log";
        public const string WebSocketPath = "/test/ws";
        public const string LogLine = "a line from the endpoint";

        private readonly WebApplication _app;

        private TelemetryGateway(WebApplication app, LogCapture log)
        {
            _app = app;
            Log = log;
            Http = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
            Http.DefaultRequestHeaders.Authorization = ApiKeys.Bearer(ApiKeys.Dev);
        }

        public HttpClient Http { get; }

        public LogCapture Log { get; }

        public static async Task<TelemetryGateway> StartAsync(InMemoryClusterFixture cluster)
        {
            var log = new LogCapture();
            var builder = WebApplication.CreateBuilder();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Logging.ClearProviders();
            builder.Logging.AddProvider(log);
            builder.Services.AddSingleton(cluster.Client);
            builder.Services.AddSingleton(cluster.Client.ServiceProvider.GetRequiredService<IOptions<ClusterOptions>>());
            builder.Services.AddOrchestratorGateway(Auth.AuthSettings.Create(ApiKeys.Admin, devProfile: true));
            var app = builder.Build();
            app.UseOrchestratorGateway();
            app.MapOrchestratorGateway();
            app.MapGet(ThrowPath, IResult () => throw new InvalidOperationException("Failed to open " + Secret));
            app.MapGet(LogPath, (ILogger<TelemetryGateway> logger) =>
            {
#pragma warning disable CA1848, CA2254 // A fixed test line; no template needed.
                logger.LogInformation(LogLine);
#pragma warning restore CA1848, CA2254
                return TypedResults.Ok();
            });
            app.Map(WebSocketPath, async context =>
            {
                using var socket = await context.WebSockets.AcceptWebSocketAsync();
                await socket.ReceiveAsync(new byte[16], context.RequestAborted);
                await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, context.RequestAborted);
            });
            await app.StartAsync();
            return new TelemetryGateway(app, log);
        }

        public async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string? id, string? json = null)
        {
            using var request = new HttpRequestMessage(method, path);
            if (id is not null)
            {
                request.Headers.TryAddWithoutValidation(RequestIds.HeaderName, id);
            }

            if (json is not null)
            {
                request.Content = new StringContent(json, Encoding.UTF8, "application/json");
            }

            return await Http.SendAsync(request);
        }

        public async ValueTask DisposeAsync()
        {
            Http.Dispose();
            await _app.DisposeAsync();
        }
    }
}
