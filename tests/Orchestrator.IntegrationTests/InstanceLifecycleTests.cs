using System.Net;
using System.Text.Json;
using Orchestrator.Fly.Emulator;
using Orchestrator.Gateway.Instances;
using Orchestrator.Gateway.Telemetry;
using Orchestrator.Testing;

namespace Orchestrator.IntegrationTests;

/// <summary>
/// Instances that tell the truth: lifecycle events with who asked, failure reasons from the machine, host keys known
/// before the first connection. Real HTTP, a silo on PostgreSQL, an emulator whose machines are real sandboxes.
/// </summary>
public sealed class InstanceLifecycleTests(PostgresDatabaseFixture database) : IClassFixture<PostgresDatabaseFixture>, IAsyncLifetime
{
    private const string AppName = "lifecycle-test";
    private FlyEmulator _emulator = null!;

    public async Task InitializeAsync() =>
        _emulator = await FlyEmulator.StartAsync(new FlyEmulatorOptions { TransitionDelay = TimeSpan.FromMilliseconds(50), RateLimitScale = 20, DestroyedRetention = TimeSpan.FromMilliseconds(300) });

    public async Task DisposeAsync() => await _emulator.DisposeAsync();

    [Fact]
    public async Task AFullLifecycleIsRecordedInOrderWithWhoAskedForEachStep()
    {
        await using var silo = await StartSiloAsync();
        using (var created = await SendAsync(silo, HttpMethod.Post, "/api/instances?wait=started", "req-create", new { name = "life", region = "ams", size = "shared-cpu-1x" }))
        {
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }

        await TransitionAsync(silo, "life", "stop", "stopped", "req-stop");
        await TransitionAsync(silo, "life", "start", "started", "req-start");
        await TransitionAsync(silo, "life", "restart", "started", "req-restart");
        using (var destroyed = await SendAsync(silo, HttpMethod.Delete, "/api/instances/life", "req-destroy"))
        {
            Assert.Equal(HttpStatusCode.OK, destroyed.StatusCode);
        }

        var events = await AllEventsAsync(silo, "life", pageSize: 2);
        var kinds = events.Select(e => e.GetProperty("kind").GetString()).ToList();
        // After a restart the machine passes through restarting and back to started; the instance's poll may or may not
        // see it in between, so a "started" there is optional. Everything else is exact.
        Assert.Contains(
            string.Join(',', kinds),
            new[] { "created,started,stopping,stopped,starting,started,restarted,destroyed", "created,started,stopping,stopped,starting,started,restarted,started,destroyed" });
        Assert.Equal(Enumerable.Range(1, events.Count).Select(i => (long)i), events.Select(e => e.GetProperty("sequence").GetInt64()));
        Assert.Equal("req-create", RequestIdOf(events, "created"));
        Assert.Equal("req-stop", RequestIdOf(events, "stopping"));
        Assert.Equal("req-start", RequestIdOf(events, "starting"));
        Assert.Equal("req-restart", RequestIdOf(events, "restarted"));
        Assert.Equal("req-destroy", RequestIdOf(events, "destroyed"));

        // What the machine did by itself carries Fly's event, not a caller.
        var started = events.First(e => e.GetProperty("kind").GetString() == "started");
        Assert.Equal(JsonValueKind.Null, started.GetProperty("actor").ValueKind);
        Assert.Equal("start", started.GetProperty("machine_event").GetProperty("type").GetString());
        Assert.Equal("flyd", started.GetProperty("machine_event").GetProperty("source").GetString());
        var stopped = events.First(e => e.GetProperty("kind").GetString() == "stopped");
        Assert.Equal("exit", stopped.GetProperty("machine_event").GetProperty("type").GetString());
        Assert.Equal(JsonValueKind.Null, stopped.GetProperty("error").ValueKind);
    }

    [Fact]
    public async Task AWorkflowsInstanceEventsNameTheRunAndTheStep()
    {
        await using var silo = await StartSiloAsync();
        const string Definition = """
            name: lifecycle-steps
            steps:
              - id: make
                uses: instance.create
                with: { name: by-run, region: ams, size: shared-cpu-1x }
              - id: halt
                uses: instance.stop
                with: { instance: by-run }
            """;
        using (var registered = await silo.Http.PostAsync("/api/workflows", new StringContent(Definition, System.Text.Encoding.UTF8, "application/yaml")))
        {
            Assert.Equal(HttpStatusCode.Created, registered.StatusCode);
        }

        using var started = await silo.Http.PostAsJsonAsync("/api/runs", new { workflow = "lifecycle-steps" });
        var runId = (await ReadAsync(started)).GetProperty("id").GetString()!;
        await Wait.UntilAsync(
            async () => (await ReadAsync(await silo.Http.GetAsync($"/api/runs/{runId}"))).GetProperty("status").GetString() is "succeeded" or "failed",
            $"run {runId} to end");
        Assert.Equal("succeeded", (await ReadAsync(await silo.Http.GetAsync($"/api/runs/{runId}"))).GetProperty("status").GetString());

        var events = await AllEventsAsync(silo, "by-run", pageSize: 100);
        var created = events.Single(e => e.GetProperty("kind").GetString() == "created").GetProperty("actor");
        Assert.Equal(runId, created.GetProperty("run_id").GetString());
        Assert.Equal("make", created.GetProperty("step_id").GetString());
        var stopping = events.Single(e => e.GetProperty("kind").GetString() == "stopping").GetProperty("actor");
        Assert.Equal(runId, stopping.GetProperty("run_id").GetString());
        Assert.Equal("halt", stopping.GetProperty("step_id").GetString());
    }

    [Theory]
    [InlineData("/api/instances/ev/events?limit=0", "limit")]
    [InlineData("/api/instances/ev/events?limit=101", "limit")]
    [InlineData("/api/instances/ev/events?limit=ten", "limit")]
    [InlineData("/api/instances/ev/events?cursor=-1", "cursor")]
    [InlineData("/api/instances/ev/events?cursor=abc", "cursor")]
    [InlineData("/api/instances/EV/events", "id")]
    public async Task BadEventQueriesAre400NamingTheField(string url, string field)
    {
        await using var silo = await StartSiloAsync();
        using var response = await silo.Http.GetAsync(url);
        var problem = await ReadAsync(response);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(InstanceProblems.Validation, problem.GetProperty("type").GetString());
        Assert.Equal(field, problem.GetProperty("field").GetString());
    }

    [Fact]
    public async Task EventsOfAnUnknownInstanceAre404()
    {
        await using var silo = await StartSiloAsync();
        using var response = await silo.Http.GetAsync("/api/instances/nobody/events");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal(InstanceProblems.NotFound, (await ReadAsync(response)).GetProperty("type").GetString());
    }

    private static string? RequestIdOf(List<JsonElement> events, string kind) =>
        events.Single(e => e.GetProperty("kind").GetString() == kind).GetProperty("actor").GetProperty("request_id").GetString();

    private static async Task<List<JsonElement>> AllEventsAsync(SiloNode silo, string id, int pageSize)
    {
        var events = new List<JsonElement>();
        string? cursor = null;
        do
        {
            using var response = await silo.Http.GetAsync($"/api/instances/{id}/events?limit={pageSize}" + (cursor is null ? "" : $"&cursor={cursor}"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var page = await ReadAsync(response);
            var items = page.GetProperty("items").EnumerateArray().ToList();
            Assert.True(items.Count <= pageSize);
            events.AddRange(items);
            cursor = page.GetProperty("next_cursor").GetString();
        }
        while (cursor is not null);
        return events;
    }

    private Task<SiloNode> StartSiloAsync() =>
        SiloNode.StartAsync(
            database.ConnectionString,
            "lifecycle",
            configureServices: null,
            $"--FLY_API_TOKEN={_emulator.ApiToken}",
            $"--Fly:BaseAddress={_emulator.BaseAddress}",
            $"--Fly:AppName={AppName}",
            "--Orchestrator:Instances:SettlePollInterval=00:00:00.100");

    private static async Task<HttpResponseMessage> SendAsync(SiloNode silo, HttpMethod method, string url, string requestId, object? body = null)
    {
        using var request = new HttpRequestMessage(method, url) { Content = body is null ? null : JsonContent.Create(body) };
        request.Headers.Add(RequestIds.HeaderName, requestId);
        return await silo.Http.SendAsync(request);
    }

    private static async Task TransitionAsync(SiloNode silo, string id, string action, string expected, string requestId)
    {
        using (var response = await SendAsync(silo, HttpMethod.Post, $"/api/instances/{id}/{action}", requestId))
        {
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        }

        await Wait.UntilAsync(async () => (await ReadAsync(await silo.Http.GetAsync($"/api/instances/{id}"))).GetProperty("state").GetString() == expected, $"instance {id} to be {expected} after {action}");
    }

    private static async Task<JsonElement> ReadAsync(HttpResponseMessage response) =>
        JsonSerializer.Deserialize<JsonElement>(await response.Content.ReadAsStringAsync());
}
