using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Orchestrator.Testing;

namespace Orchestrator.IntegrationTests;

/// <summary>One silo on PostgreSQL whose co-hosted gateway the workflow API tests call over real HTTP.</summary>
public sealed class WorkflowApiFixture : IAsyncLifetime
{
    private readonly PostgresDatabaseFixture _database = new();

    internal SiloNode Silo { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await _database.InitializeAsync();
        Silo = await SiloNode.StartAsync(_database.ConnectionString, "workflow-api");
    }

    public async Task DisposeAsync()
    {
        if (Silo is not null)
        {
            await Silo.DisposeAsync();
        }

        await _database.DisposeAsync();
    }
}

/// <summary>
/// <c>/api/workflows</c> and <c>/api/runs</c> end to end: real HTTP on Kestrel, the definition, run and query grains,
/// run events in PostgreSQL. Workflows here only sleep and wait for signals, so no machine is involved.
/// </summary>
public sealed class WorkflowApiTests(WorkflowApiFixture fixture) : IClassFixture<WorkflowApiFixture>
{
    private const string Problems = "https://orchestrator.dev/problems/";
    private static readonly TimeSpan StreamTimeout = TimeSpan.FromSeconds(30);

    private HttpClient Http => fixture.Silo.Http;

    [Fact]
    public async Task YamlAndJsonDefinitionsBecomeNumberedVersionsThatCanBeListedAndReadBack()
    {
        var yaml = Naps("api-versions");
        var (created, first) = await RegisterAsync(yaml, "application/yaml");
        Assert.Equal(HttpStatusCode.Created, created);
        Assert.Equal(1, first.GetProperty("version").GetInt32());
        Assert.Matches("^[0-9a-f]{64}$", first.GetProperty("sha256").GetString());

        // The same source again is the same version, and says so with 200.
        var (again, same) = await RegisterAsync(yaml, "text/plain");
        Assert.Equal(HttpStatusCode.OK, again);
        Assert.Equal(1, same.GetProperty("version").GetInt32());
        Assert.Equal(first.GetProperty("sha256").GetString(), same.GetProperty("sha256").GetString());

        var json = """{"name":"api-versions","description":"as JSON","steps":[{"id":"one","uses":"sleep","with":{"duration":"10ms"}}]}""";
        using (var content = new StringContent(json, Encoding.UTF8, "application/json"))
        using (var response = await Http.PostAsync("/api/workflows", content))
        {
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            Assert.Equal("/api/workflows/api-versions/versions/2", response.Headers.Location?.OriginalString);
        }

        var list = await GetJsonAsync("/api/workflows");
        var item = list.GetProperty("items").EnumerateArray().Single(i => i.GetProperty("name").GetString() == "api-versions");
        Assert.Equal(2, item.GetProperty("latest_version").GetInt32());
        Assert.False(item.GetProperty("built_in").GetBoolean());
        Assert.Contains(list.GetProperty("items").EnumerateArray(), i => i.GetProperty("name").GetString() == "ubuntu-box" && i.GetProperty("built_in").GetBoolean());

        var workflow = await GetJsonAsync("/api/workflows/api-versions");
        Assert.Equal(2, workflow.GetProperty("latest_version").GetInt32());
        Assert.Equal([1, 2], workflow.GetProperty("versions").EnumerateArray().Select(v => v.GetProperty("version").GetInt32()));
        Assert.All(workflow.GetProperty("versions").EnumerateArray(), v => Assert.False(v.TryGetProperty("source", out _)));

        var v1 = await GetJsonAsync("/api/workflows/api-versions/versions/1");
        Assert.Equal(yaml, v1.GetProperty("source").GetString());
        var v2 = await GetJsonAsync("/api/workflows/api-versions/versions/2");
        Assert.Equal(json, v2.GetProperty("source").GetString());
        Assert.Equal("as JSON", v2.GetProperty("description").GetString());

        await AssertProblemAsync(await Http.GetAsync("/api/workflows/api-versions/versions/3"), HttpStatusCode.NotFound, "not-found");
        await AssertProblemAsync(await Http.GetAsync("/api/workflows/api-never-registered"), HttpStatusCode.NotFound, "not-found");
    }

    [Fact]
    public async Task TheSchemaIsServedAndBuiltInTemplatesHaveASourceToRead()
    {
        using var schema = await Http.GetAsync("/api/workflows/schema");
        Assert.Equal(HttpStatusCode.OK, schema.StatusCode);
        Assert.Equal("application/schema+json", schema.Content.Headers.ContentType?.MediaType);
        Assert.Equal("https://json-schema.org/draft/2020-12/schema", JsonSerializer.Deserialize<JsonElement>(await schema.Content.ReadAsStringAsync()).GetProperty("$schema").GetString());

        var builtIn = await GetJsonAsync("/api/workflows/ubuntu-box/versions/1");
        Assert.True(builtIn.GetProperty("built_in").GetBoolean());
        Assert.Contains("name: ubuntu-box", builtIn.GetProperty("source").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ABadDefinitionIs400WithLocatedErrorsAndRegistersNothing()
    {
        const string Bad = "name: api-bad\nsteps:\n  - id: one\n    uses: sleep\n    with: { duration: forever }\n  - id: two\n    uses: teleport\n";
        using var content = new StringContent(Bad, Encoding.UTF8, "application/yaml");
        using var response = await Http.PostAsync("/api/workflows", content);
        var problem = await AssertProblemAsync(response, HttpStatusCode.BadRequest, "workflow-invalid");

        var errors = problem.GetProperty("errors").EnumerateArray()
            .Select(e => (Code: e.GetProperty("code").GetString(), Path: e.GetProperty("path").GetString(), Line: e.GetProperty("line").GetInt32(), Column: e.GetProperty("column").GetInt32()))
            .ToList();
        Assert.Contains(errors, e => e is { Code: "invalid_duration", Path: "steps[0].with.duration", Line: 5 });
        Assert.Contains(errors, e => e is { Code: "unknown_step_type", Path: "steps[1].uses", Line: 7 });
        Assert.All(errors, e => Assert.True(e.Column > 0));
        await AssertProblemAsync(await Http.GetAsync("/api/workflows/api-bad"), HttpStatusCode.NotFound, "not-found");
    }

    [Fact]
    public async Task ARunOfSleepStepsIsFollowedToSucceededByGetAndByItsEvents()
    {
        await RegisterAsync(Naps("api-naps"), "application/yaml");

        using var start = await PostJsonAsync("/api/runs", """{"workflow":"api-naps","inputs":{"who":"http"}}""");
        Assert.Equal(HttpStatusCode.Accepted, start.StatusCode);
        var started = await JsonAsync(start);
        var id = started.GetProperty("id").GetString()!;
        Assert.Matches("^run-[0-9a-f]{20}$", id);
        Assert.Equal($"/api/runs/{id}", start.Headers.Location?.OriginalString);
        Assert.Equal(1, started.GetProperty("version").GetInt32());
        Assert.Equal("http", started.GetProperty("inputs").GetProperty("who").GetString());

        // The stream is opened while the run is live and ends by itself when the run does.
        var events = await ReadSseAsync($"/api/runs/{id}/events");
        Assert.Equal(Enumerable.Range(1, events.Count).Select(i => i.ToString(CultureInfo.InvariantCulture)), events.Select(e => e.Id));
        Assert.Equal("run.started", events[0].Event);
        Assert.Equal("run.completed", events[^1].Event);
        Assert.All(events, e => Assert.Equal(e.Event, e.Data.GetProperty("kind").GetString()));
        Assert.All(events, e => Assert.Equal(long.Parse(e.Id, CultureInfo.InvariantCulture), e.Data.GetProperty("sequence").GetInt64()));
        Assert.Equal("api-naps", events[0].Data.GetProperty("data").GetProperty("workflow").GetString());
        Assert.Equal(["one", "two"], events.Where(e => e.Event == "step.completed").Select(e => e.Data.GetProperty("step_id").GetString()));

        var run = await GetJsonAsync($"/api/runs/{id}");
        Assert.Equal("succeeded", run.GetProperty("status").GetString());
        Assert.Equal("hello http", run.GetProperty("outputs").GetProperty("greeting").GetString());
        Assert.Equal(events.Count, run.GetProperty("last_sequence").GetInt64());
        Assert.NotEqual(JsonValueKind.Null, run.GetProperty("ended_at").ValueKind);
        var steps = run.GetProperty("steps").EnumerateArray().ToList();
        Assert.Equal(["one", "two"], steps.Select(s => s.GetProperty("id").GetString()));
        Assert.All(steps, s =>
        {
            Assert.Equal("sleep", s.GetProperty("uses").GetString());
            Assert.Equal("succeeded", s.GetProperty("status").GetString());
            Assert.Equal(1, s.GetProperty("attempts").GetInt32());
            Assert.Equal(JsonValueKind.Object, s.GetProperty("outputs").ValueKind);
            Assert.False(s.GetProperty("in_finally").GetBoolean());
        });

        // A reconnect with Last-Event-ID gets exactly the later events; ?after= does the same; the header wins.
        var replay = await ReadSseAsync($"/api/runs/{id}/events", lastEventId: "3");
        Assert.Equal(events.Skip(3).Select(e => e.Id), replay.Select(e => e.Id));
        var fromQuery = await ReadSseAsync($"/api/runs/{id}/events?after={events.Count - 1}");
        Assert.Equal([events[^1].Id], fromQuery.Select(e => e.Id));
        var headerWins = await ReadSseAsync($"/api/runs/{id}/events?after=1", lastEventId: events.Count.ToString(CultureInfo.InvariantCulture));
        Assert.Empty(headerWins);

        // NDJSON carries the same objects.
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/runs/{id}/events");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/x-ndjson"));
        using var ndjson = await Http.SendAsync(request);
        Assert.Equal("application/x-ndjson", ndjson.Content.Headers.ContentType?.MediaType);
        var lines = (await ndjson.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var replayed = await ReadSseAsync($"/api/runs/{id}/events");
        Assert.Equal(replayed.Select(e => e.Data.GetRawText()), lines);
        Assert.Equal(events.Select(e => Comparable(e.Data)), replayed.Select(e => Comparable(e.Data)));
    }

    [Fact]
    public async Task StepOutputIsPlainTextOrJsonAndAnUnknownStepIs404()
    {
        await RegisterAsync(Naps("api-output"), "application/yaml");
        var id = await StartAsync("""{"workflow":"api-output"}""");
        await WaitForStatusAsync(id, "succeeded");

        using var text = await Http.GetAsync($"/api/runs/{id}/steps/one/output");
        Assert.Equal(HttpStatusCode.OK, text.StatusCode);
        Assert.Equal("text/plain", text.Content.Headers.ContentType?.MediaType);
        Assert.Equal("", await text.Content.ReadAsStringAsync());

        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/runs/{id}/steps/one/output");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        using var json = await Http.SendAsync(request);
        var body = await JsonAsync(json);
        Assert.Equal(("one", 1, "", ""), (body.GetProperty("step_id").GetString(), body.GetProperty("attempt").GetInt32(), body.GetProperty("stdout").GetString(), body.GetProperty("stderr").GetString()));

        await AssertProblemAsync(await Http.GetAsync($"/api/runs/{id}/steps/nope/output"), HttpStatusCode.NotFound, "not-found");
    }

    [Fact]
    public async Task TheSameIdempotencyKeyIsTheSameRunAndAnotherRequestWithItIsAConflict()
    {
        await RegisterAsync(Naps("api-idem"), "application/yaml");
        var key = "nightly-" + Guid.NewGuid().ToString("N");

        using var first = await PostJsonAsync("/api/runs", """{"workflow":"api-idem","inputs":{"who":"a"}}""", key);
        using var second = await PostJsonAsync("/api/runs", $$"""{"workflow":"api-idem","inputs":{"who":"a"},"idempotency_key":"{{key}}"}""");
        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, second.StatusCode);
        var id = (await JsonAsync(first)).GetProperty("id").GetString();
        Assert.Equal(id, (await JsonAsync(second)).GetProperty("id").GetString());

        using var other = await PostJsonAsync("/api/runs", """{"workflow":"api-idem","inputs":{"who":"b"}}""", key);
        await AssertProblemAsync(other, HttpStatusCode.Conflict, "conflict");

        var without = await StartAsync("""{"workflow":"api-idem","inputs":{"who":"a"}}""");
        Assert.NotEqual(id, without);
    }

    [Fact]
    public async Task StartingAnUnknownWorkflowIs404AndAMissingInputIs400NamingIt()
    {
        await RegisterAsync("name: api-needs\ninputs:\n  branch: { type: string, required: true }\nsteps:\n  - id: one\n    uses: sleep\n    with: { duration: 1ms }\n", "application/yaml");

        await AssertProblemAsync(await PostJsonAsync("/api/runs", """{"workflow":"api-missing"}"""), HttpStatusCode.NotFound, "not-found");
        await AssertProblemAsync(await PostJsonAsync("/api/runs", """{"workflow":"api-needs","version":9}"""), HttpStatusCode.NotFound, "not-found");
        var missing = await AssertProblemAsync(await PostJsonAsync("/api/runs", """{"workflow":"api-needs"}"""), HttpStatusCode.BadRequest, "validation");
        Assert.Equal("inputs.branch", missing.GetProperty("field").GetString());
        var wrongType = await AssertProblemAsync(await PostJsonAsync("/api/runs", """{"workflow":"api-needs","inputs":{"branch":5}}"""), HttpStatusCode.BadRequest, "validation");
        Assert.Equal("inputs.branch", wrongType.GetProperty("field").GetString());
    }

    [Fact]
    public async Task AnUnknownRunIs404EvenForItsEventStream()
    {
        await AssertProblemAsync(await Http.GetAsync("/api/runs/run-00000000000000000000"), HttpStatusCode.NotFound, "not-found");
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/runs/run-00000000000000000000/events");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        await AssertProblemAsync(await Http.SendAsync(request), HttpStatusCode.NotFound, "not-found");
        await AssertProblemAsync(await Http.PostAsync("/api/runs/run-00000000000000000000/cancel", null), HttpStatusCode.NotFound, "not-found");
        await AssertProblemAsync(await Http.PostAsync("/api/runs/run-00000000000000000000/signals/go", null), HttpStatusCode.NotFound, "not-found");
    }

    [Fact]
    public async Task CancellingALongSleepEndsTheRunCancelledAndRunsFinally()
    {
        await RegisterAsync("name: api-cancel\nsteps:\n  - id: long\n    uses: sleep\n    with: { duration: 10m }\nfinally:\n  - id: cleanup\n    uses: sleep\n    with: { duration: 1ms }\n", "application/yaml");
        var id = await StartAsync("""{"workflow":"api-cancel"}""");
        await Wait.UntilAsync(async () => (await GetJsonAsync($"/api/runs/{id}")).GetProperty("steps")[0].GetProperty("status").GetString() is "running" or "waiting", $"{id} to sleep");

        using var cancel = await Http.PostAsync($"/api/runs/{id}/cancel", null);
        Assert.Equal(HttpStatusCode.Accepted, cancel.StatusCode);
        Assert.Equal($"/api/runs/{id}", cancel.Headers.Location?.OriginalString);

        var run = await WaitForStatusAsync(id, "cancelled");
        var steps = run.GetProperty("steps").EnumerateArray().ToDictionary(s => s.GetProperty("id").GetString()!);
        Assert.Equal("cancelled", steps["long"].GetProperty("status").GetString());
        Assert.Equal("succeeded", steps["cleanup"].GetProperty("status").GetString());
        Assert.True(steps["cleanup"].GetProperty("in_finally").GetBoolean());
        var events = await ReadSseAsync($"/api/runs/{id}/events");
        Assert.Contains(events, e => e.Event == "run.cancelled");

        // Only a failed run can be retried; an ended run takes no signals.
        await AssertProblemAsync(await Http.PostAsync($"/api/runs/{id}/retry", null), HttpStatusCode.Conflict, "conflict");
        await AssertProblemAsync(await PostJsonAsync($"/api/runs/{id}/signals/go", "true"), HttpStatusCode.Conflict, "conflict");
    }

    [Fact]
    public async Task ASignalWithAPayloadReleasesAWaitingStep()
    {
        await RegisterAsync("name: api-signal\nsteps:\n  - id: approval\n    uses: wait_for_signal\n    with: { name: approve }\n", "application/yaml");
        var id = await StartAsync("""{"workflow":"api-signal"}""");
        await WaitForStatusAsync(id, "waiting");

        using var signal = await PostJsonAsync($"/api/runs/{id}/signals/approve", """{"by":"alice","ok":true}""");
        Assert.Equal(HttpStatusCode.Accepted, signal.StatusCode);

        var run = await WaitForStatusAsync(id, "succeeded");
        var outputs = run.GetProperty("steps")[0].GetProperty("outputs");
        Assert.Equal("alice", outputs.GetProperty("payload").GetProperty("by").GetString());
        var events = await ReadSseAsync($"/api/runs/{id}/events");
        var signalled = Assert.Single(events, e => e.Event == "run.signalled");
        Assert.Equal("approve", signalled.Data.GetProperty("data").GetProperty("name").GetString());
        Assert.True(signalled.Data.GetProperty("data").GetProperty("payload").GetProperty("ok").GetBoolean());
    }

    [Fact]
    public async Task AFailedRunIsRetriedFromItsFailedStepKeepingCompletedOnes()
    {
        await RegisterAsync("name: api-retry\nsteps:\n  - id: first\n    uses: sleep\n    with: { duration: 1ms }\n  - id: gate\n    uses: wait_for_signal\n    with: { name: go, timeout: 2s }\n", "application/yaml");
        var id = await StartAsync("""{"workflow":"api-retry"}""");

        // Followed live, the stream ends once the run has ended, when a retry can resume it.
        var untilFailed = await ReadSseAsync($"/api/runs/{id}/events");
        Assert.Equal("run.failed", untilFailed[^1].Event);
        var failed = await WaitForStatusAsync(id, "failed");
        var firstEnded = failed.GetProperty("steps")[0].GetProperty("ended_at").GetString();
        Assert.Equal("failed", failed.GetProperty("steps")[1].GetProperty("status").GetString());

        using var retry = await Http.PostAsync($"/api/runs/{id}/retry", null);
        Assert.Equal(HttpStatusCode.Accepted, retry.StatusCode);
        Assert.NotEqual("failed", (await JsonAsync(retry)).GetProperty("status").GetString());
        using var signal = await PostJsonAsync($"/api/runs/{id}/signals/go", "");
        Assert.Equal(HttpStatusCode.Accepted, signal.StatusCode);

        var run = await WaitForStatusAsync(id, "succeeded");
        var steps = run.GetProperty("steps").EnumerateArray().ToList();
        Assert.Equal(1, steps[0].GetProperty("attempts").GetInt32());
        Assert.Equal(firstEnded, steps[0].GetProperty("ended_at").GetString());
        Assert.Equal(JsonValueKind.Null, steps[1].GetProperty("outputs").GetProperty("payload").ValueKind);
        var events = await ReadSseAsync($"/api/runs/{id}/events");
        Assert.Equal(1, events.Count(e => e.Event == "step.started" && e.Data.GetProperty("step_id").GetString() == "first"));
        Assert.Contains(events, e => e.Event == "run.resumed");
    }

    [Fact]
    public async Task RunsAreListedByWorkflowAndStatusAPageAtATime()
    {
        await RegisterAsync(Naps("api-listed"), "application/yaml");
        var ids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            ids.Add(await StartAsync("""{"workflow":"api-listed"}"""));
        }

        foreach (var id in ids)
        {
            await WaitForStatusAsync(id, "succeeded");
        }

        var seen = new List<string>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var page = await GetJsonAsync("/api/runs?workflow=api-listed&limit=2" + (cursor is null ? "" : "&cursor=" + Uri.EscapeDataString(cursor)));
            var items = page.GetProperty("items").EnumerateArray().ToList();
            Assert.True(items.Count <= 2);
            Assert.All(items, i => Assert.Equal("api-listed", i.GetProperty("workflow").GetString()));
            seen.AddRange(items.Select(i => i.GetProperty("id").GetString()!));
            cursor = page.GetProperty("next_cursor").GetString();
            pages++;
        }
        while (cursor is not null && pages < 10);

        Assert.Equal(2, pages);
        Assert.Equal(ids.Order(StringComparer.Ordinal), seen.Order(StringComparer.Ordinal));

        var succeeded = await GetJsonAsync("/api/runs?workflow=api-listed&status=succeeded");
        Assert.Equal(3, succeeded.GetProperty("items").GetArrayLength());
        var running = await GetJsonAsync("/api/runs?workflow=api-listed&status=running");
        Assert.Equal(0, running.GetProperty("items").GetArrayLength());

        var badCursor = await AssertProblemAsync(await Http.GetAsync("/api/runs?cursor=not-a-cursor"), HttpStatusCode.BadRequest, "validation");
        Assert.Equal("cursor", badCursor.GetProperty("field").GetString());
    }

    private static string Naps(string name) => $$$"""
        name: {{{name}}}
        inputs:
          who: { type: string, default: world }
        steps:
          - id: one
            uses: sleep
            with: { duration: 10ms }
          - id: two
            uses: sleep
            with: { duration: 10ms }
        outputs:
          greeting: "hello ${{ inputs.who }}"
        """;

    /// <summary>An event without <c>at</c>: live events carry the silo clock's precision, replayed ones PostgreSQL's (microseconds).</summary>
    private static string Comparable(JsonElement item) =>
        $"{item.GetProperty("sequence")} {item.GetProperty("kind")} {item.GetProperty("step_id")} {item.GetProperty("attempt")} {item.GetProperty("data").GetRawText()}";

    private async Task<(HttpStatusCode Status, JsonElement Body)> RegisterAsync(string source, string contentType)
    {
        using var content = new StringContent(source, Encoding.UTF8, contentType);
        using var response = await Http.PostAsync("/api/workflows", content);
        var body = await JsonAsync(response);
        Assert.True(response.StatusCode is HttpStatusCode.Created or HttpStatusCode.OK, $"register: {(int)response.StatusCode} {body}");
        return (response.StatusCode, body);
    }

    private async Task<string> StartAsync(string body)
    {
        using var response = await PostJsonAsync("/api/runs", body);
        var run = await JsonAsync(response);
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"start: {(int)response.StatusCode} {run}");
        return run.GetProperty("id").GetString()!;
    }

    private async Task<HttpResponseMessage> PostJsonAsync(string path, string body, string? idempotencyKey = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        if (idempotencyKey is not null)
        {
            request.Headers.Add("Idempotency-Key", idempotencyKey);
        }

        return await Http.SendAsync(request);
    }

    private async Task<JsonElement> WaitForStatusAsync(string id, string status)
    {
        var run = default(JsonElement);
        var deadline = DateTimeOffset.UtcNow + Wait.DefaultTimeout;
        while ((run = await GetJsonAsync($"/api/runs/{id}")).GetProperty("status").GetString() != status)
        {
            Assert.True(DateTimeOffset.UtcNow < deadline, $"Timed out after {Wait.DefaultTimeout} waiting for run {id} to be {status}; it is {run}");
            await Task.Delay(50);
        }

        return run;
    }

    private async Task<JsonElement> GetJsonAsync(string path)
    {
        using var response = await Http.GetAsync(path);
        var body = await JsonAsync(response);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET {path}: {(int)response.StatusCode} {body}");
        return body;
    }

    private static async Task<JsonElement> JsonAsync(HttpResponseMessage response) =>
        JsonSerializer.Deserialize<JsonElement>(await response.Content.ReadAsStringAsync());

    private static async Task<JsonElement> AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status, string type)
    {
        using (response)
        {
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == status, $"{(int)response.StatusCode}: {text}");
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            var problem = JsonSerializer.Deserialize<JsonElement>(text);
            Assert.Equal(Problems + type, problem.GetProperty("type").GetString());
            return problem;
        }
    }

    /// <summary>Reads an SSE stream to its end (the run's end), bounded in time.</summary>
    private async Task<List<(string Id, string Event, JsonElement Data)>> ReadSseAsync(string path, string? lastEventId = null)
    {
        using var timeout = new CancellationTokenSource(StreamTimeout);
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        if (lastEventId is not null)
        {
            request.Headers.Add("Last-Event-ID", lastEventId);
        }

        using var response = await Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(timeout.Token));
        var events = new List<(string, string, JsonElement)>();
        string? id = null, kind = null, data = null;
        while (await reader.ReadLineAsync(timeout.Token) is { } line)
        {
            if (line.Length == 0)
            {
                if (data is not null)
                {
                    Assert.NotEqual("error", kind);
                    events.Add((id!, kind!, JsonSerializer.Deserialize<JsonElement>(data)));
                }

                (id, kind, data) = (null, null, null);
            }
            else if (line.StartsWith("id: ", StringComparison.Ordinal))
            {
                id = line[4..];
            }
            else if (line.StartsWith("event: ", StringComparison.Ordinal))
            {
                kind = line[7..];
            }
            else if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                Assert.Null(data);
                data = line[6..];
            }
        }

        return events;
    }
}
