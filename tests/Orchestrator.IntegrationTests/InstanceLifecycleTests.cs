using System.Net;
using System.Text.Json;
using Orchestrator.Fly;
using Orchestrator.Fly.Emulator;
using Orchestrator.Gateway.Instances;
using Orchestrator.Hosting;
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
            new[] { "created,machine_created,started,stopping,stopped,starting,started,restarted,destroyed", "created,machine_created,started,stopping,stopped,starting,started,restarted,started,destroyed" });
        Assert.Equal(Enumerable.Range(1, events.Count).Select(i => (long)i), events.Select(e => e.GetProperty("sequence").GetInt64()));
        Assert.Equal("req-create", RequestIdOf(events, "created"));
        // The machine is made after the create call returned, on behalf of the same request.
        Assert.Equal("req-create", RequestIdOf(events, "machine_created"));
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

    [Fact]
    public async Task AMachineWhoseStartFailsGivesItsReasonAndWaitingForItIsInstanceFailed()
    {
        _emulator.FaultInjection.AddStartFault(new StartFault("doomed", "the image's init could not mount /proc") { ExitCode = 3 });
        await using var silo = await StartSiloAsync();

        using var created = await silo.Http.PostAsJsonAsync("/api/instances?wait=started", new { name = "doomed", region = "ams", size = "shared-cpu-1x" });
        var problem = await ReadAsync(created);

        Assert.Equal(HttpStatusCode.BadGateway, created.StatusCode);
        Assert.Equal(InstanceProblems.InstanceFailed, problem.GetProperty("type").GetString());
        Assert.Contains("could not mount /proc", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal("machine-start-failed", problem.GetProperty("last_error").GetProperty("code").GetString());

        var instance = await ReadAsync(await silo.Http.GetAsync("/api/instances/doomed"));
        Assert.Equal("failed", instance.GetProperty("state").GetString());
        var error = instance.GetProperty("last_error");
        Assert.Equal("machine-start-failed", error.GetProperty("code").GetString());
        Assert.Contains("could not mount /proc", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Contains("exit code 3", error.GetProperty("message").GetString(), StringComparison.Ordinal);

        var failed = Assert.Single(await AllEventsAsync(silo, "doomed", pageSize: 100), e => e.GetProperty("kind").GetString() == "failed");
        Assert.Equal("exit", failed.GetProperty("machine_event").GetProperty("type").GetString());
        Assert.Equal(3, failed.GetProperty("machine_event").GetProperty("exit_code").GetInt32());
        Assert.Equal("machine-start-failed", failed.GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task AMainProcessThatExitsLeavesTheInstanceStoppedWithTheExitCode()
    {
        await using var silo = await StartSiloAsync();
        var created = await ReadAsync(await silo.Http.PostAsJsonAsync("/api/instances?wait=started", new { name = "exits", region = "ams", size = "shared-cpu-1x" }));
        var fly = silo.App.Services.GetRequiredService<IMachineProvider>();
        var machineId = created.GetProperty("machine_id").GetString()!;
        // restart.policy on-failure would bring it back: a clean exit (SIGTERM -> 0) is the one Fly lets rest.
        await _emulator.KillMachineProcessAsync(machineId, signal: 15);

        await Wait.UntilAsync(async () => (await ReadAsync(await silo.Http.GetAsync("/api/instances/exits"))).GetProperty("state").GetString() == "stopped", "the instance to see its machine stopped");
        var error = (await ReadAsync(await silo.Http.GetAsync("/api/instances/exits"))).GetProperty("last_error");
        Assert.Equal("machine-exited", error.GetProperty("code").GetString());
        Assert.Contains("exit code 0", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        var stopped = (await AllEventsAsync(silo, "exits", pageSize: 100)).Last();
        Assert.Equal("stopped", stopped.GetProperty("kind").GetString());
        Assert.Equal(JsonValueKind.Null, stopped.GetProperty("actor").ValueKind);
        Assert.Equal("exit", stopped.GetProperty("machine_event").GetProperty("type").GetString());
        Assert.Equal("stopped", (await fly.GetMachineAsync(AppName, machineId)).State);
    }

    [Fact]
    public async Task TheHostKeyIsKnownBeforeTheFirstConnectionAndSurvivesTheRootBeingRebuilt()
    {
        await using var silo = await StartSiloAsync();
        var created = await ReadAsync(await silo.Http.PostAsJsonAsync("/api/instances?wait=started", new { name = "keyed", region = "ams", size = "shared-cpu-1x" }));
        var pinned = created.GetProperty("host_key_pinned").GetString()!;
        var fingerprint = created.GetProperty("ssh_host_key_fingerprint").GetString()!;
        var address = created.GetProperty("private_ip").GetString()!;

        // Pinned at creation, before anything connected; the machine shows exactly that key.
        Assert.StartsWith("ssh-ed25519 ", pinned, StringComparison.Ordinal);
        Assert.Equal(Ssh.SshKeys.Fingerprint(pinned), fingerprint);
        Assert.StartsWith("SHA256:", fingerprint, StringComparison.Ordinal);
        Assert.Equal(HostKeyScan.KeyOf(pinned), HostKeyScan.KeyOf(await HostKeyScan.Ed25519Async(address, 2222)));
        Assert.Contains("first-connect", await ExecAsync(silo, "keyed", "echo first-connect > /root/note; cat /root/note"), StringComparison.Ordinal);

        // Fly rebuilds the root at every start: the note goes, the injected key stays.
        await TransitionAsync(silo, "keyed", "stop", "stopped", "req-stop-keyed");
        await TransitionAsync(silo, "keyed", "start", "started", "req-start-keyed");
        Assert.Equal(HostKeyScan.KeyOf(pinned), HostKeyScan.KeyOf(await HostKeyScan.Ed25519Async(address, 2222)));
        Assert.Contains("note-gone", await ExecAsync(silo, "keyed", "test -e /root/note || echo note-gone"), StringComparison.Ordinal);
        Assert.Equal(pinned, (await ReadAsync(await silo.Http.GetAsync("/api/instances/keyed"))).GetProperty("host_key_pinned").GetString());
    }

    [Fact]
    public async Task ReadsOfAnInstanceMakeNoFlyCall()
    {
        // A database of its own: grains of earlier tests (an instance still settling) must not call Fly meanwhile.
        await using var silo = await StartSiloAsync(await database.CreateDatabaseAsync(), "--Orchestrator:Instances:CacheTtl=01:00:00");
        using (var created = await silo.Http.PostAsJsonAsync("/api/instances?wait=started", new { name = "cached", region = "ams", size = "shared-cpu-1x" }))
        {
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }

        // The grain's poll stops once the machine has started; from here on nothing should ask Fly anything.
        _emulator.Requests.Reset();
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal("started", (await ReadAsync(await silo.Http.GetAsync("/api/instances/cached"))).GetProperty("state").GetString());
            Assert.Equal(HttpStatusCode.OK, (await silo.Http.GetAsync("/api/instances")).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await silo.Http.GetAsync("/api/instances/cached/events")).StatusCode);
        }

        Assert.True(_emulator.Requests.Total == 0, "Fly calls during reads: " + string.Join(", ", _emulator.Requests.Snapshot().Select(p => $"{p.Key}={p.Value}")));
        // The counter does count: an explicit transition is a Fly call.
        await TransitionAsync(silo, "cached", "stop", "stopped", "req-stop-cached");
        Assert.True(_emulator.Requests.Total > 0);
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

    private Task<SiloNode> StartSiloAsync() => StartSiloAsync(database.ConnectionString);

    private Task<SiloNode> StartSiloAsync(string connectionString, params string[] extraArgs) =>
        SiloNode.StartAsync(
            connectionString,
            "lifecycle",
            configureServices: null,
            [
                $"--FLY_API_TOKEN={_emulator.ApiToken}",
                $"--Fly:BaseAddress={_emulator.BaseAddress}",
                $"--Fly:AppName={AppName}",
                "--Orchestrator:Instances:SettlePollInterval=00:00:00.100",
                .. extraArgs,
            ]);

    private static async Task<string> ExecAsync(SiloNode silo, string id, string command)
    {
        using var response = await silo.Http.PostAsJsonAsync($"/api/instances/{id}/exec", new { command });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsStringAsync();
    }

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
