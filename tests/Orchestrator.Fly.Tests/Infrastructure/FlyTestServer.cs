using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.WebUtilities;

namespace Orchestrator.Fly.Tests.Infrastructure;

/// <summary>One request as the test server saw it.</summary>
public sealed record RecordedRequest(string Method, string Path, string Query, IReadOnlyDictionary<string, string> Headers, string Body, long Timestamp)
{
    public string? Header(string name) => Headers.TryGetValue(name, out var value) ? value : null;

    public string? QueryValue(string name) =>
        QueryHelpers.ParseQuery(Query).TryGetValue(name, out var values) ? values.ToString() : null;

    public TimeSpan Since(RecordedRequest earlier) => Stopwatch.GetElapsedTime(earlier.Timestamp, Timestamp);
}

/// <summary>
/// A real Kestrel server on loopback that plays Fly: each test gives it a handler that serves fixture bodies,
/// scripted failures or a small in-memory state. Every request is recorded, with its arrival time.
/// </summary>
public sealed class FlyTestServer : IAsyncDisposable
{
    public const string RequestIdPrefix = "01TESTREQUEST";

    private readonly WebApplication _app;
    private readonly ConcurrentQueue<RecordedRequest> _requests = new();
    private int _sequence;

    private FlyTestServer(WebApplication app, Func<HttpContext, RecordedRequest, Task> handler)
    {
        _app = app;
        Handler = handler;
        _app.Run(async context =>
        {
            using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
            var body = await reader.ReadToEndAsync(context.RequestAborted);
            var headers = context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
            var recorded = new RecordedRequest(context.Request.Method, context.Request.Path.Value ?? "", context.Request.QueryString.Value ?? "", headers, body, Stopwatch.GetTimestamp());
            _requests.Enqueue(recorded);
            context.Response.Headers["fly-request-id"] = RequestIdPrefix + Interlocked.Increment(ref _sequence);
            await Handler(context, recorded);
        });
    }

    public Uri BaseAddress { get; private set; } = null!;

    public Func<HttpContext, RecordedRequest, Task> Handler { get; set; }

    public IReadOnlyList<RecordedRequest> Requests => [.. _requests];

    public IReadOnlyList<RecordedRequest> RequestsTo(string method, string pathSuffix) =>
        [.. _requests.Where(r => r.Method == method && r.Path.EndsWith(pathSuffix, StringComparison.Ordinal))];

    public static async Task<FlyTestServer> StartAsync(Func<HttpContext, RecordedRequest, Task>? handler = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(options => options.Listen(IPAddress.Loopback, 0));
        builder.Logging.ClearProviders();
        var server = new FlyTestServer(builder.Build(), handler ?? ((context, _) => Respond(context, 404, """{"error":"not found"}""")));
        await server._app.StartAsync();
        var address = server._app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.BaseAddress = new Uri(address);
        return server;
    }

    public static async Task Respond(HttpContext context, int status, string? body = null, params (string Name, string Value)[] headers)
    {
        context.Response.StatusCode = status;
        foreach (var (name, value) in headers)
        {
            context.Response.Headers[name] = value;
        }

        if (body is not null)
        {
            context.Response.ContentType = "application/json; charset=utf-8";
            await context.Response.WriteAsync(body);
        }
    }

    public static Task RespondFixture(HttpContext context, int status, string fixture) => Respond(context, status, FlyFixtures.Read(fixture));

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
